"""What every pretext model shares: an encoder, input checks, serialisation, NaN guard.

A pretext model is a `keras.Model` whose `call` makes the pretext inputs on the
device (augmented views, rotations, …) and returns what its `compute_loss` needs;
`compute_loss` returns the pretext loss and updates the model's metrics. Keras'
own `train_step` / `test_step` of every backend call exactly these two methods, so
a method written this way needs no backend-specific code.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_ssl.augment import get as get_augment
from keras_ssl.callbacks import StopOnNaN
from keras_ssl.encoders import encoder_input_shape
from keras_ssl.utils import check_image_batch


def resolve_augment(augment, image_size):
    """Turns a preset name, a layer or None into an augmentation layer (or None)."""
    if augment is None:
        return augment
    if isinstance(augment, keras.layers.Layer):
        _check_backend_support(augment)
        return augment
    if isinstance(augment, str):
        if image_size is None:
            raise ValueError(
                f"The augmentation preset {augment!r} needs an image size, but the encoder does "
                "not declare a fixed input shape (e.g. a subclassed keras.Model). Pass a layer, "
                f"e.g. `augment=keras_ssl.augment.get({augment!r}, image_size=96)`."
            )
        if image_size[0] != image_size[1]:
            raise ValueError(
                f"Augmentation presets make square images, but the encoder takes {image_size}; "
                "pass an augmentation layer that outputs that size as `augment=`."
            )
        return get_augment(augment, image_size=image_size[0])
    if isinstance(augment, dict):
        return keras.saving.deserialize_keras_object(augment)
    raise ValueError(
        "`augment` must be a Keras layer, a preset name such as 'simclr', or None; "
        f"got {augment!r}."
    )


def _check_backend_support(augment: keras.layers.Layer) -> None:
    """keras_cv's layers run TensorFlow ops inside `call`: they cannot run in a JAX step."""
    if keras.backend.backend() == "tensorflow":
        return
    for layer in augment._flatten_layers():
        if type(layer).__module__.startswith("keras_cv."):
            raise ValueError(
                f"The augmentation layer {layer.name!r} ({type(layer).__name__}) comes from "
                "keras_cv, whose layers run TensorFlow ops and work only with "
                f"KERAS_BACKEND=tensorflow; the backend is {keras.backend.backend()!r}. Use "
                "keras_ssl.augment layers or keras.layers.Random* layers, which run on every "
                "backend, or set KERAS_BACKEND=tensorflow."
            )


def encoder_image_size(encoder: keras.Model):
    """The (height, width) an encoder expects, or None if it takes any size."""
    shape = encoder_input_shape(encoder)
    if shape is None or None in shape[:2]:
        return None
    return int(shape[0]), int(shape[1])


class PretextModel(keras.Model):
    """Base class of the pretext models (SimCLR, RotationPrediction, …).

    Subclasses implement `call` (make the pretext inputs and outputs) and
    `compute_loss` (return the loss, update metrics), and list their constructor
    arguments in `get_config`.

    Args:
        encoder: a `keras.Model` mapping images in [0, 255] to `(batch, features)`.
        **kwargs: passed to `keras.Model`.
    """

    def __init__(self, encoder, **kwargs):
        super().__init__(**kwargs)
        if isinstance(encoder, dict):
            encoder = keras.saving.deserialize_keras_object(encoder)
        if not isinstance(encoder, keras.layers.Layer):
            raise ValueError(
                f"`encoder` must be a keras.Model mapping images to feature vectors; got {encoder!r}."
            )
        self.encoder = encoder

    def _prepare_images(self, images):
        """Checks a batch of images and casts it to float32 in [0, 255]."""
        check_image_batch(images, where=f"{self.__class__.__name__} input")
        return ops.cast(images, "float32")

    def _fit_to_encoder(self, images):
        """Resizes images to the encoder's input size when it has a fixed one (e.g. 32 → 96)."""
        size = encoder_image_size(self.encoder)
        if size is None or tuple(images.shape[1:3]) == size:
            return images
        return ops.image.resize(images, size, interpolation="bilinear")

    def _add_regularization(self, loss):
        """The pretext loss plus any losses the layers added (weight regularizers, ...)."""
        return loss + ops.sum(self.losses) if self.losses else loss

    def _encode(self, images, training):
        features = self.encoder(images, training=training)
        if len(features.shape) != 2:
            raise ValueError(
                "The encoder must return one feature vector per image, shape (batch, features); "
                f"got shape {tuple(features.shape)}. Add global pooling, e.g. "
                "`keras.applications.ResNet50(include_top=False, pooling='avg')` or a "
                "`keras.layers.GlobalAveragePooling2D()` at the end of the encoder."
            )
        return features

    def compile(self, optimizer="adam", **kwargs):
        """Configures the model for pretraining.

        Args:
            optimizer: a Keras optimizer or its name.
            **kwargs: other `keras.Model.compile` arguments (`steps_per_execution`,
                `jit_compile`, …). `loss` and `metrics` are not accepted: the pretext
                model defines its own loss and metrics.
        """
        for reserved in ("loss", "metrics", "loss_weights", "weighted_metrics"):
            if kwargs.get(reserved) is not None:
                raise ValueError(
                    f"{self.__class__.__name__} defines its own loss and metrics; "
                    f"remove `{reserved}=` from compile()."
                )
            kwargs.pop(reserved, None)
        super().compile(optimizer=optimizer, **kwargs)

    def compile_from_config(self, config):
        """Re-compiles a loaded model, so `.keras` files resume with their optimizer state."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(
            **{
                k: v
                for k, v in config.items()
                if k not in ("loss", "metrics", "loss_weights", "weighted_metrics")
            }
        )
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def fit(self, *args, callbacks=None, **kwargs):
        """`keras.Model.fit`, with `StopOnNaN` added unless a NaN callback is already given."""
        callbacks = list(callbacks or [])
        if not any(isinstance(c, (StopOnNaN, keras.callbacks.TerminateOnNaN)) for c in callbacks):
            callbacks.append(StopOnNaN())
        self._create_variables()
        return super().fit(*args, callbacks=callbacks, **kwargs)

    def _create_variables(self):
        """Creates the model's and the optimizer's variables before `fit` traces its step.

        Keras' TensorFlow trainer creates them inside the first trace of the training
        step, and a `tf.function` whose first trace creates variables is traced again:
        the whole step (forward, backward, optimizer) twice, about half of the time to
        the first finished step (`benchmarks/startup.py`). The other backends build
        them before tracing already. Encoders without a fixed input size are left to Keras.
        """
        size = encoder_image_size(self.encoder)
        if not self.built and size is not None:
            self(keras.KerasTensor((None, *size, 3), dtype="float32"))  # symbolic: no compute
        if self.built and self.optimizer is not None and not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)

    @staticmethod
    def _serialize(obj):
        return None if obj is None else keras.saving.serialize_keras_object(obj)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": self._serialize(self.encoder),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key, value in config.items():
            if isinstance(value, dict) and "class_name" in value:
                config[key] = keras.saving.deserialize_keras_object(value)
        return cls(**config)
