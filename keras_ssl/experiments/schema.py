"""The experiment schema: what an experiment YAML file holds, as frozen dataclasses.

An experiment file (see `keras_ssl/experiments/configs/*.yaml` and the README) has
these top-level keys:

```yaml
name: my-experiment          # folder names, tables
title: What it reproduces    # one line
reference: Where the paper's numbers come from (table, page)
seed: 0
data: {source, split, image_size, max_images, test, val, select_on,
       test_source, test_split}
encoder: {name, args, weights, image_size}        # defaults of every variant
pretrain: {method, method_args, augment, augment_args, epochs, batch_size,
           optimizer, learning_rate, patience, reduce_lr_patience, schedule,
           weight_decay, gradient_accumulation_steps,
           source, split, max_images}                  # or null
variants:                    # encoders to pretrain and evaluate, as overrides
  random: {encoder: {weights: null}}
evaluations:                 # what is measured on every variant
  finetune: {kind: finetune, recipe: full, recipe_args: {}, fractions: [0.1, 1.0],
             classes: null, reference: {0.1: 80.0}}
figures: {label_efficiency: label_efficiency}   # figure kind -> file name
distribution: {strategy: none, sync_batch_norm: false, precision: float32}
profiles:                    # named overrides of everything above
  smoke: {pretrain: {epochs: 1}}
default_profile: smoke
```

`resolve(document, profile, assignments)` merges a profile and `key=value`
assignments into the document and builds an `Experiment`, checking every key and
value: an unknown key or a bad value raises `ConfigError` naming the key and what
is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from keras_ssl.experiments import checks
from keras_ssl.experiments.checks import ConfigError

SELECT_ON = ("val", "test")
SCHEDULES = ("constant", "cosine")
FIGURE_KINDS = (
    "views",
    "pretext_curves",
    "training_curves",
    "top3_curves",
    "loss_curves",
    "label_efficiency",
    "confusion_matrix",
    "accuracy_bars",
)
TOP_LEVEL = (
    "name", "title", "reference", "seed", "data", "encoder", "pretrain", "variants",
    "evaluations", "figures", "distribution", "profiles", "default_profile", "profile",
)  # fmt: skip


def _keys(kind) -> list[str]:
    return [f.name for f in dataclasses.fields(kind)]


@dataclass(frozen=True)
class DataSpec:
    """Where the images come from and how they are split, once, for every stage.

    Args:
        source: a catalogue name ("cifar10", "cifar10_keras", …) or a folder / `.zip`
            of `<class>/<image>` files (Tiny ImageNet's archive layout works too).
        split: the catalogue split or subfolder to load; None: "train" for named
            data sets, every labelled image for a folder.
        image_size: resize every image to this side when loading; None keeps it.
        max_images: a seeded, class-balanced subset of about this many images.
        test: the held-out test set: a count or a fraction. It is scored once per
            stage, at the end; nothing is selected on it.
        val: the validation set carved from the rest: a count or a fraction. Early
            stopping, best weights and learning-rate schedules watch it.
        select_on: "val", or "test" (the Umeå report's protocol: optimistic numbers,
            labelled as such in `results.md`; needs `val: 0`).
        test_source: a separate source of held-out test images (same classes), e.g.
            an official test split; `test` must then be 0.
        test_split: the split or subfolder of `test_source` (e.g. "test" for
            `test_source: cifar10`); None: its default.
        attributes: multi-label attributes made from class folders,
            `{attribute: [class names]}`: each image gets the attributes its class is
            listed under (multi-hot labels), e.g. a multi-label stand-in where only
            class folders exist. None: the source's own labels.
    """

    source: str = "cifar10"
    split: str | None = None
    image_size: int | None = None
    max_images: int | None = None
    test: int | float = 0.2
    val: int | float = 0.1
    select_on: str = "val"
    test_source: str | None = None
    test_split: str | None = None
    attributes: dict[str, tuple[str, ...]] | None = None

    @property
    def multi_label(self) -> bool:
        """Whether the labels are multi-hot: `attributes`, or a multi-label catalogue set."""
        from keras_ssl.data import is_multi_label_dataset

        return self.attributes is not None or is_multi_label_dataset(self.source)

    def __post_init__(self):
        checks.check_str(self.source, "data.source")
        if self.attributes is not None:
            attributes = checks.check_mapping(self.attributes, "data.attributes")
            if not attributes:
                raise ConfigError("`data.attributes` is empty; name at least one attribute.")
            object.__setattr__(self, "attributes", {
                str(name): _names(classes, f"data.attributes.{name}", "class")
                for name, classes in attributes.items()
            })  # fmt: skip
        checks.check_str(self.split, "data.split", allow_none=True)
        checks.check_int(self.image_size, "data.image_size", minimum=8, allow_none=True)
        checks.check_int(self.max_images, "data.max_images", minimum=20, allow_none=True)
        checks.check_size(self.test, "data.test")
        checks.check_size(self.val, "data.val")
        checks.check_name(self.select_on, "data.select_on", SELECT_ON)
        checks.check_str(self.test_source, "data.test_source", allow_none=True)
        checks.check_str(self.test_split, "data.test_split", allow_none=True)
        if self.test_split is not None and self.test_source is None:
            raise ConfigError(
                "`data.test_split` chooses the split of `data.test_source`, which is not set."
            )
        if self.test_source is not None and self.test != 0:
            raise ConfigError(
                f"`data.test` is {self.test!r} but `data.test_source` gives the test images; "
                "set data.test=0."
            )


@dataclass(frozen=True)
class DistributionSpec:
    """Where the models train (`keras_ssl.experiments.distribution`).

    Args:
        strategy: "none", "mirrored" (tf.distribute's MirroredStrategy, or JAX's
            DataParallel over all local devices), "multi_worker" or "tpu". Batch sizes
            are global batches; learning rates are used as given.
        sync_batch_norm: BatchNorm on the global batch's statistics across replicas.
        precision: "float32", "mixed_float16" or "mixed_bfloat16" (losses stay float32).
    """

    strategy: str = "none"
    sync_batch_norm: bool = False
    precision: str = "float32"

    def __post_init__(self):
        from keras_ssl.experiments.distribution import PRECISIONS, STRATEGIES

        checks.check_name(self.strategy, "distribution.strategy", STRATEGIES)
        checks.check_name(self.precision, "distribution.precision", PRECISIONS)
        if not isinstance(self.sync_batch_norm, bool):
            raise ConfigError(
                f"`distribution.sync_batch_norm` must be true or false; got {self.sync_batch_norm!r}."
            )


@dataclass(frozen=True)
class EncoderSpec:
    """An encoder of the registry (`keras_ssl.encoders.available()`), or a saved one.

    Args:
        name: the registered builder.
        args: more builder arguments (e.g. `alpha`).
        weights: None (random), a name the builder can load ("imagenet"), a weights
            file, or a saved encoder (`.keras`, which replaces name and args).
        image_size: the side of the images the encoder takes; images are resized
            to it on the device.
    """

    name: str = "mobilenet_v2"
    args: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None
    image_size: int = 96

    def __post_init__(self):
        object.__setattr__(self, "args", checks.check_mapping(self.args, "encoder.args"))
        checks.check_str(self.weights, "encoder.weights", allow_none=True)
        checks.check_int(self.image_size, "encoder.image_size", minimum=8)
        checks.check_encoder(self.name, self.args, self.weights, "encoder")

    @property
    def saved(self) -> bool:
        """Whether the encoder is a saved `.keras` model rather than a builder's."""
        return isinstance(self.weights, str) and self.weights.endswith(".keras")


@dataclass(frozen=True)
class PretrainSpec:
    """Self-supervised pretraining of a variant's encoder.

    Args:
        method: a method of `keras_ssl.pretext.available()`.
        method_args: its constructor arguments (e.g. `temperature` for SimCLR).
        augment: the augmentation preset (`keras_ssl.augment.available()`), or null
            for the method's own default views (BYOL's two asymmetric views, DINO's
            multi-crop, SimCLR's views, ...).
        augment_args: more arguments of the preset (e.g. `crop_scale`).
        epochs: the most epochs.
        batch_size: images per step.
        optimizer: a Keras optimizer name.
        learning_rate: its learning rate.
        patience: stop when the method's validation metric (e.g.
            `val_rotation_accuracy`) has not improved for this many epochs, and keep
            the best epoch's weights; None trains every epoch and keeps the last.
        reduce_lr_patience: halve the learning rate when the validation loss has not
            improved for this many epochs; None keeps it constant.
        schedule: "constant", or "cosine" (the learning rate decays to 0 over
            `epochs`, SimSiam's schedule).
        warmup_epochs: epochs over which the learning rate first rises linearly from
            0 (DINO's and BYOL's warm-up); the schedule follows.
        clipnorm: clip each weight's gradient to this norm (Keras' `clipnorm`; DINO's
            3.0), or None.
        weight_decay: the optimizer's weight decay (Keras applies it decoupled, as
            AdamW does), or None.
        gradient_accumulation_steps: average the gradients of this many batches
            before each update (an effective batch of `batch_size` × steps), or None.
        source: pretrain on the images of this source (a catalogue name such as
            "gaussian_noise" or "stl10", or a folder / `.zip`) instead of the
            experiment's training images; labels, if any, are ignored. None: the
            training images. Validation (for `patience`) stays the experiment's.
        split: the split or subfolder of `source`.
        max_images: a seeded subset of about this many images of `source`.
    """

    method: str = "simclr"
    method_args: dict[str, Any] = field(default_factory=dict)
    augment: str | None = None
    augment_args: dict[str, Any] = field(default_factory=dict)
    epochs: int = 100
    batch_size: int = 256
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    patience: int | None = None
    reduce_lr_patience: int | None = None
    schedule: str = "constant"
    warmup_epochs: int = 0
    clipnorm: float | None = None
    weight_decay: float | None = None
    gradient_accumulation_steps: int | None = None
    source: str | None = None
    split: str | None = None
    max_images: int | None = None

    def __post_init__(self):
        for name in ("method_args", "augment_args"):
            value = checks.check_mapping(getattr(self, name), f"pretrain.{name}")
            object.__setattr__(self, name, value)
        checks.check_method(self.method, self.method_args, "pretrain")
        checks.check_int(self.epochs, "pretrain.epochs")
        checks.check_int(self.batch_size, "pretrain.batch_size", minimum=2)
        checks.check_positive(self.learning_rate, "pretrain.learning_rate")
        checks.check_optimizer(self.optimizer, "pretrain.optimizer")
        checks.check_int(self.patience, "pretrain.patience", minimum=0, allow_none=True)
        checks.check_int(
            self.reduce_lr_patience, "pretrain.reduce_lr_patience", minimum=0, allow_none=True
        )
        checks.check_name(self.schedule, "pretrain.schedule", SCHEDULES)
        checks.check_int(self.warmup_epochs, "pretrain.warmup_epochs", minimum=0)
        if self.warmup_epochs >= self.epochs:
            raise ConfigError(
                f"`pretrain.warmup_epochs` {self.warmup_epochs} leaves none of the "
                f"{self.epochs} epochs after the warm-up; lower it."
            )
        if self.clipnorm is not None:
            checks.check_positive(self.clipnorm, "pretrain.clipnorm")
        if self.weight_decay is not None:
            checks.check_positive(self.weight_decay, "pretrain.weight_decay")
        checks.check_int(
            self.gradient_accumulation_steps, "pretrain.gradient_accumulation_steps",
            minimum=2, allow_none=True,
        )  # fmt: skip
        checks.check_str(self.source, "pretrain.source", allow_none=True)
        checks.check_str(self.split, "pretrain.split", allow_none=True)
        checks.check_int(self.max_images, "pretrain.max_images", minimum=2, allow_none=True)
        if self.source is None and (self.split, self.max_images) != (None, None):
            raise ConfigError(
                "`pretrain.split` / `pretrain.max_images` choose images of `pretrain.source`, "
                "which is not set; set pretrain.source, or use data.split / data.max_images."
            )


@dataclass(frozen=True)
class Variant:
    """One encoder of the experiment: how it is built and how (whether) it is pretrained."""

    name: str
    encoder: EncoderSpec
    pretrain: PretrainSpec | None

    def __post_init__(self):
        if self.pretrain is not None and self.pretrain.augment is not None:
            checks.check_augment(
                self.pretrain.augment, self.encoder.image_size, self.pretrain.augment_args,
                "pretrain",
            )  # fmt: skip


@dataclass(frozen=True)
class Evaluation:
    """One measurement on every variant, at every label fraction.

    Args:
        name: its folder and column name.
        kind: one of `keras_ssl.experiments.evaluations.available()`: "finetune" (a
            recipe on the pretrained encoder), "linear_probe", "baseline" (the same
            architecture trained without pretraining), "knn".
        recipe: the fine-tuning recipe (`keras_ssl.finetune.available_recipes()`);
            None: the kind's default.
        recipe_args: recipe fields to change (e.g. `epochs`, `freeze_first`).
        fractions: label fractions of the training images, each in (0, 1].
        classes: a subset of the data's class names (a downstream task): training,
            validation and test images of the other classes are left out.
        init: for "baseline": "variant" (the variant's initial weights, e.g.
            ImageNet) or "random" (from scratch).
        k: neighbours, for "knn".
        variants: the variants it measures; None: every variant (e.g. a supervised
            baseline trained once, on one variant's architecture).
        reference: the paper's accuracy (%) at each fraction, for the side-by-side
            columns: `{fraction: accuracy}` for every variant, or
            `{variant: {fraction: accuracy}}` where the paper's number depends on the
            variant (e.g. no pretraining vs pretrained, SimSiam 004's Table 1).
        reference_metrics: the paper's other figures, `{variant: {"SPLIT.METRIC":
            value}}` with SPLIT `validation` or `test` and METRIC one of
            `MULTILABEL_METRICS` (fractions, as `keras_ssl.evaluate.multilabel_metrics`
            gives them): the multi-label table puts them beside ours (004's Table 3).
    """

    name: str
    kind: str = "finetune"
    recipe: str | None = None
    recipe_args: dict[str, Any] = field(default_factory=dict)
    fractions: tuple[float, ...] = (1.0,)
    classes: tuple[str, ...] | None = None
    init: str = "variant"
    k: int = 20
    variants: tuple[str, ...] | None = None
    reference: dict = field(default_factory=dict)
    reference_metrics: dict = field(default_factory=dict)

    def __post_init__(self):
        from keras_ssl.experiments import evaluations

        key = f"evaluations.{self.name}"
        checks.check_name(self.kind, f"{key}.kind", evaluations.available())
        object.__setattr__(self, "recipe_args", checks.check_mapping(self.recipe_args, key))
        object.__setattr__(
            self, "fractions", checks.check_fractions(self.fractions, f"{key}.fractions")
        )
        checks.check_name(self.init, f"{key}.init", ("variant", "random"))
        checks.check_int(self.k, f"{key}.k")
        if self.classes is not None:
            classes = _names(self.classes, f"{key}.classes", "class")
            if len(set(classes)) < 2:
                raise ConfigError(
                    f"`{key}.classes` needs at least 2 different classes; got {list(classes)}."
                )
            object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "reference", _reference(self.reference, f"{key}.reference"))
        object.__setattr__(
            self,
            "reference_metrics",
            _reference_metrics(self.reference_metrics, f"{key}.reference_metrics"),
        )
        if self.variants is not None:
            object.__setattr__(
                self, "variants", _names(self.variants, f"{key}.variants", "variant")
            )
        evaluations.get(self.kind).check(self)

    @property
    def references_variants(self) -> bool:
        """Whether `reference` is `{variant: {fraction: accuracy}}` rather than per fraction."""
        return bool(self.reference) and all(isinstance(v, dict) for v in self.reference.values())

    def measures(self, variant: str) -> bool:
        """Whether this evaluation runs on `variant`."""
        return self.variants is None or variant in self.variants

    def reference_for(self, variant: str) -> dict[float, float]:
        """The paper's accuracies (%) by fraction for `variant` (empty where it has none)."""
        if self.references_variants:
            return self.reference.get(variant, {})
        return self.reference

    def resolved_recipe(self):
        """The `keras_ssl.finetune.FinetuneConfig` of this evaluation (None for kNN)."""
        from keras_ssl.experiments import evaluations

        recipe = self.recipe or evaluations.get(self.kind).default_recipe
        if recipe is None:
            return None
        return checks.check_recipe(recipe, self.recipe_args, f"evaluations.{self.name}")


