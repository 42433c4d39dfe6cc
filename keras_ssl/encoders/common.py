"""Pieces shared by the encoder builders."""

from __future__ import annotations

import os

import keras


def check_input_shape(
    input_shape, min_size: int = 32, any_size: bool = False
) -> tuple[int, int, int]:
    """Validates an encoder `input_shape` of the form (height, width, 3).

    With `any_size`, a side may be None (the encoder takes any size).
    """
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
        if size is None and any_size:
            continue
        if not isinstance(size, int) or size < min_size:
            raise ValueError(
                f"`input_shape` height and width must be integers >= {min_size}; got {shape}."
            )
    return height, width, channels


def check_pooling(pooling: str) -> None:
    """Raises a `ValueError` unless `pooling` is "avg" or "max" (global pooling of the last map)."""
    if pooling not in ("avg", "max"):
        raise ValueError(f"`pooling` must be 'avg' or 'max'; got {pooling!r}.")


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


# torchvision / timm ImageNet statistics of images scaled to [0, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_normalization(inputs, prefix: str):
    """Preprocessing layers: images in [0, 255] → ImageNet-normalised (torchvision convention).

    Args:
        inputs: the image tensor of a functional model.
        prefix: the layers are named `{prefix}_rescale` and `{prefix}_normalize`.

    Returns:
        The normalised tensor.
    """
    x = keras.layers.Rescaling(1.0 / 255.0, name=f"{prefix}_rescale")(inputs)
    return keras.layers.Normalization(
        mean=IMAGENET_MEAN, variance=[s**2 for s in IMAGENET_STD], name=f"{prefix}_normalize"
    )(x)


def load_weights(model: keras.Model, weights: str | None, encoder: str) -> keras.Model:
    """Loads `weights` into an encoder that Keras publishes no pretrained weights for.

    Args:
        model: the freshly built encoder.
        weights: None (keep the random initialisation) or the path of a weights file
            saved from the same builder (`encoder.save_weights("x.weights.h5")`).
        encoder: the encoder's name, for the error messages.

    Returns:
        `model`.

    Raises:
        ValueError: for "imagenet" or another name, and for a missing file.
    """
    if weights is None:
        return model
    if not os.path.isfile(str(weights)):
        raise ValueError(
            f"`weights` for {encoder!r} must be None or the path of a weights file saved from "
            f"the same builder; got {weights!r}, which is not a file. Keras publishes no "
            f"ImageNet weights for {encoder!r}; pretrain it with keras_ssl or load your own."
        )
    model.load_weights(weights)
    return model


@keras.saving.register_keras_serializable(package="keras_ssl")
class CaffePreprocessing(keras.layers.Layer):
    """`keras.applications.imagenet_utils.preprocess_input(mode="caffe")` as a layer.

    RGB → BGR, then the ImageNet channel means subtracted, as the ResNet-50 and
    VGG weights of `keras.applications` expect. Input: images in [0, 255].

    Example:

    >>> CaffePreprocessing()(keras.ops.full((1, 2, 2, 3), 128.0))[0, 0, 0]
    [24.061, 11.221, 4.32]
    """

    MEAN_BGR = (103.939, 116.779, 123.68)

    def call(self, inputs):
        bgr = keras.ops.flip(keras.ops.cast(inputs, self.compute_dtype), axis=-1)
        return bgr - keras.ops.convert_to_tensor(self.MEAN_BGR, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape
