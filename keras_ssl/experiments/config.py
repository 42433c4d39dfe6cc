"""Experiment configs: frozen dataclasses, YAML / JSON files and `--set` overrides.

An `ExperimentConfig` says everything that decides an experiment's results (data,
pretraining, fine-tuning, seed) and nothing about how it is run (verbosity, where
it stops). The named profiles live in `keras_ssl.experiments.profiles`.

Example:

>>> config = keras_ssl.experiments.profile("cpu-small")
>>> config = apply_overrides(config, ["pretrain.epochs=4", "data.source=train.zip"])
>>> print(to_yaml(config))
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from keras_ssl.data.splits import UMEA_FRACTIONS
from keras_ssl.experiments._checks import (
    ConfigError,
    check_augment_args,
    check_encoder_args,
    check_fractions,
    check_int,
    check_name,
    check_optimizer,
    check_selection,
    check_size,
    check_weights,
    known_augmentations,
    known_encoders,
)

METHODS = ("simclr", "rotation")


@dataclass(frozen=True)
class DataSettings:
    """Where the images come from and how they are split.

    The images are loaded (`keras_ssl.data.load(source, split)`), optionally cut to a
    class-balanced subset of `max_images`, then split class-balanced and seeded into
    a held-out `test` set, an optional `val` set and the training rest. Pretraining
    sees only the training images, without labels; label fractions are drawn from
    them; accuracies are measured on the held-out test images.

    Args:
        source: a catalogue name ("cifar10": TFDS, needs internet the first time;
            "cifar10_keras": `keras.datasets`) or a folder / `.zip` of
            `<class>/<image>` files.
        split: the catalogue split or subfolder to load; None: "train" for named
            data sets, the whole folder for paths.
        image_size: resize every image to this side when loading (for folders of
            mixed sizes); None keeps the stored size.
        max_images: use a seeded, class-balanced subset of about this many images;
            None uses all.
        test: size of the held-out test set: a count or a fraction.
        val: size of the validation set carved (seeded, class-balanced) from the
            images left after `test`: a count or a fraction of the images used. It
            is what model selection watches (early stopping, best-weight restore,
            the learning-rate schedule); 0 only with `finetune.select_on: test`.
    """

    source: str = "cifar10"
    split: str | None = None
    image_size: int | None = None
    max_images: int | None = None
    test: int | float = 10_000
    val: int | float = 0.1

    def __post_init__(self):
        if not isinstance(self.source, str) or not self.source:
            raise ConfigError(
                f"`data.source` must be a catalogue name or a path; got {self.source!r}."
            )
        if self.split is not None and not isinstance(self.split, str):
            raise ConfigError(f"`data.split` must be a string or null; got {self.split!r}.")
        check_int(self.image_size, "data.image_size", minimum=8, allow_none=True)
        check_int(self.max_images, "data.max_images", minimum=20, allow_none=True)
        check_size(self.test, "data.test")
        check_size(self.val, "data.val")
        if self.test == 0:
            raise ConfigError(
                "`data.test` is 0: the accuracies are measured on held-out test images; "
                "give a count (e.g. 10000) or a fraction (e.g. 0.2)."
            )


@dataclass(frozen=True)
class PretrainSettings:
    """Self-supervised pretraining of the encoder (Umeå §2.3, §2.4.1).

    Args:
        method: "simclr" (NT-Xent on two augmented views) or "rotation".
        encoder: an encoder name from `keras_ssl.encoders.available()`.
        encoder_args: more arguments of the encoder builder (e.g. `alpha`).
        weights: the encoder initialisations to run, one variant each: "imagenet",
            None (random, `weights=None`) or a weights file path.
        image_size: the encoder's input side; images are resized to it on the device.
        augment: augmentation preset for the views (`keras_ssl.augment.available()`).
        augment_args: more arguments of the preset (e.g. `crop_scale` of "simclr").
        projection_dims: (hidden, output) units of the projection head (SimCLR).
        temperature: NT-Xent temperature (SimCLR).
        epochs: pretraining epochs.
        batch_size: images per step (each makes two views with SimCLR).
        optimizer: a Keras optimizer name.
        learning_rate: its learning rate.
    """

    method: str = "simclr"
    encoder: str = "mobilenet_v2"
    encoder_args: dict[str, Any] = field(default_factory=dict)
    weights: tuple[str | None, ...] = ("imagenet", None)
    image_size: int = 96
    augment: str = "umea"
    augment_args: dict[str, Any] = field(default_factory=dict)
    projection_dims: tuple[int, int] = (256, 128)
    temperature: float = 0.5
    epochs: int = 75
    batch_size: int = 128
    optimizer: str = "adam"
    learning_rate: float = 1e-3

    def __post_init__(self):
        if self.method not in METHODS:
            raise ConfigError(
                f"Unknown method {self.method!r} (`pretrain.method`); expected one of: "
                f"{', '.join(METHODS)}."
            )
        check_name(self.encoder, "pretrain.encoder", known_encoders())
        check_name(self.augment, "pretrain.augment", known_augmentations())
        if not isinstance(self.encoder_args, Mapping):
            raise ConfigError(
                f"`pretrain.encoder_args` must be a mapping; got {self.encoder_args!r}."
            )
        object.__setattr__(self, "encoder_args", dict(self.encoder_args))
        check_encoder_args(self.encoder, self.encoder_args)
        weights = self.weights
        if isinstance(weights, str) or weights is None:
            weights = (weights,)  # one variant
        object.__setattr__(self, "weights", tuple(weights))
        check_weights(self.encoder, self.weights)
        dims = tuple(self.projection_dims)
        object.__setattr__(self, "projection_dims", dims)
        if len(dims) != 2:
            raise ConfigError(
                f"`pretrain.projection_dims` must be [hidden, output]; got {list(dims)}."
            )
        for dim in dims:
            check_int(dim, "pretrain.projection_dims")
        check_int(self.image_size, "pretrain.image_size", minimum=8)
        if not isinstance(self.augment_args, Mapping):
            raise ConfigError(
                f"`pretrain.augment_args` must be a mapping; got {self.augment_args!r}."
            )
        # Tuples as lists: the form the arguments take after a YAML or JSON round trip.
        augment_args = {
            k: list(v) if isinstance(v, tuple) else v for k, v in self.augment_args.items()
        }
        object.__setattr__(self, "augment_args", augment_args)
        check_augment_args(self.augment, self.image_size, self.augment_args)
        check_int(self.epochs, "pretrain.epochs")
        check_int(self.batch_size, "pretrain.batch_size", minimum=2)
        for name in ("temperature", "learning_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
                raise ConfigError(f"`pretrain.{name}` must be a number > 0; got {value!r}.")
        if not isinstance(self.optimizer, str):
            raise ConfigError(f"`pretrain.optimizer` must be a name; got {self.optimizer!r}.")
        check_optimizer(self.optimizer)


SELECT_ON = ("val", "test")


@dataclass(frozen=True)
class FinetuneSettings:
    """Fine-tuning on label fractions, and the from-scratch baseline (Umeå §2.4.2, §2.5).

    Args:
        recipe: a recipe from `keras_ssl.finetune.available_recipes()`.
        recipe_overrides: recipe fields to change (e.g. `{"epochs": 6}`).
        fractions: label fractions of the training images, each in (0, 1].
        select_on: the images model selection watches (early stopping, best-weight
            restore, the learning-rate schedule): "val", the validation split
            (`data.val`), or "test", the held-out test images. "test" is the
            report's protocol, kept to reproduce it: its accuracies are selected on
            the images they are measured on, so they are optimistic.
        baseline_fractions: the label fractions at which the same architecture is
            also trained without pretraining (the variant's initial weights, every
            layer trainable); [] trains no baseline. The report has one, at 100 %.
        baseline_overrides: fields of the baseline's recipe (the `supervised`
            preset) to change: the baseline is tuned on its own, with as much
            effort as the pretrained side.
    """

    recipe: str = "umea"
    recipe_overrides: dict[str, Any] = field(default_factory=dict)
    fractions: tuple[float, ...] = UMEA_FRACTIONS
    select_on: str = "val"
    baseline_fractions: tuple[float, ...] = (1.0,)
    baseline_overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        for name in ("recipe_overrides", "baseline_overrides"):
            if not isinstance(getattr(self, name), Mapping):
                raise ConfigError(
                    f"`finetune.{name}` must be a mapping; got {getattr(self, name)!r}."
                )
            object.__setattr__(self, name, dict(getattr(self, name)))
        object.__setattr__(self, "fractions", check_fractions(self.fractions))
        baseline = self.baseline_fractions
        if baseline is None or (isinstance(baseline, Sequence) and len(baseline) == 0):
            baseline = ()
        else:
            baseline = check_fractions(baseline, "finetune.baseline_fractions")
        object.__setattr__(self, "baseline_fractions", baseline)
        check_name(self.select_on, "finetune.select_on", SELECT_ON)
        # Unknown recipes and impossible recipe settings fail here, on both sides.
        self.resolved_recipe()
        if self.baseline_fractions:
            self.resolved_baseline_recipe()

    def resolved_recipe(self):
        """The `keras_ssl.finetune.FinetuneConfig` of the pretrained encoder's stages."""
        return _recipe(self.recipe, self.recipe_overrides, "finetune.recipe_overrides")

    def resolved_baseline_recipe(self):
        """The `FinetuneConfig` of the from-scratch baseline's stages."""
        recipe = _recipe("supervised", self.baseline_overrides, "finetune.baseline_overrides")
        if recipe.freeze_first != 0:
            raise ConfigError(
                "`finetune.baseline_overrides`: the baseline trains every layer of an encoder "
                f"that was not pretrained; remove freeze_first (got {recipe.freeze_first!r})."
            )
        return recipe


def _recipe(name: str, overrides: Mapping, key: str):
    from keras_ssl.finetune import get_recipe

    try:
        return get_recipe(name, **overrides)
    except ValueError as error:
        raise ConfigError(f"`finetune.recipe` {name!r} with `{key}`: {error}") from None


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that decides the results of a run of the Umeå experiment.

    Validation protocol: model selection (early stopping, best-weight restore, the
    learning-rate schedule) watches a validation split carved from the training
    images (`data.val`), and the held-out test images are scored once, at the end
    of each stage. The report (§2.6, §3.2) gives "validation accuracy" on its 10,000
    held-out images and stops early on validation accuracy with no other split in
    sight, so it most likely selected on the images it scored; that protocol stays
    available as `finetune.select_on: test` with `data.val: 0`, and `results.md`
    says so.

    Args:
        name: the experiment ("umea").
        profile: the profile the config came from.
        seed: the seed of the splits, the label fractions, the data order and the
            weights.
        data: a `DataSettings`.
        pretrain: a `PretrainSettings`.
        finetune: a `FinetuneSettings`.
    """

    name: str = "umea"
    profile: str = "custom"
    seed: int = 0
    data: DataSettings = field(default_factory=DataSettings)
    pretrain: PretrainSettings = field(default_factory=PretrainSettings)
    finetune: FinetuneSettings = field(default_factory=FinetuneSettings)

    def __post_init__(self):
        check_int(self.seed, "seed", minimum=0)
        for name, kind in (
            ("data", DataSettings),
            ("pretrain", PretrainSettings),
            ("finetune", FinetuneSettings),
        ):
            if not isinstance(getattr(self, name), kind):
                raise ConfigError(
                    f"`{name}` must be a {kind.__name__}; got {getattr(self, name)!r}."
                )
        check_selection(self.finetune.select_on, self.data.val)

    @property
    def selects_on_test(self) -> bool:
        """Whether model selection watches the test images (the report's protocol)."""
        return self.finetune.select_on == "test"

    def replace(self, **changes) -> ExperimentConfig:
        """A copy with top-level fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def get_config(self) -> dict:
        """The config as plain dicts, lists and scalars (what YAML and JSON files hold)."""
        return to_dict(self)

    @classmethod
    def from_config(cls, config: Mapping) -> ExperimentConfig:
        return from_dict(config)


# -- dicts, YAML, JSON ------------------------------------------------------------------

_SECTIONS = {"data": DataSettings, "pretrain": PretrainSettings, "finetune": FinetuneSettings}


def to_dict(config: ExperimentConfig) -> dict:
    """`config` as nested plain dicts (tuples become lists)."""

    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return plain(dataclasses.asdict(config))


def from_dict(content: Mapping) -> ExperimentConfig:
    """Builds an `ExperimentConfig` from nested dicts, checking every key.

    Missing keys take the `ExperimentConfig()` defaults (the paper's settings).

    Raises:
        ConfigError: for an unknown key (the message lists the known ones) or a
            bad value.
    """
    if not isinstance(content, Mapping):
        raise ConfigError(f"A config must be a mapping of sections; got {type(content).__name__}.")
    top = {f.name for f in dataclasses.fields(ExperimentConfig)}
    _check_keys(content, top, "the config")
    values = dict(content)
    for name, kind in _SECTIONS.items():
        if name in values:
            section = values[name]
            if not isinstance(section, Mapping):
                raise ConfigError(f"`{name}` must be a mapping; got {section!r}.")
            _check_keys(section, {f.name for f in dataclasses.fields(kind)}, f"`{name}`")
            values[name] = kind(**section)
    return ExperimentConfig(**values)


def _check_keys(content: Mapping, known: set[str], where: str) -> None:
    unknown = sorted(set(content) - known)
    if unknown:
        raise ConfigError(
            f"Unknown key(s) {', '.join(map(repr, unknown))} in {where}; known keys: "
            f"{', '.join(sorted(known))}."
        )


class _Dumper(yaml.SafeDumper):
    """Block-style sections, lists on one line: `fractions: [0.01, 0.05, ...]`."""


_Dumper.add_representer(
    list, lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", value, True)
)


def dump_yaml(content: Mapping) -> str:
    """Nested dicts as YAML text, keys in their order, lists on one line."""
    return yaml.dump(dict(content), Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def to_yaml(config: ExperimentConfig) -> str:
    """The config as YAML text (sections in order: data, pretrain, finetune)."""
    return dump_yaml(to_dict(config))


def to_json(config: ExperimentConfig) -> str:
    """The config as indented JSON text."""
    return json.dumps(to_dict(config), indent=2)


def load_config(path: str | os.PathLike, base: ExperimentConfig | None = None) -> ExperimentConfig:
    """Reads a config from a `.yaml` / `.yml` or `.json` file.

    Args:
        path: the file.
        base: the config the file's keys are applied to (e.g. a profile); None:
            `ExperimentConfig()`, the paper's settings.

    Returns:
        The validated config.

    Raises:
        ConfigError: if the file is missing, unreadable or holds a bad config.

    Example:

    >>> load_config("mine.yaml", base=profile("cpu-small"))
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {str(path)!r} does not exist.")
    text = path.read_text()
    try:
        content = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"Cannot parse config file {str(path)!r}: {error}") from None
    if content is not None and not isinstance(content, Mapping):
        raise ConfigError(f"Config file {str(path)!r} must hold a mapping of sections.")
    merged = to_dict(base if base is not None else ExperimentConfig())
    for key, value in (content or {}).items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return from_dict(merged)


def apply_overrides(config: ExperimentConfig, assignments: Sequence[str]) -> ExperimentConfig:
    """Applies `section.key=value` assignments; values are parsed as YAML.

    Args:
        config: the config to start from.
        assignments: e.g. `["pretrain.epochs=3", "finetune.fractions=[0.1, 1.0]",
            "pretrain.weights=[null]", "seed=1"]`.

    Returns:
        The new, validated config.

    Raises:
        ConfigError: for a malformed assignment, an unknown key or a bad value.

    Example:

    >>> apply_overrides(profile("smoke"), ["pretrain.epochs=1"]).pretrain.epochs
    1
    """
    content = to_dict(config)
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"Expected KEY=VALUE (e.g. pretrain.epochs=3); got {assignment!r}.")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as error:
            raise ConfigError(f"Cannot parse the value of {assignment!r}: {error}") from None
        target, parts = content, key.strip().split(".")
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(target.get(part), dict):
                raise ConfigError(
                    f"Unknown key {'.'.join(parts[: depth + 1])!r} in {assignment!r}; sections: "
                    f"{', '.join(_SECTIONS)}."
                )
            target = target[part]
        if parts[-1] not in target and not (
            len(parts) == 3 and parts[1].endswith(("_args", "_overrides"))
        ):
            where = ".".join(parts[:-1]) or "the config"
            raise ConfigError(
                f"Unknown key {key.strip()!r}; known keys in {where}: {', '.join(sorted(target))}."
            )
        target[parts[-1]] = value
    return from_dict(content)


def differences(old: Mapping, new: Mapping, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config dicts, as `key: old -> new`.

    Example:

    >>> differences({"seed": 0, "data": {"test": 10}}, {"seed": 0, "data": {"test": 20}})
    ['data.test: 10 -> 20']
    """
    lines = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key, "<missing>"), new.get(key, "<missing>")
        name = f"{prefix}{key}"
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            lines.extend(differences(a, b, prefix=f"{name}."))
        elif not _same(a, b):
            lines.append(f"{name}: {a!r} -> {b!r}")
    return lines


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return a == b