def _names(value, key: str, what: str) -> tuple[str, ...]:
    """A list of names as a tuple of strings, or a `ConfigError` naming `key`."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigError(f"`{key}` must be a list of {what} names; got {value!r}.")
    return tuple(str(name) for name in value)


def _reference(value, key: str) -> dict:
    """`{fraction: accuracy}`, or `{variant: {fraction: accuracy}}`, with float keys and values."""
    content = checks.check_mapping(value, key)
    if content and all(isinstance(v, Mapping) for v in content.values()):
        return {str(variant): _reference(v, f"{key}.{variant}") for variant, v in content.items()}
    try:
        return {float(f): float(a) for f, a in content.items()}
    except (TypeError, ValueError):
        raise ConfigError(
            f"`{key}` must map label fractions to accuracies (%), or variants to such "
            f"mappings; got {value!r}."
        ) from None


MULTILABEL_METRICS = (
    "macro_accuracy", "micro_accuracy", "macro_recall", "micro_recall", "macro_auc", "micro_auc",
)  # fmt: skip


def _reference_metrics(value, key: str) -> dict:
    """`{variant: {"validation.macro_auc": 0.93, ...}}` with checked names and float values."""
    allowed = [
        f"{split}.{metric}" for split in ("validation", "test") for metric in MULTILABEL_METRICS
    ]
    checked = {}
    for variant, figures in checks.check_mapping(value, key).items():
        figures = checks.check_mapping(figures, f"{key}.{variant}")
        for name, number in figures.items():
            if name not in allowed:
                raise ConfigError(
                    f"`{key}.{variant}` has {name!r}; expected names SPLIT.METRIC, one of: "
                    f"{', '.join(allowed)}."
                )
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise ConfigError(f"`{key}.{variant}.{name}` must be a number; got {number!r}.")
        checked[str(variant)] = {name: float(number) for name, number in figures.items()}
    return checked


@dataclass(frozen=True)
class Experiment:
    """A resolved experiment: everything that decides its results.

    Build it with `keras_ssl.experiments.load(name_or_path, profile, assignments)`.
    `get_config()` gives the resolved document (what `config.yaml` in the run
    folder holds); `Experiment.from_config` reads it back.
    """

    name: str
    title: str
    reference: str
    profile: str
    seed: int
    data: DataSpec
    variants: tuple[Variant, ...]
    evaluations: tuple[Evaluation, ...]
    figures: dict[str, Any]
    distribution: DistributionSpec = field(default_factory=DistributionSpec)
    document: dict = field(repr=False, compare=False, default_factory=dict)

    @property
    def figure_files(self) -> list[str]:
        """The figures' file names (without `.png`), in the order they are drawn."""
        names = []
        for kind, value in self.figures.items():
            names += list(value) if kind == "accuracy_bars" else [value]
        return names

    @property
    def selects_on_test(self) -> bool:
        """Whether model selection watches the test images (the Umeå report's protocol)."""
        return self.data.select_on == "test"

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)

    def evaluation(self, name: str) -> Evaluation:
        return next(e for e in self.evaluations if e.name == name)

    def get_config(self) -> dict:
        return copy.deepcopy(self.document)

    @classmethod
    def from_config(cls, document: Mapping) -> Experiment:
        return build(document)


