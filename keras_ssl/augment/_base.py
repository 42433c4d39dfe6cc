"""The base class of the keras_ssl augmentation layers."""

import keras
from keras import ops

from keras_ssl.utils import check_image_batch, check_image_shape


class AugmentationLayer(keras.layers.Layer):
    """Base class: checks the input, casts it to float, then augments the whole batch.

    Subclasses implement `get_random_transformation` (draw per-image parameters as
    tensors with a leading batch axis, or return None when `training` is false) and
    `transform_images` (apply them to the batch with `keras.ops`). Keeping the two apart,
    as Keras' own preprocessing layers do, lets tests feed known parameters.

    Inputs are uint8 or float images [batch, height, width, 3] with values in [0, 255];
    outputs have the layer's compute dtype (float32 by default), stay in [0, 255] and
    are augmented only when `training` is true (the default, as in Keras).

    Args:
        seed: Optional integer. Two fresh layers with the same seed draw the same
            parameters for the same input; successive calls of one layer differ.
        **kwargs: Base `keras.layers.Layer` arguments (`name`, `dtype`, ...).
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Inputs are checked in `call` before any conversion, so that strings or
        # wrong ranks fail with our message rather than deep inside the backend.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True

    def build(self, input_shape=None):
        # Numpy inputs reach `build` without a shape; `call` checks them.
        if input_shape is not None:
            check_image_shape(input_shape, self.__class__.__name__)
        super().build(input_shape)

    def call(self, images, training=True):
        check_image_batch(images, self.__class__.__name__)
        images = ops.cast(images, self.compute_dtype)
        transformation = self.get_random_transformation(images, training=training)
        return self.transform_images(images, transformation, training=training)

    def get_random_transformation(self, images, training=True):
        raise NotImplementedError

    def transform_images(self, images, transformation, training=True):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        check_image_shape(input_shape, self.__class__.__name__)
        return tuple(input_shape)

    def compute_output_spec(self, images, training=True):
        check_image_batch(images, self.__class__.__name__)
        return keras.KerasTensor(self.compute_output_shape(images.shape), dtype=self.compute_dtype)

    def _batch_uniform(self, images, low, high, shape=()):
        """Per-image uniform draws in [low, high), shape [batch, *shape], float32."""
        return keras.random.uniform(
            (ops.shape(images)[0], *shape), minval=low, maxval=high, seed=self.seed_generator
        )

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
