"""Checks of experiment settings: each names the bad key, the value and what is allowed.

Every check raises `ConfigError`, whose message the `keras-ssl` command prints as one
line with exit status 2, before anything trains.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping, Sequence


class ConfigError(ValueError):
    """Bad input to an experiment: a key, a value, a file, the data or the output folder.

    The message names the bad key or value and what is expected.
    """


class DataSourceError(ConfigError):
    """The data source cannot be used: missing, wrong layout, or unreachable."""


def check_keys(content, known: Sequence[str], where: str) -> dict:
    """`content` as a dict whose keys all lie in `known`.

    Example:

    >>> check_keys({"test": 0.2}, ["test", "val"], "data")
    {'test': 0.2}
    """
    if content is None:
        return {}
    if not isinstance(content, Mapping):
        raise ConfigError(f"`{where}` must be a mapping; got {content!r}.")
    unknown = sorted(set(content) - set(known), key=str)
    if unknown:
        raise ConfigError(
            f"Unknown key(s) {', '.join(repr(k) for k in unknown)} in `{where}`; known keys: "
            f"{', '.join(known)}."
        )
    return dict(content)


def check_mapping(value, key: str) -> dict:
    """A mapping of plain values (tuples as lists, the form they take after YAML)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"`{key}` must be a mapping of arguments; got {value!r}.")
    return {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}


def check_int(value, key: str, minimum: int = 1, allow_none: bool = False) -> None:
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        none = " or null" if allow_none else ""
        raise ConfigError(f"`{key}` must be an integer >= {minimum}{none}; got {value!r}.")