# -- documents: merging, assignments, building -------------------------------------------


# A changed builder, method or preset takes none of the old one's arguments.
_ARGUMENTS_OF = {"name": "args", "method": "method_args", "augment": "augment_args"}


def deep_merge(base: Mapping, changes: Mapping) -> dict:
    """`base` with `changes` merged in, mapping by mapping; other values replace.

    Changing an encoder's `name`, a `method` or an `augment` preset replaces the old
    one's arguments (`args`, `method_args`, `augment_args`) with those `changes` gives,
    or none, instead of merging them.

    Example:

    >>> deep_merge({"data": {"test": 0.2, "val": 0.1}}, {"data": {"val": 0}})
    {'data': {'test': 0.2, 'val': 0}}
    """
    merged = copy.deepcopy(dict(base))
    for key, value in (changes or {}).items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    for key, arguments in _ARGUMENTS_OF.items():
        # Names only (a recipe's `augment: true` is a switch, and has no arguments).
        names = all(isinstance(v, (str, type(None))) for v in (base.get(key), changes.get(key)))
        if key in (changes or {}) and base.get(key) != changes[key] and names:
            merged[arguments] = copy.deepcopy(changes.get(arguments) or {})
    return merged


def assign(document: Mapping, assignments: Sequence[str]) -> dict:
    """Applies `dotted.key=value` assignments (values parsed as YAML) to a document.

    As in `deep_merge`, assigning another `method` (encoder `name`, `augment`) clears
    its arguments: assign new ones after it.

    Example:

    >>> assign({"pretrain": {"epochs": 3}}, ["pretrain.epochs=5"])
    {'pretrain': {'epochs': 5}}
    """
    document = copy.deepcopy(dict(document))
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"Expected KEY=VALUE (e.g. pretrain.epochs=3); got {assignment!r}.")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as error:
            raise ConfigError(f"Cannot parse the value of {assignment!r}: {error}") from None
        parts = key.split(".")
        known = [k for k in TOP_LEVEL if k not in ("profiles", "profile", "default_profile")]
        if parts[0] not in known:
            raise ConfigError(
                f"Unknown key {parts[0]!r} in {assignment!r}; top-level keys: {', '.join(known)}."
            )
        target = document
        for depth, part in enumerate(parts[:-1]):
            if target.get(part) is None:
                target[part] = {}
            if not isinstance(target[part], dict):
                raise ConfigError(
                    f"`{'.'.join(parts[: depth + 1])}` is not a mapping; cannot set {key!r}."
                )
            target = target[part]
        arguments = _ARGUMENTS_OF.get(parts[-1])
        if arguments and target.get(parts[-1]) != value:  # as in `deep_merge`
            target[arguments] = {}
        target[parts[-1]] = value
    return document


