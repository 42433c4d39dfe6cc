"""ColorJitter: per-image brightness, contrast, saturation, hue and colour drop."""

import math

import keras
import numpy as np
from keras import ops

from keras_ssl.augment._base import AugmentationLayer
from keras_ssl.augment._checks import check_number

# ITU-R BT.601 luma, as in keras.ops.image.rgb_to_grayscale and tf.image.
_LUMA = np.array([0.299, 0.587, 0.114], dtype="float32")
# RGB -> YIQ for row vectors (yiq = rgb @ _RGB_TO_YIQ); Y is the luma above.
_RGB_TO_YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype="float64"
).T
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)
_OPS = ("brightness", "contrast", "saturation", "hue")


@keras.saving.register_keras_serializable(package="keras_ssl")
class ColorJitter(AugmentationLayer):
    """Random brightness, contrast, saturation and hue, drawn for every image.

    The colour distortion of SimCLR (Chen et al. 2020, Appendix A; strength s gives
    `ColorJitter(0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s)`), parametrised as torchvision's
    `ColorJitter` and SimCLR v2's code. For each image:

    - brightness: multiply by b ~ U[max(0, 1 - brightness), 1 + brightness];
    - contrast: x -> c·(x - mean) + mean, c ~ U[max(0, 1 - contrast), 1 + contrast],
      with the per-channel mean of the image (as `tf.image.adjust_contrast`);
    - saturation: blend with the luma image, x -> s·x + (1 - s)·gray(x),
      s ~ U[max(0, 1 - saturation), 1 + saturation] (as torchvision);
    - hue: rotate the chroma plane of YIQ space by a turn fraction h ~ U[-hue, hue]
      (the linear hue rotation of NVIDIA DALI and CSS `hue-rotate`). It keeps luma,
      where `tf.image.adjust_hue` (an HSV shift) keeps the HSV value; on CIFAR-10, a
      rotation of h turns moves the HSV hue of saturated pixels by about 0.8 h
      (median) in the same direction as `tf.image.adjust_hue(h)`.

    Each image is jittered with probability `rate`, then turned to grayscale with
    probability `grayscale_rate` (SimCLR's `random_color_jitter`: rate 0.8, colour
    drop 0.2).

    Each of these steps is an affine map of the pixel colours, so their composition in
    a per-image random order (as SimCLR, with `random_order=True`) is one 3×3 matrix
    and an offset per image, applied to the batch with a single einsum; the result is
    clipped to [0, 255] once, at the end (SimCLR clips after every step). Separate
    `RandomApply(ColorJitter(...))` and `keras.layers.RandomGrayscale` layers would
    draw the same (up to where clipping happens) but cost three more passes over the
    batch.

    `keras.layers.RandomColorJitter` does not fit here: its brightness is additive
    (in units of the value range), its order is fixed, and its saturation step can
    leave [0, 255] (keras 3.15).

    Args:
        brightness: Non-negative float, see above. 0 disables.
        contrast: Non-negative float. 0 disables.
        saturation: Non-negative float. 0 disables.
        hue: Float in [0, 0.5], the largest hue rotation as a fraction of a turn.
        random_order: If True (default), every image applies the four operations in
            its own random order; if False, in the order listed above.
        rate: Probability in [0, 1] that an image is jittered at all.
        grayscale_rate: Probability in [0, 1] that an image is then turned to
            grayscale (the luma copied to the three channels).
        seed: Optional integer seed.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Returns:
        float images of the input shape in [0, 255].

    Example:

    >>> import numpy as np
    >>> strength = 0.5
    >>> jitter = ColorJitter(0.8 * strength, 0.8 * strength, 0.8 * strength,
    ...                      0.2 * strength, seed=1)
    >>> images = np.random.randint(0, 256, (8, 32, 32, 3), dtype="uint8")
    >>> tuple(jitter(images, training=True).shape)
    (8, 32, 32, 3)
    """

    def __init__(
        self,
        brightness: float = 0.0,
        contrast: float = 0.0,
        saturation: float = 0.0,
        hue: float = 0.0,
        random_order: bool = True,
        rate: float = 1.0,
        grayscale_rate: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        where = self.__class__.__name__
        self.brightness = check_number("brightness", brightness, 0.0, math.inf, where)
        self.contrast = check_number("contrast", contrast, 0.0, math.inf, where)
        self.saturation = check_number("saturation", saturation, 0.0, math.inf, where)
        self.hue = check_number("hue", hue, 0.0, 0.5, where)
        self.random_order = bool(random_order)
        self.rate = check_number("rate", rate, 0.0, 1.0, where)
        self.grayscale_rate = check_number("grayscale_rate", grayscale_rate, 0.0, 1.0, where)

    def get_random_transformation(self, images, training=True):
        """Draws the factors and the order of every image.

        Returns:
            None when `training` is false, else a dict of float32 [batch] tensors
            "brightness", "contrast", "saturation" (multiplicative factors) and "hue"
            (turn fraction); "order", int [batch, 4]: the indices of the operations
            (0 brightness, 1 contrast, 2 saturation, 3 hue) in the order applied; and
            bool [batch] "jitter" and "grayscale": whether each step is applied.
        """
        if not training:
            return None
        transformation = {}
        for name in ("brightness", "contrast", "saturation"):
            strength = getattr(self, name)
            transformation[name] = self._batch_uniform(
                images, max(0.0, 1.0 - strength), 1.0 + strength
            )
        transformation["hue"] = self._batch_uniform(images, -self.hue, self.hue)
        if self.random_order:
            keys = self._batch_uniform(images, 0.0, 1.0, shape=(len(_OPS),))
            transformation["order"] = ops.argsort(keys, axis=-1)
        else:
            transformation["order"] = ops.broadcast_to(
                ops.arange(len(_OPS)), (ops.shape(images)[0], len(_OPS))
            )
        transformation["jitter"] = self._batch_uniform(images, 0.0, 1.0) < self.rate
        transformation["grayscale"] = self._batch_uniform(images, 0.0, 1.0) < self.grayscale_rate
        return transformation

    def transform_images(self, images, transformation, training=True):
        if transformation is None:
            return images
        mean = ops.mean(ops.cast(images, "float32"), axis=(1, 2))
        matrix, offset = _compose(mean, transformation)
        images = ops.einsum("nhwc,ncd->nhwd", images, ops.cast(matrix, images.dtype))
        images = images + ops.cast(offset, images.dtype)[:, None, None, :]
        return ops.clip(images, 0.0, 255.0)

    def get_config(self):
        return {
            **super().get_config(),
            "brightness": self.brightness,
            "contrast": self.contrast,
            "saturation": self.saturation,
            "hue": self.hue,
            "random_order": self.random_order,
            "rate": self.rate,
            "grayscale_rate": self.grayscale_rate,
        }


def _compose(mean, transformation):
    """The per-image affine colour map x -> x @ matrix + offset of all the steps.

    Args:
        mean: float32 [batch, 3], per-channel mean of each input image; contrast needs
            the mean of the image as transformed so far, which is the same affine map
            of this mean.
        transformation: As returned by `ColorJitter.get_random_transformation`;
            without "jitter" every image is jittered, without "grayscale" none is
            turned to grayscale.

    Returns:
        (matrix float32 [batch, 3, 3], offset float32 [batch, 3]).
    """
    brightness = ops.cast(transformation["brightness"], "float32")[:, None]
    contrast = ops.cast(transformation["contrast"], "float32")[:, None]
    saturation = ops.cast(transformation["saturation"], "float32")[:, None, None]
    order = transformation["order"]
    eye = ops.eye(3, dtype="float32")
    gray = ops.convert_to_tensor(np.repeat(_LUMA[:, None], 3, axis=1))
    saturation_matrix = saturation * eye + (1.0 - saturation) * gray
    hue_matrix = _hue_matrix(ops.cast(transformation["hue"], "float32"))

    matrix = ops.broadcast_to(eye, (ops.shape(mean)[0], 3, 3))
    offset = ops.zeros_like(mean)
    for stage in range(len(_OPS)):
        current_mean = ops.einsum("nc,ncd->nd", mean, matrix) + offset
        # The four candidate maps after this stage, in the order of _OPS ...
        matrices = ops.stack(
            [
                matrix * brightness[:, :, None],
                matrix * contrast[:, :, None],
                ops.matmul(matrix, saturation_matrix),
                ops.matmul(matrix, hue_matrix),
            ],
            axis=1,
        )
        offsets = ops.stack(
            [
                offset * brightness,
                offset * contrast + (1.0 - contrast) * current_mean,
                ops.einsum("nc,ncd->nd", offset, saturation_matrix),
                ops.einsum("nc,ncd->nd", offset, hue_matrix),
            ],
            axis=1,
        )
        # ... of which each image keeps the one its order names.
        choice = ops.one_hot(order[:, stage], len(_OPS), dtype="float32")
        matrix = ops.einsum("nk,nkcd->ncd", choice, matrices)
        offset = ops.einsum("nk,nkc->nc", choice, offsets)

    if "jitter" in transformation:
        jitter = transformation["jitter"]
        matrix = ops.where(jitter[:, None, None], matrix, eye)
        offset = ops.where(jitter[:, None], offset, 0.0)
    if "grayscale" in transformation:
        grayscale = transformation["grayscale"]
        matrix = ops.where(grayscale[:, None, None], ops.matmul(matrix, gray), matrix)
        offset = ops.where(grayscale[:, None], ops.einsum("nc,cd->nd", offset, gray), offset)
    return matrix, offset


def _hue_matrix(turns):
    """Per-image RGB -> RGB matrices rotating the I/Q plane of YIQ by `turns` of a turn."""
    # Negative: a positive turn moves red towards yellow, as in tf.image.adjust_hue.
    angle = -2.0 * math.pi * turns
    cos, sin = ops.cos(angle), ops.sin(angle)
    zero, one = ops.zeros_like(angle), ops.ones_like(angle)
    rotation = ops.stack(
        [
            ops.stack([one, zero, zero], axis=-1),
            ops.stack([zero, cos, sin], axis=-1),
            ops.stack([zero, -sin, cos], axis=-1),
        ],
        axis=1,
    )
    to_yiq = ops.convert_to_tensor(_RGB_TO_YIQ.astype("float32"))
    to_rgb = ops.convert_to_tensor(_YIQ_TO_RGB.astype("float32"))
    return ops.einsum("cd,nde,ef->ncf", to_yiq, rotation, to_rgb)
