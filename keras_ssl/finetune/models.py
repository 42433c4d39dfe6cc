"""Classifiers built from a (pretrained) encoder, and freezing its first layers."""

from __future__ import annotations

import keras

from keras_ssl.encoders import encoder_input_shape
from keras_ssl.heads import classification_head

# Weightless preprocessing that keras_ssl encoders put in front of the backbone. Not
# counted by `freeze_first`, so the count matches the backbone's own layer list.
_PREPROCESSING = (keras.layers.Rescaling, keras.layers.Normalization, keras.layers.Resizing)


def countable_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers `freeze_first` counts, in order: nested models expanded, preprocessing skipped.

    The input layer is counted, as in `keras.applications` models, where
    `model.layers[:100]` is how the Umeå report freezes the first 100 layers.
    """
    result = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            result.extend(countable_layers(layer))
        elif not isinstance(layer, _PREPROCESSING):
            result.append(layer)
    return result


def freeze_first(model: keras.Model, n: int) -> list[keras.layers.Layer]:
    """Freezes the first `n` layers of `model` and makes the rest trainable.

    Layers are counted in `model.layers` order, nested models expanded and
    weightless preprocessing (Rescaling, Normalization, Resizing) skipped: for a
    `keras_ssl.encoders.mobilenet_v2` encoder, `freeze_first(encoder, 100)` freezes
    exactly the layers `keras.applications.MobileNetV2(...).layers[:100]`.
    Frozen BatchNormalization layers run in inference mode (Keras 3 does this for
    any BatchNormalization with `trainable=False`), so their statistics stay as
    pretrained. Compile the model after calling this.

    Args:
        model: the model (or encoder) to freeze.
        n: number of layers to freeze, 0 <= n <= number of countable layers.

    Returns:
        The frozen layers.

    Example:

    >>> import keras_ssl
    >>> encoder = keras_ssl.encoders.mobilenet_v2(input_shape=(96, 96, 3))
    >>> frozen = freeze_first(encoder, 100)
    >>> len(frozen), frozen[-1].trainable
    (100, False)
    """
    layers = countable_layers(model)
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"`n` (layers to freeze) must be an integer >= 0; got {n!r}.")
    if n > len(layers):
        raise ValueError(
            f"Cannot freeze the first {n} layers: {model.name!r} has only {len(layers)} layers "
            f"(preprocessing not counted). Use freeze_first <= {len(layers)}, or "
            "`linear_probe` to freeze the whole encoder."
        )
    model.trainable = True
    for index, layer in enumerate(layers):
        layer.trainable = index >= n
    return layers[:n]


_freeze_first = freeze_first  # `classifier` has an argument of the same name.


def copy_encoder(encoder: keras.Model, name: str | None = None) -> keras.Model:
    """A fresh copy of `encoder` with the same weights, so several fine-tunings can start from it.

    Args:
        encoder: a Functional or Sequential model, or a subclassed one with `get_config`.
        name: the copy's name; by default Keras' clone name.

    Returns:
        An independent `keras.Model` computing the same function.

    Example:

    >>> encoder = keras_ssl.encoders.small_cnn()
    >>> copy = copy_encoder(encoder)
    """
    try:
        clone = keras.models.clone_model(encoder)
        clone.set_weights(encoder.get_weights())
    except (NotImplementedError, TypeError, ValueError) as error:
        raise ValueError(
            f"Cannot copy the encoder {encoder.name!r} ({error}). A subclassed keras.Model needs "
            "`get_config` to be copied; or fine-tune it in place (`copy=False`)."
        ) from error
    if name:
        clone.name = name
    return clone


def classifier(
    encoder: keras.Model,
    num_classes: int,
    freeze_first: int | None = 100,
    dropout: float = 0.5,
    activation: str = "softmax",
    input_shape: tuple[int, int, int] | None = None,
    name: str = "classifier",
) -> keras.Model:
    """Encoder + Dropout + Dense classifier for fine-tuning (Umeå §2.4.2).

    Args:
        encoder: the (pretrained) encoder; used as is, not copied (see `copy_encoder`).
        num_classes: number of classes (or attributes, with `activation="sigmoid"`).
        freeze_first: number of encoder layers to freeze (see `freeze_first`); 0 or
            None trains everything.
        dropout: dropout rate before the output layer.
        activation: "softmax" for single-label, "sigmoid" for multi-label outputs.
        input_shape: shape of the images the classifier takes, if different from the
            encoder's input; they are resized to it inside the model (e.g. CIFAR-10's
            32×32 to a 96×96 encoder, as in the Umeå report).
        name: the model name.

    Returns:
        A functional `keras.Model` from images in [0, 255] to class probabilities.

    Example:

    ```python
    model = keras_ssl.finetune.classifier(pretrained_encoder, num_classes=10, freeze_first=100)
    model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy", metrics=["accuracy"])
    ```
    """
    encoder_shape = encoder_input_shape(encoder)
    if input_shape is None and encoder_shape is None:
        raise ValueError(
            f"The encoder {encoder.name!r} does not declare its input shape (e.g. a subclassed "
            "keras.Model); pass the image shape as `input_shape=(height, width, 3)`."
        )
    shape = tuple(input_shape) if input_shape is not None else encoder_shape
    inputs = keras.Input(shape=shape, name="images")
    x = inputs
    if (
        encoder_shape is not None
        and None not in encoder_shape[:2]
        and shape[:2] != encoder_shape[:2]
    ):
        x = keras.layers.Resizing(*encoder_shape[:2], name="resize_to_encoder")(x)
    features = encoder(x)
    outputs = classification_head(num_classes, dropout=dropout, activation=activation)(features)
    if freeze_first:
        _freeze_first(encoder, freeze_first)
    else:
        encoder.trainable = True
    return keras.Model(inputs, outputs, name=name)


def linear_probe(
    encoder: keras.Model,
    num_classes: int,
    activation: str = "softmax",
    input_shape: tuple[int, int, int] | None = None,
    name: str = "linear_probe",
) -> keras.Model:
    """A linear classifier on top of the whole, frozen encoder (inference-mode BatchNorm).

    Args:
        encoder: the pretrained encoder; frozen in place.
        num_classes: number of classes.
        activation: output activation.
        input_shape: image shape if different from the encoder's (resized inside).
        name: the model name.

    Returns:
        A `keras.Model` whose only trainable weights are the Dense layer's.
    """
    model = classifier(
        encoder,
        num_classes,
        freeze_first=None,
        dropout=0.0,
        activation=activation,
        input_shape=input_shape,
        name=name,
    )
    encoder.trainable = False
    return model