def resolve(document: Mapping, profile: str | None = None, assignments: Sequence[str] = ()):
    """An `Experiment` from an experiment file's content, a profile and assignments.

    Args:
        document: the file's content (`profiles` included).
        profile: a key of `document["profiles"]`; None: its `default_profile`, or
            none.
        assignments: `key=value` changes applied last (see `assign`).

    Returns:
        The validated `Experiment`.

    Raises:
        ConfigError: for an unknown profile or key, or a bad value.
    """
    document = dict(checks.check_keys(document, TOP_LEVEL, "the experiment"))
    profiles = checks.check_mapping(document.pop("profiles", None), "profiles")
    default = document.pop("default_profile", None)
    document.pop("profile", None)
    profile = profile or default
    if profile is not None:
        if profile not in profiles:
            known = ", ".join(profiles) or "none (the file defines no profiles)"
            raise ConfigError(f"Unknown profile {profile!r} (`profile`); expected one of: {known}.")
        document = deep_merge(document, profiles[profile] or {})
    document = assign(document, assignments)
    document["profile"] = profile or "custom"
    return build(document)


def build(document: Mapping) -> Experiment:
    """An `Experiment` from a resolved document (no profiles): checks every key."""
    top = [k for k in TOP_LEVEL if k not in ("profiles", "default_profile")]
    document = checks.check_keys(document, top, "the experiment")
    checks.check_str(document.get("name"), "name")
    seed = document.get("seed", 0)
    checks.check_int(seed, "seed", minimum=0)
    data = DataSpec(**checks.check_keys(document.get("data"), _keys(DataSpec), "data"))
    distribution = DistributionSpec(
        **checks.check_keys(document.get("distribution"), _keys(DistributionSpec), "distribution")
    )
    variants = _variants(document)
    evaluations = _evaluations(document.get("evaluations"))
    _check_variant_names(evaluations, document.get("variants") or {"main": {}})
    if evaluations:
        checks.check_selection(data.select_on, data.val)
        for evaluation in evaluations:
            checks.check_label_kind(evaluation, data.multi_label)
        if data.test == 0 and data.test_source is None:
            raise ConfigError(
                "`data.test` is 0: evaluations are measured on held-out test images; give a "
                "count (e.g. 10000), a fraction (e.g. 0.2) or data.test_source."
            )
    # A profile may remove an evaluation a bar figure names (it is then left out of it).
    declared = [str(name) for name in checks.check_mapping(document.get("evaluations"), "")]
    figures = _figures(document.get("figures"), declared)
    return Experiment(
        name=document["name"],
        title=str(document.get("title") or ""),
        reference=str(document.get("reference") or ""),
        profile=str(document.get("profile", "custom")),
        seed=seed,
        data=data,
        variants=variants,
        evaluations=evaluations,
        figures=figures,
        distribution=distribution,
        document=copy.deepcopy(dict(document)),
    )


