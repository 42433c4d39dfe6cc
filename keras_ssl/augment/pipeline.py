"""AugmentPipeline: a checked sequence of augmentation layers."""

import keras
from keras import ops

from keras_ssl.utils import check_image_batch, check_image_shape


@keras.saving.register_keras_serializable(package="keras_ssl")
class AugmentPipeline(keras.layers.Pipeline):
    """Applies augmentation layers in sequence, with the input contract of keras_ssl.

    A `keras.layers.Pipeline` that first checks its input (uint8 or float images
    [batch, height, width, 3] with values in [0, 255]) and casts it to its compute
    dtype, and finally clips the result to [0, 255], so that any Keras preprocessing
    layer can sit in it. The presets (`simclr_augment`, ...) return one; the pretext
    models call it as `augment(images, training=True)`. With no layers it only checks
    and casts.

    Args:
        layers: List of Keras layers, applied in order; each is called with `training`.
        name: Optional layer name.

    Returns:
        float images [batch, out_height, out_width, 3] in [0, 255].

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_ssl.augment import RandomResizedCrop
    >>> augment = AugmentPipeline([RandomResizedCrop(48, 48, seed=1),
    ...                            keras.layers.RandomFlip("horizontal", seed=2)])
    >>> images = np.random.randint(0, 256, (8, 32, 32, 3), dtype="uint8")
    >>> tuple(augment(images, training=True).shape)
    (8, 48, 48, 3)
    """

    def __init__(self, layers, name=None):
        layers = list(layers)
        for layer in layers:
            if not isinstance(layer, keras.layers.Layer):
                raise ValueError(
                    "AugmentPipeline: every element of `layers` must be a keras.layers.Layer. "
                    f"Received: {layer!r}."
                )
        super().__init__(layers, name=name)

    def build(self, input_shape=None):
        if input_shape is not None:
            check_image_shape(input_shape, self.__class__.__name__)
        self.built = True

    def call(self, inputs, training=True, mask=None):
        check_image_batch(inputs, self.__class__.__name__)
        images = ops.cast(inputs, self.compute_dtype)
        if self.layers:
            images = super().call(images, training=training)
        return ops.clip(ops.cast(images, self.compute_dtype), 0.0, 255.0)

    def compute_output_shape(self, input_shape):
        check_image_shape(input_shape, self.__class__.__name__)
        for layer in self.layers:
            input_shape = layer.compute_output_shape(input_shape)
        return tuple(input_shape)

    def compute_output_spec(self, inputs, training=True, mask=None):
        check_image_batch(inputs, self.__class__.__name__)
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self.compute_dtype)
