"""RandomApply: applies a layer to a random subset of the images of a batch."""

import keras
from keras import ops

from keras_ssl.augment._base import AugmentationLayer
from keras_ssl.augment._checks import check_number


@keras.saving.register_keras_serializable(package="keras_ssl")
class RandomApply(AugmentationLayer):
    """Applies `layer` to each image of a batch with probability `rate`.

    The draw is per image (a Bernoulli(`rate`) per image). To stay batched, `layer` is
    computed for the whole batch and each image keeps the augmented or the original
    version (a per-image 0/1 blend), as torchvision's `RandomApply` does image by image.
    `layer` must keep the shape of its input.

    Args:
        layer: A Keras layer mapping [batch, height, width, 3] to the same shape, e.g.
            `ColorJitter(...)` or `GaussianBlur(...)`. It is called with `training`.
        rate: Probability in [0, 1] that an image is transformed.
        seed: Optional integer seed of the per-image draw (`layer` has its own).
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Returns:
        float images of the input shape in [0, 255].

    Example:

    >>> import numpy as np
    >>> from keras_ssl.augment import ColorJitter
    >>> jitter = RandomApply(ColorJitter(0.4, 0.4, 0.4, 0.1, seed=2), rate=0.8, seed=1)
    >>> images = np.random.randint(0, 256, (8, 32, 32, 3), dtype="uint8")
    >>> tuple(jitter(images, training=True).shape)
    (8, 32, 32, 3)
    """

    def __init__(
        self, layer: keras.layers.Layer, rate: float = 0.8, seed: int | None = None, **kwargs
    ):
        super().__init__(seed=seed, **kwargs)
        if not isinstance(layer, keras.layers.Layer):
            raise ValueError(
                f"RandomApply: `layer` must be a keras.layers.Layer. Received: layer={layer!r}."
            )
        self.layer = layer
        self.rate = check_number("rate", rate, 0.0, 1.0, self.__class__.__name__)

    def build(self, input_shape=None):
        super().build(input_shape)
        if input_shape is not None:
            self._check_same_shape(input_shape, self.layer.compute_output_shape(input_shape))

    def _check_same_shape(self, input_shape, output_shape):
        if tuple(output_shape) != tuple(input_shape):
            raise ValueError(
                "RandomApply: `layer` must keep the shape of its input, since each image "
                "chooses between the original and the transformed version. Layer "
                f"{self.layer.name!r} maps {tuple(input_shape)} to {tuple(output_shape)}."
            )

    def get_random_transformation(self, images, training=True):
        """Returns `{"apply": bool [batch]}`, or None when `training` is false."""
        if not training:
            return None
        return {"apply": self._batch_uniform(images, 0.0, 1.0) < self.rate}

    def transform_images(self, images, transformation, training=True):
        if transformation is None:
            return images
        transformed = ops.cast(self.layer(images, training=training), images.dtype)
        self._check_same_shape(images.shape, transformed.shape)
        # A 0/1 blend rather than ops.where: same values, and a broadcast `where` over
        # the batch measured several times slower on the CPU.
        chosen = ops.cast(transformation["apply"], images.dtype)[:, None, None, None]
        return transformed * chosen + images * (1.0 - chosen)

    def get_config(self):
        return {
            **super().get_config(),
            "layer": keras.saving.serialize_keras_object(self.layer),
            "rate": self.rate,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)