def _variants(document: Mapping) -> tuple[Variant, ...]:
    encoder = checks.check_keys(document.get("encoder"), _keys(EncoderSpec), "encoder")
    pretrain = document.get("pretrain")
    if pretrain is not None:
        pretrain = checks.check_keys(pretrain, _keys(PretrainSpec), "pretrain")
    content = checks.check_mapping(document.get("variants"), "variants") or {"main": {}}
    variants = []
    for name, changes in content.items():
        if changes is None:  # removed by a profile
            continue
        where = f"variants.{name}"
        changes = checks.check_keys(changes, ["encoder", "pretrain"], where)
        checks.check_keys(changes.get("encoder"), _keys(EncoderSpec), f"{where}.encoder")
        if changes.get("pretrain") is not None:
            checks.check_keys(changes["pretrain"], _keys(PretrainSpec), f"{where}.pretrain")
        spec = deep_merge({"encoder": encoder, "pretrain": pretrain}, changes)
        variant_pretrain = None if spec["pretrain"] is None else PretrainSpec(**spec["pretrain"])
        variants.append(Variant(str(name), EncoderSpec(**spec["encoder"]), variant_pretrain))
    if not variants:
        raise ConfigError("`variants` removes every variant: keep at least one.")
    return tuple(variants)


def _figures(content, evaluation_names: Sequence[str]) -> dict:
    """`{kind: file name}`; `accuracy_bars` maps file names to the evaluations compared."""
    figures = checks.check_mapping(content, "figures")
    for kind, value in figures.items():
        if kind not in FIGURE_KINDS:
            raise ConfigError(
                f"Unknown figure kind {kind!r} in `figures`; expected: {', '.join(FIGURE_KINDS)}."
            )
        if kind != "accuracy_bars":
            checks.check_str(value, f"figures.{kind}")
            continue
        groups = {}
        for name, evaluations in checks.check_mapping(value, "figures.accuracy_bars").items():
            key = f"figures.accuracy_bars.{name}"
            groups[str(name)] = list(_names(evaluations, key, "evaluation"))
            unknown = [e for e in groups[str(name)] if e not in evaluation_names]
            if unknown:
                raise ConfigError(
                    f"`{key}` names evaluations {unknown} that the experiment lacks; its "
                    f"evaluations: {', '.join(evaluation_names)}."
                )
        figures[kind] = groups
    return figures