def check_positive(value, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ConfigError(f"`{key}` must be a number > 0; got {value!r}.")


def check_str(value, key: str, allow_none: bool = False) -> None:
    if allow_none and value is None:
        return
    if not isinstance(value, str) or not value:
        raise ConfigError(f"`{key}` must be a non-empty string; got {value!r}.")


def check_size(value, key: str) -> None:
    """A split size: a count (int >= 0) or a fraction in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(
            f"`{key}` must be a count (int >= 0) or a fraction in [0, 1); got {value!r}."
        )
    if isinstance(value, numbers.Integral) and value < 0:
        raise ConfigError(f"`{key}` as a count must be >= 0; got {value!r}.")
    if not isinstance(value, numbers.Integral) and not 0 <= value < 1:
        raise ConfigError(f"`{key}` as a fraction must lie in [0, 1); got {value!r}.")


def check_name(value, key: str, known: Sequence[str]) -> None:
    if value not in known:
        raise ConfigError(
            f"Unknown {key.split('.')[-1]} {value!r} (`{key}`); expected one of: "
            f"{', '.join(map(str, known))}."
        )


def check_fractions(fractions, key: str = "fractions") -> tuple[float, ...]:
    """Label fractions, each in (0, 1] and no duplicates, sorted.

    Raises:
        ConfigError: for an empty list, a value outside (0, 1] or a duplicate.

    Example:

    >>> check_fractions([0.1, 0.01])
    (0.01, 0.1)
    """
    if isinstance(fractions, (str, bytes)) or not isinstance(fractions, Sequence):
        raise ConfigError(f"`{key}` must be a list of fractions in (0, 1]; got {fractions!r}.")
    if not fractions:
        raise ConfigError(
            f"`{key}` is empty: give label fractions in (0, 1], e.g. [0.01, 0.1, 1.0]."
        )
    for value in fractions:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not ok or not 0 < value <= 1:
            hint = " (percentages? 10 % is 0.1)" if ok and 1 < value <= 100 else ""
            raise ConfigError(f"`{key}`: every fraction must lie in (0, 1]; got {value!r}{hint}.")
    values = sorted(float(v) for v in fractions)
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ConfigError(f"`{key}` has duplicates: {duplicates}.")
    return tuple(values)


def check_selection(select_on: str, val) -> None:
    """`data.select_on` and `data.val` must agree: selection needs the split it watches."""
    if select_on == "val" and val == 0:
        raise ConfigError(
            "`data.select_on` is 'val' but `data.val` is 0: carve a validation split from the "
            "training images (e.g. data.val=0.1), or select on the test images as the Umeå "
            "report did with data.select_on=test (optimistic accuracies)."
        )
    if select_on == "test" and val != 0:
        raise ConfigError(
            f"`data.select_on` is 'test' (the Umeå report's protocol) but `data.val` is {val!r}: "
            "those images would be taken from training and never used; set data.val=0."
        )


def check_optimizer(name, key: str) -> None:
    import keras

    try:
        keras.optimizers.get({"class_name": name, "config": {"learning_rate": 1e-3}})
    except (ValueError, TypeError):
        raise ConfigError(
            f"Unknown optimizer {name!r} (`{key}`); use a Keras optimizer name such as "
            "'adam', 'adamw', 'sgd' or 'rmsprop'."
        ) from None


def check_method(name, args: dict, key: str) -> None:
    """A registered pretext method and arguments its constructor takes."""
    from keras_ssl import pretext

    check_name(name, f"{key}.method", pretext.available())
    accepted = pretext.method_arguments(name)
    unknown = sorted(set(args) - set(accepted))
    if unknown:
        raise ConfigError(
            f"`{key}.method_args` {unknown} are not arguments of {name!r}; it takes: "
            f"{', '.join(accepted) or 'none'}."
        )


def check_encoder(name, args: dict, weights, key: str) -> None:
    """A registered encoder, arguments its builder takes, and weights it can load."""
    from keras_ssl import encoders

    if isinstance(weights, str) and weights.endswith(".keras"):
        if not os.path.isfile(weights):
            raise ConfigError(f"Encoder file {weights!r} (`{key}.weights`) does not exist.")
        return  # a saved encoder: name and args are not used
    check_name(name, f"{key}.name", encoders.available())
    info = encoders.info(name)
    reserved = {"input_shape", "weights"} & set(args)
    if reserved:
        raise ConfigError(
            f"`{key}.args` must not set {sorted(reserved)}: use `{key}.image_size` and "
            f"`{key}.weights`."
        )
    if info.parameters is not None:
        unknown = sorted(set(args) - set(info.parameters))
        if unknown:
            accepted = sorted(set(info.parameters) - {"input_shape", "weights"})
            raise ConfigError(
                f"`{key}.args` {unknown} are not arguments of {name}; it takes: "
                f"{', '.join(accepted)}."
            )
    if weights is None or weights in (info.weights or ()):
        return
    if weights == "imagenet" or not isinstance(weights, str):
        allowed = ", ".join(repr(w) for w in (info.weights or (None,)))
        raise ConfigError(
            f"`{key}.weights` {weights!r}: {name} can load {allowed}, a weights file, or a "
            "saved encoder (.keras)."
        )
    if not os.path.isfile(weights):
        raise ConfigError(f"Weights file {weights!r} (`{key}.weights`) does not exist.")


def check_augment(name, image_size: int, args: dict, key: str) -> None:
    """A known augmentation preset, built once so that a bad argument names the key."""
    from keras_ssl import augment

    check_name(name, f"{key}.augment", list(augment.available()))
    try:
        augment.get(name, image_size=image_size, seed=0, **args)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"`{key}.augment_args` for {name!r}: {error}") from None


def check_recipe(name, args: dict, key: str):
    """The `FinetuneConfig` of a named recipe with `args` changed."""
    from keras_ssl.finetune import available_recipes, get_recipe

    check_name(name, f"{key}.recipe", available_recipes())
    try:
        return get_recipe(name, **args)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"`{key}.recipe_args` for recipe {name!r}: {error}") from None


def check_source(source: str, key: str = "data.source") -> None:
    """A catalogue name, or a path that exists and is a folder or a `.zip` file.

    Raises:
        DataSourceError: for a path that does not exist or is neither a folder nor
            a zip archive.
    """
    from keras_ssl.data import available_datasets

    if source in available_datasets():
        return
    if not os.path.exists(source):
        raise DataSourceError(
            f"Data path {source!r} (`{key}`) does not exist. Give a folder or .zip of "
            f"<class>/<image> files, or a catalogue name ({', '.join(available_datasets())})."
        )
    if not os.path.isdir(source) and not source.lower().endswith(".zip"):
        raise DataSourceError(
            f"Data path {source!r} (`{key}`) is a file but not a .zip archive; expected "
            "a folder or a .zip of <class>/<image> files."
        )


# -- checks on the built architecture: before any data is loaded ---------------------


def check_variant(experiment, variant) -> None:
    """What the variant's settings ask of its encoder, checked on the bare architecture."""
    from keras_ssl.experiments import pretraining
    from keras_ssl.finetune import resolve_freeze

    spec = variant.pretrain
    watches = spec is not None and (spec.patience, spec.reduce_lr_patience) != (None, None)
    if watches and experiment.data.val == 0:
        raise ConfigError(
            f"`variants.{variant.name}.pretrain.patience` / `reduce_lr_patience` watch the "
            "validation images, but `data.val` is 0; give data.val or set them to null."
        )
    if variant.encoder.saved:
        return
    try:
        encoder = pretraining.build_encoder(variant.encoder, None)
    except (ValueError, TypeError) as error:
        raise ConfigError(
            f"`encoder` {variant.encoder.name!r} with args {variant.encoder.args} at image_size "
            f"{variant.encoder.image_size} (variant {variant.name!r}): {error}"
        ) from None
    if variant.pretrain is not None:
        _check_method_args(variant, encoder)
    for evaluation in experiment.evaluations:
        recipe = evaluation.resolved_recipe()
        if recipe is None or not evaluation.measures(variant.name):
            continue
        try:
            resolve_freeze(encoder, recipe.freeze_first, variant.encoder.name)
        except ValueError as error:
            raise ConfigError(
                f"`evaluations.{evaluation.name}.recipe_args` (variant {variant.name!r}): {error}"
            ) from None


def _check_method_args(variant, encoder) -> None:
    """Builds the pretext model once on the bare encoder, so a bad argument names its key."""
    from keras_ssl import pretext

    spec = variant.pretrain
    try:
        pretext.get(spec.method, encoder, augment=None, **spec.method_args)
    except (ValueError, TypeError) as error:
        raise ConfigError(
            f"`pretrain.method_args` {spec.method_args} of {spec.method!r} (variant "
            f"{variant.name!r}): {error}"
        ) from None


def check_label_kind(evaluation, multi_label: bool) -> None:
    """Multi-hot labels need a multi-label recipe; class ids a single-label one or kNN.

    Raises:
        ConfigError: naming the evaluation and the setting to change.
    """
    recipe, key = evaluation.resolved_recipe(), f"evaluations.{evaluation.name}"
    if recipe is None and multi_label:
        raise ConfigError(
            f"`{key}` (kind {evaluation.kind!r}) needs one class per image, but the data "
            "have several attributes per image (multi-hot labels); use kind finetune, "
            "linear_probe or baseline with `multi_label: true` in `recipe_args`."
        )
    if recipe is not None and recipe.multi_label != multi_label:
        labels = "several attributes per image" if multi_label else "one class per image"
        raise ConfigError(
            f"`{key}.recipe_args`: the data have {labels}; set multi_label: "
            f"{str(multi_label).lower()}."
        )


def check_monitor(evaluation, num_classes: int) -> None:
    """The metric the evaluation's recipe watches must be one that training logs."""
    from keras_ssl.finetune._core import check_monitor as check_logged

    recipe = evaluation.resolved_recipe()
    if recipe is None:
        return
    try:
        check_logged(recipe, num_classes)
    except ValueError as error:
        raise ConfigError(f"`evaluations.{evaluation.name}.recipe_args`: {error}") from None
