"""GaussianBlur: Gaussian blur with a random standard deviation for every image."""

import math

import keras

from keras_ssl.augment._base import AugmentationLayer
from keras_ssl.augment._checks import check_range, check_size
from keras_ssl.augment._resample import gaussian_matrix, separable_resample


@keras.saving.register_keras_serializable(package="keras_ssl")
class GaussianBlur(AugmentationLayer):
    """Blurs every image with a Gaussian whose sigma is drawn per image.

    SimCLR's blur (Chen et al. 2020, Appendix A): sigma ~ U[0.1, 2.0] pixels, kernel
    about 10 % of the image side, applied with probability 0.5 — wrap this layer in
    `RandomApply(..., rate=0.5)` for that. The blur is separable and applied to the
    whole batch as two batched matmuls with per-image banded matrices; near the
    borders the truncated kernel is renormalised, so borders keep their brightness.

    `keras.layers.RandomGaussianBlur` does not fit: it draws one sigma per batch
    (keras 3.15), not one per image.

    Args:
        kernel_size: Odd positive integer, the kernel width in pixels, e.g.
            `image_size // 10` rounded to odd, as SimCLR.
        sigma: (min, max) standard deviation in pixels, > 0.
        seed: Optional integer seed.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Returns:
        float images of the input shape in [0, 255].

    Example:

    >>> import numpy as np
    >>> blur = GaussianBlur(kernel_size=9, sigma=(0.1, 2.0), seed=1)
    >>> images = np.random.randint(0, 256, (8, 96, 96, 3), dtype="uint8")
    >>> tuple(blur(images, training=True).shape)
    (8, 96, 96, 3)
    """

    def __init__(
        self,
        kernel_size: int,
        sigma: tuple[float, float] = (0.1, 2.0),
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        where = self.__class__.__name__
        self.kernel_size = check_size("kernel_size", kernel_size, where)
        if self.kernel_size % 2 == 0:
            raise ValueError(
                f"{where}: `kernel_size` must be an odd positive integer. "
                f"Received: kernel_size={kernel_size!r}."
            )
        self.sigma = check_range("sigma", sigma, 0.0, math.inf, where)

    def get_random_transformation(self, images, training=True):
        """Returns `{"sigma": float32 [batch]}` in pixels, or None when not training."""
        if not training:
            return None
        return {"sigma": self._batch_uniform(images, *self.sigma)}

    def transform_images(self, images, transformation, training=True):
        if transformation is None:
            return images
        sigma = keras.ops.cast(transformation["sigma"], "float32")
        radius = self.kernel_size // 2
        rows = gaussian_matrix(sigma, keras.ops.shape(images)[1], radius)
        cols = gaussian_matrix(sigma, keras.ops.shape(images)[2], radius)
        return keras.ops.clip(separable_resample(images, rows, cols), 0.0, 255.0)

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size, "sigma": self.sigma}