def _check_variant_names(evaluations, declared: Mapping) -> None:
    """Evaluations name variants of the file; a profile may have removed some."""
    for evaluation in evaluations:
        named = {"variants": evaluation.variants or ()}
        if evaluation.references_variants:
            named["reference"] = tuple(evaluation.reference)
        if evaluation.reference_metrics:
            named["reference_metrics"] = tuple(evaluation.reference_metrics)
        for key, names in named.items():
            unknown = [name for name in names if name not in declared]
            if unknown:
                raise ConfigError(
                    f"`evaluations.{evaluation.name}.{key}` names variants {unknown} that the "
                    f"experiment lacks; its variants: {', '.join(map(str, declared))}."
                )


def _evaluations(content) -> tuple[Evaluation, ...]:
    content = checks.check_mapping(content, "evaluations")
    evaluations = []
    for name, spec in content.items():
        if spec is None:  # removed by a profile
            continue
        keys = [k for k in _keys(Evaluation) if k != "name"]
        evaluations.append(
            Evaluation(name=str(name), **checks.check_keys(spec, keys, f"evaluations.{name}"))
        )
    return tuple(evaluations)


# -- YAML ------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block-style sections, lists on one line: `fractions: [0.01, 0.05, ...]`."""


_Dumper.add_representer(
    list, lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", value, True)
)
_Dumper.add_representer(
    tuple, lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", value, True)
)


def dump_yaml(content: Mapping) -> str:
    """Nested dicts as YAML text, keys in their order, lists on one line."""
    return yaml.dump(
        dict(content), Dumper=_Dumper, sort_keys=False, default_flow_style=False,
        allow_unicode=True, width=100,
    )  # fmt: skip
