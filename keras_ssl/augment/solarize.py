"""RandomSolarize: inverts the bright pixels of a random subset of the images."""

import keras
from keras import ops

from keras_ssl.augment._base import AugmentationLayer
from keras_ssl.augment._checks import check_number


@keras.saving.register_keras_serializable(package="keras_ssl")
class RandomSolarize(AugmentationLayer):
    """Solarizes each image with probability `rate`: pixels >= `threshold` become 255 - x.

    BYOL's solarization (Grill et al. 2020, Table 6; torchvision's `RandomSolarize`
    with threshold 128 on [0, 255]): every channel value x >= 128 is replaced by
    255 - x, the others are kept. BYOL applies it with p = 0.0 to the first view and
    p = 0.2 to the second; DINO likewise to its second global view. The draw is per
    image.

    Args:
        rate: Probability in [0, 1] that an image is solarized.
        threshold: Pixel value in [0, 255] from which values are inverted.
        seed: Optional integer seed.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Returns:
        float images of the input shape in [0, 255].

    Example:

    >>> import keras
    >>> import numpy as np
    >>> solarize = RandomSolarize(rate=1.0, seed=1)
    >>> images = np.array([10, 127, 128, 255], "uint8").reshape(1, 1, 4, 1).repeat(3, -1)
    >>> keras.ops.convert_to_numpy(solarize(images, training=True))[0, 0, :, 0].tolist()
    [10.0, 127.0, 127.0, 0.0]
    """

    def __init__(
        self, rate: float = 0.2, threshold: float = 128.0, seed: int | None = None, **kwargs
    ):
        super().__init__(seed=seed, **kwargs)
        where = self.__class__.__name__
        self.rate = check_number("rate", rate, 0.0, 1.0, where)
        self.threshold = check_number("threshold", threshold, 0.0, 255.0, where)

    def get_random_transformation(self, images, training=True):
        """Returns `{"apply": bool [batch]}`, or None when `training` is false."""
        if not training:
            return None
        return {"apply": self._batch_uniform(images, 0.0, 1.0) < self.rate}

    def transform_images(self, images, transformation, training=True):
        if transformation is None:
            return images
        apply = ops.reshape(transformation["apply"], (-1, 1, 1, 1))
        return ops.where(ops.logical_and(apply, images >= self.threshold), 255.0 - images, images)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "threshold": self.threshold}
