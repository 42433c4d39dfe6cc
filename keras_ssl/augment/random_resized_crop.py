"""RandomResizedCrop: a random box of every image, resized to a fixed output size."""

import math

import keras
from keras import ops

from keras_ssl.augment._base import AugmentationLayer
from keras_ssl.augment._checks import check_range, check_size
from keras_ssl.augment._resample import bilinear_matrix, separable_resample
from keras_ssl.utils import check_image_shape


@keras.saving.register_keras_serializable(package="keras_ssl")
class RandomResizedCrop(AugmentationLayer):
    """Crops a random box of each image and resizes it bilinearly to (height, width).

    The crop of Inception and SimCLR (Chen et al. 2020, "random crop with resize"):
    for every image independently, the box area is a fraction of the image area drawn
    uniformly from `scale`, and its aspect ratio (width / height) is drawn log-uniformly
    from `ratio`. Where such a box would not fit, its aspect ratio is moved towards the
    image's, keeping the area, so the box stays inside the image (for a square image
    and a `ratio` range containing 1, both area and ratio stay in range). Box sides and
    offsets are whole pixels, as in torchvision, so the output is exactly "crop, then
    bilinear resize" with half-pixel centres (`tf.image.resize`). The whole batch is
    resampled at once with two batched matmuls.

    With `horizontal_flip=True`, each image is also mirrored left-right with
    probability 0.5 by reversing its column weights, which costs nothing, whereas a
    separate `keras.layers.RandomFlip` is two more passes over the batch (on the CPU,
    batch 256, 96×96 output, it measured slower than this whole layer).

    With `training=False` the whole image is resized to (height, width), unflipped.

    Args:
        height: Output height in pixels, e.g. 96 for the Umeå recipe on 32×32 CIFAR-10.
        width: Output width in pixels.
        scale: (min, max) fraction of the image area covered by the box, in (0, 1].
        ratio: (min, max) aspect ratio of the box (width / height), > 0.
        horizontal_flip: If True, also flip each image left-right with p = 0.5.
        seed: Optional integer seed.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Returns:
        float images [batch, height, width, 3] in [0, 255].

    Example:

    >>> import numpy as np
    >>> crop = RandomResizedCrop(96, 96, scale=(0.2, 1.0), seed=1)
    >>> images = np.random.randint(0, 256, (8, 32, 32, 3), dtype="uint8")
    >>> tuple(crop(images, training=True).shape)
    (8, 96, 96, 3)
    """

    def __init__(
        self,
        height: int,
        width: int,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        horizontal_flip: bool = False,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        where = self.__class__.__name__
        self.height = check_size("height", height, where)
        self.width = check_size("width", width, where)
        self.scale = check_range("scale", scale, 0.0, 1.0, where)
        self.ratio = check_range("ratio", ratio, 0.0, math.inf, where)
        self.horizontal_flip = bool(horizontal_flip)

    def get_random_transformation(self, images, training=True):
        """Draws one box (and flip) per image.

        Returns:
            None when `training` is false, else `{"boxes": float32 [batch, 4]}` as
            (top, left, box_height, box_width) in whole pixels, and with
            `horizontal_flip`, `"flips"`: bool [batch].
        """
        if not training:
            return None
        image_height, image_width = self._image_size(images)
        area = self._batch_uniform(images, *self.scale) * image_height * image_width
        log_ratio = self._batch_uniform(images, math.log(self.ratio[0]), math.log(self.ratio[1]))
        box_width = ops.minimum(ops.sqrt(area * ops.exp(log_ratio)), image_width)
        box_height = ops.minimum(area / box_width, image_height)
        box_width = ops.minimum(area / box_height, image_width)
        box_height = ops.clip(ops.round(box_height), 1.0, image_height)
        box_width = ops.clip(ops.round(box_width), 1.0, image_width)
        offsets = self._batch_uniform(images, 0.0, 1.0, shape=(2,))
        top = ops.floor(offsets[:, 0] * (image_height - box_height + 1.0))
        left = ops.floor(offsets[:, 1] * (image_width - box_width + 1.0))
        top = ops.minimum(top, image_height - box_height)
        left = ops.minimum(left, image_width - box_width)
        transformation = {"boxes": ops.stack([top, left, box_height, box_width], axis=1)}
        if self.horizontal_flip:
            transformation["flips"] = self._batch_uniform(images, 0.0, 1.0) < 0.5
        return transformation

    def transform_images(self, images, transformation, training=True):
        """Resamples the box of each image, flipped where asked; the whole image if None."""
        image_height, image_width = self._image_size(images)
        if transformation is None:
            zeros = ops.zeros((ops.shape(images)[0],))
            boxes = ops.stack([zeros, zeros, zeros + image_height, zeros + image_width], axis=1)
        else:
            boxes = ops.cast(transformation["boxes"], "float32")
        rows = bilinear_matrix(boxes[:, 0], boxes[:, 2], self.height, ops.shape(images)[1])
        cols = bilinear_matrix(boxes[:, 1], boxes[:, 3], self.width, ops.shape(images)[2])
        if transformation is not None and "flips" in transformation:
            flips = transformation["flips"][:, None, None]
            cols = ops.where(flips, ops.flip(cols, axis=1), cols)
        return ops.clip(separable_resample(images, rows, cols), 0.0, 255.0)

    @staticmethod
    def _image_size(images):
        shape = ops.shape(images)
        return ops.cast(shape[1], "float32"), ops.cast(shape[2], "float32")

    def compute_output_shape(self, input_shape):
        check_image_shape(input_shape, self.__class__.__name__)
        return (input_shape[0], self.height, self.width, 3)

    def get_config(self):
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "scale": self.scale,
            "ratio": self.ratio,
            "horizontal_flip": self.horizontal_flip,
        }
