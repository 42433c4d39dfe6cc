"""Classifiers built from a (pretrained) encoder, and freezing its first layers."""

from __future__ import annotations

import keras

from keras_ssl.config import ConfigError, Count, check
from keras_ssl.encoders import CaffePreprocessing, encoder_input_shape, registered_name
from keras_ssl.encoders import info as encoder_info
from keras_ssl.heads import classification_head

# Weightless preprocessing that keras_ssl encoders put in front of the backbone. Not
# counted by `freeze_first`, so the count matches the backbone's own layer list.
_PREPROCESSING = (
    keras.layers.Rescaling,
    keras.layers.Normalization,
    keras.layers.Resizing,
    CaffePreprocessing,
)


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


FREEZE_ALL = "all"


def resolve_freeze(
    encoder: keras.Model, freeze: int | float | str, encoder_name: str | None = None
) -> int | str:
    """The number of encoder layers a `freeze_first` setting freezes, or "all".

    Layers are counted as `countable_layers` counts them. Accepted settings:

    - an int: that many layers (0 trains everything);
    - "all": the whole encoder (a linear probe);
    - a float in [0, 1]: that fraction of the layers, `round(fraction * layers)`
      (a YAML `1.0` is a fraction, `1` a layer count);
    - a freeze-point name of the encoder's registry entry, e.g. "block_12" for
      `mobilenet_v2` or "block_1" for `small_cnn` (`keras_ssl.encoders.info(name).points()`).

    For a point name the encoder's registered name is `encoder_name` if given, else
    the model's name: the builders name their models `"<registered name>_encoder"`
    by default, and copies and saved-and-loaded encoders keep that name
    (`keras_ssl.encoders.registered_name`). Pass `encoder_name` for a renamed one.
    Points are those of the builder's default arguments that fit in this encoder
    (a `small_cnn` deeper than the default has no names for its extra blocks).

    Args:
        encoder: the encoder to be frozen.
        freeze: the setting, as above.
        encoder_name: the encoder's registered name, to look its freeze points up.

    Returns:
        An int in [0, number of countable layers], or "all".

    Raises:
        ValueError: for a bad value, too many layers, or an unknown point (the
            message lists the encoder's points).

    Example:

    >>> encoder = keras_ssl.encoders.small_cnn(depth=3)
    >>> resolve_freeze(encoder, "block_1"), resolve_freeze(encoder, 0.5)
    (9, 7)
    """
    count = len(countable_layers(encoder))
    if freeze == FREEZE_ALL:
        return FREEZE_ALL
    if isinstance(freeze, bool) or not isinstance(freeze, (int, float, str)):
        raise ValueError(FREEZE_FORMS + f"; got {freeze!r}.")
    if isinstance(freeze, str):
        points = _freeze_points(encoder, encoder_name, count)
        if freeze not in points:
            listed = ", ".join(points) or "none"
            raise ValueError(
                f"Unknown freeze point {freeze!r} for encoder {encoder.name!r}; its freeze "
                f"points are: {listed}."
            )
        return points[freeze]
    if isinstance(freeze, float):
        if not 0.0 <= freeze <= 1.0:
            raise ValueError(f"A fraction of layers to freeze must be in [0, 1]; got {freeze!r}.")
        return round(freeze * count)
    if freeze < 0 or freeze > count:
        raise ValueError(
            f"Cannot freeze the first {freeze} layers: {encoder.name!r} has {count} layers "
            f"(preprocessing not counted). Use 0 <= freeze_first <= {count}, or 'all'."
        )
    return freeze


FREEZE_FORMS = (
    "`freeze_first` must be an integer >= 0 or 'all', a fraction in [0, 1] or a "
    "freeze-point name such as 'block_12'"
)


def _freeze_points(encoder: keras.Model, encoder_name: str | None, count: int) -> dict[str, int]:
    name = encoder_name or registered_name(encoder)
    if name is None:
        raise ValueError(
            f"Cannot look up freeze points: encoder {encoder.name!r} is not named after a "
            "registered encoder (keras_ssl.encoders.available()); pass its registered name as "
            "`encoder_name`, or give `freeze_first` as a number of layers or a fraction."
        )
    layers = countable_layers(encoder)
    points = {}
    for point, end in encoder_info(name).points().items():
        end = _layer_count_to(end, layers) if isinstance(end, str) else end
        if end is not None and end <= count:
            points[point] = end
    return points


def _layer_count_to(layer_name: str, layers) -> int | None:
    """Countable layers up to the one named `layer_name` ("prefix*": the last one starting so)."""
    if layer_name.endswith("*"):
        matches = [i for i, layer in enumerate(layers) if layer.name.startswith(layer_name[:-1])]
    else:
        matches = [i for i, layer in enumerate(layers) if layer.name == layer_name]
    return matches[-1] + 1 if matches else None


def freeze_first(model: keras.Model, n: int | float | str) -> list[keras.layers.Layer]:
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
        n: number of layers to freeze, 0 <= n <= number of countable layers; or
            "all", a fraction or a freeze-point name (see `resolve_freeze`).

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
    if isinstance(n, (float, str)):
        n = resolve_freeze(model, n)
        n = len(layers) if n == FREEZE_ALL else n
    try:
        check(n, Count, "n")
    except ConfigError as error:
        raise ConfigError(f"{error} `n` is the number of layers to freeze.") from None
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
    freeze_first: int | float | str | None = 0,
    dropout: float = 0.5,
    activation: str = "softmax",
    input_shape: tuple[int, int, int] | None = None,
    name: str = "classifier",
    hidden_dims: tuple[int, ...] = (),
    encoder_name: str | None = None,
) -> keras.Model:
    """Encoder + Dropout + Dense classifier for fine-tuning (Umeå §2.4.2).

    Args:
        encoder: the (pretrained) encoder; used as is, not copied (see `copy_encoder`).
        num_classes: number of classes (or attributes, with `activation="sigmoid"`).
        freeze_first: encoder layers to freeze: a number, "all", a fraction or a
            freeze-point name (see `resolve_freeze`); 0 or None trains everything.
            The Umeå report froze 100 MobileNetV2 layers.
        dropout: dropout rate before the output layer.
        activation: "softmax" for single-label, "sigmoid" for multi-label outputs.
        input_shape: shape of the images the classifier takes, if different from the
            encoder's input; they are resized to it inside the model (e.g. CIFAR-10's
            32×32 to a 96×96 encoder, as in the Umeå report).
        name: the model name.
        hidden_dims: widths of hidden Dense ReLU layers before the dropout and the
            output (the rotation report's head: `(128,)`).
        encoder_name: the encoder's registered name, to look a freeze-point name up
            (see `resolve_freeze`).

    Returns:
        A functional `keras.Model` from images in [0, 255] to class probabilities.

    Example:

    ```python
    model = keras_ssl.finetune.classifier(pretrained_encoder, num_classes=10, freeze_first="block_12")
    model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy", metrics=["accuracy"])
    ```
    """
    frozen = resolve_freeze(encoder, freeze_first or 0, encoder_name)  # fail before building
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
    head = classification_head(num_classes, dropout, activation, hidden_dims=hidden_dims)
    outputs = head(features)
    if frozen == FREEZE_ALL:
        encoder.trainable = False
    elif frozen:
        _freeze_first(encoder, frozen)
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
