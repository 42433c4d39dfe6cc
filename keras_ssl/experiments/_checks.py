"""Checks of experiment settings: each names the bad key and value and what is expected."""

from __future__ import annotations

import numbers
from collections.abc import Sequence


class ConfigError(ValueError):
    """Bad input to an experiment: a config value, key, file or profile, the data or the output.

    The message names the bad value and what is expected; the `keras-ssl` command
    prints it and exits with status 2, without a traceback.
    """


def check_int(value, name: str, minimum: int = 1, allow_none: bool = False) -> None:
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        none = " or null" if allow_none else ""
        raise ConfigError(f"`{name}` must be an integer >= {minimum}{none}; got {value!r}.")


def check_size(value, name: str) -> None:
    """A split size: a count (int >= 0) or a fraction in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(
            f"`{name}` must be a count (int >= 0) or a fraction in [0, 1); got {value!r}."
        )
    if isinstance(value, numbers.Integral):
        if value < 0:
            raise ConfigError(f"`{name}` as a count must be >= 0; got {value!r}.")
    elif not 0 <= value < 1:
        raise ConfigError(f"`{name}` as a fraction must lie in [0, 1); got {value!r}.")


def check_selection(select_on: str, val) -> None:
    """`finetune.select_on` and `data.val` must agree: selection needs the split it watches."""
    if select_on == "val" and val == 0:
        raise ConfigError(
            "`finetune.select_on` is 'val' but `data.val` is 0: carve a validation split from "
            "the training images (e.g. data.val=0.1), or select on the test images as the "
            "report did with finetune.select_on=test (optimistic accuracies)."
        )
    if select_on == "test" and val != 0:
        raise ConfigError(
            f"`finetune.select_on` is 'test' (the report's protocol) but `data.val` is {val!r}: "
            "those images would be taken from training and never used; set data.val=0."
        )


def check_fractions(fractions, name: str = "finetune.fractions") -> tuple[float, ...]:
    """Checks label fractions (each in (0, 1], no duplicates) and returns them sorted.

    Args:
        fractions: a sequence of numbers.
        name: the key, for the error message.

    Returns:
        The fractions as sorted floats.

    Raises:
        ConfigError: for an empty list, a value outside (0, 1] or a duplicate.

    Example:

    >>> check_fractions([0.1, 0.01])
    (0.01, 0.1)
    """
    if isinstance(fractions, (str, bytes)) or not isinstance(fractions, Sequence):
        raise ConfigError(f"`{name}` must be a list of fractions in (0, 1]; got {fractions!r}.")
    if not fractions:
        raise ConfigError(
            f"`{name}` is empty: give label fractions in (0, 1], e.g. [0.01, 0.1, 1.0]."
        )
    for value in fractions:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not ok or not 0 < value <= 1:
            hint = " (percentages? 10 % is 0.1)" if ok and 1 < value <= 100 else ""
            raise ConfigError(f"`{name}`: every fraction must lie in (0, 1]; got {value!r}{hint}.")
    values = sorted(float(v) for v in fractions)
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ConfigError(f"`{name}` has duplicates: {duplicates}.")
    return tuple(values)


def check_name(value, key: str, known: Sequence[str]) -> None:
    if value not in known:
        raise ConfigError(
            f"Unknown {key.split('.')[-1]} {value!r} (`{key}`); expected one of: {', '.join(known)}."
        )


def known_encoders() -> list[str]:
    from keras_ssl import encoders

    return encoders.available()


def known_augmentations() -> list[str]:
    from keras_ssl import augment

    return list(augment.available())


def builder_parameters(encoder: str) -> set[str] | None:
    """The keyword arguments of a built-in encoder builder, or None for user builders."""
    import inspect

    from keras_ssl import encoders

    builder = getattr(encoders, encoder, None)
    return None if builder is None else set(inspect.signature(builder).parameters)


def check_optimizer(name: str) -> None:
    import keras

    try:
        keras.optimizers.get({"class_name": name, "config": {"learning_rate": 1e-3}})
    except (ValueError, TypeError):
        raise ConfigError(
            f"Unknown optimizer {name!r} (`pretrain.optimizer`); use a Keras optimizer name "
            "such as 'adam', 'adamw', 'sgd' or 'rmsprop'."
        ) from None


def check_augment_args(name: str, image_size: int, args: dict) -> None:
    """Builds the augmentation once, so that a bad argument fails with the key named."""
    if not args:
        return
    from keras_ssl import augment

    try:
        augment.get(name, image_size=image_size, seed=0, **args)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"`pretrain.augment_args` for {name!r}: {error}") from None


def check_encoder_args(encoder: str, args: dict) -> None:
    reserved = {"input_shape", "weights"} & set(args)
    if reserved:
        raise ConfigError(
            f"`pretrain.encoder_args` must not set {sorted(reserved)}: use `pretrain.image_size` "
            "and `pretrain.weights`."
        )
    parameters = builder_parameters(encoder)
    if parameters is not None:
        unknown = sorted(set(args) - parameters)
        if unknown:
            raise ConfigError(
                f"`pretrain.encoder_args` {unknown} are not arguments of {encoder}; it takes: "
                f"{', '.join(sorted(parameters - {'input_shape', 'weights'}))}."
            )


def check_weights(encoder: str, weights: tuple) -> None:
    if not weights:
        raise ConfigError(
            "`pretrain.weights` is empty: give at least one of imagenet, null, or a path."
        )
    for value in weights:
        if value is not None and not isinstance(value, str):
            raise ConfigError(
                f"`pretrain.weights` entries must be 'imagenet', null or a path; got {value!r}."
            )
    if len(set(weights)) != len(weights):
        raise ConfigError(f"`pretrain.weights` has duplicates: {list(weights)}.")
    parameters = builder_parameters(encoder)
    if parameters is not None and "weights" not in parameters and weights != (None,):
        raise ConfigError(
            f"Encoder {encoder!r} has no pretrained weights; set `pretrain.weights` to [null]."
        )
