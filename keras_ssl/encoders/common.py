"""Pieces shared by the encoder builders."""

from __future__ import annotations

import keras


def check_input_shape(input_shape, min_size: int = 32) -> tuple[int, int, int]:
    """Validates an encoder `input_shape` of the form (height, width, 3)."""
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    if shape is None or len(shape) != 3:
        raise ValueError(
            f"`input_shape` must be (height, width, channels), e.g. (96, 96, 3); got {input_shape!r}."
        )
    height, width, channels = shape
    if channels != 3:
        raise ValueError(
            f"`input_shape` must have 3 channels (RGB); got {channels} in {shape}. "
            "Grayscale or RGBA data is converted to RGB by `keras_ssl.data`."
        )
    for size in (height, width):
        if not isinstance(size, int) or size < min_size:
            raise ValueError(
                f"`input_shape` height and width must be integers >= {min_size}; got {shape}."
            )
    return height, width, channels


def encoder_input_shape(encoder: keras.Model) -> tuple | None:
    """The `(height, width, channels)` an encoder takes, or None if it declares none.

    Functional and Sequential encoders declare their input; a subclassed
    `keras.Model` usually does not, and then None tells callers to ask the user
    for the image shape.

    Args:
        encoder: any `keras.Model`.

    Returns:
        A tuple whose entries may be None (any size), or None.

    Example:

    >>> encoder_input_shape(keras_ssl.encoders.small_cnn(input_shape=(32, 32, 3)))
    (32, 32, 3)
    """
    try:
        shape = encoder.input_shape
    except (AttributeError, ValueError):
        return None
    if isinstance(shape, list):
        shape = shape[0]
    if not isinstance(shape, tuple) or len(shape) != 4:
        return None
    return tuple(shape[1:])


def set_batch_norm_momentum(model: keras.Model, momentum: float) -> keras.Model:
    """Sets the momentum of every BatchNormalization layer in `model` (nested ones too).

    Keras' applications use momentum 0.999: after a few hundred steps of
    pretraining, the moving statistics are still mostly their initial values and the
    encoder's features in inference mode are close to useless. A smaller momentum
    (0.9) tracks the statistics of the current weights within tens of steps.

    Args:
        model: the model whose BatchNormalization layers to change, in place.
        momentum: the new momentum, in [0, 1).

    Returns:
        `model`.

    Example:

    >>> encoder = keras.applications.MobileNetV2(include_top=False, weights=None, pooling="avg")
    >>> encoder = set_batch_norm_momentum(encoder, 0.9)
    """
    if not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
        raise ValueError(f"`bn_momentum` must be in [0, 1); got {momentum!r}.")
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = float(momentum)
    return model
