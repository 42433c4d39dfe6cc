"""The experiment schema: an experiment YAML file as a typed model (`Experiment`).

`resolve` merges a profile and `key=value` changes into the document, validates it
and returns the `Experiment` the runner takes, every variant's settings filled in;
a bad key or value raises `ConfigError` naming the dotted key and what is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import pydantic
from pydantic import ConfigDict, Field, PrivateAttr, Strict, field_validator, model_validator

from keras_ssl import config
from keras_ssl.config import (
    Arguments,
    Config,
    ConfigError,
    FileName,
    Name,
    PositiveInt,
    Seed,
    check_choice,
    error_message,
)
from keras_ssl.data.config import DataConfig as DataSpec
from keras_ssl.distribution import DistributionConfig as DistributionSpec
from keras_ssl.encoders.config import EncoderConfig as EncoderSpec
from keras_ssl.pretext.config import MethodConfig
from keras_ssl.pretext.training import PretrainConfig

MULTILABEL_METRICS = (
    "macro_accuracy", "micro_accuracy", "macro_recall", "micro_recall", "macro_auc", "micro_auc",
)  # fmt: skip
_SPLIT_METRICS = tuple(f"{s}.{m}" for s in ("validation", "test") for m in MULTILABEL_METRICS)


class PretrainSpec(PretrainConfig, MethodConfig):
    """Self-supervised pretraining of a variant's encoder: its method, training and images.

    The method keys (method, method_args, augment, augment_args) are those of
    `keras_ssl.pretext.MethodConfig`; the training keys (epochs, batch size,
    optimizer, schedule, ...) those of `keras_ssl.pretext.PretrainConfig`.

    Args:
        source: pretrain on the images of this source (a catalogue name such as
            "gaussian_noise" or "stl10", or a folder / `.zip`) instead of the
            experiment's training images; labels, if any, are ignored. None: the
            training images. Validation (for `patience`) stays the experiment's.
        split: the split or subfolder of `source`.
        max_images: a seeded subset of about this many images of `source`.
    """

    source: Name | None = None
    split: Name | None = None
    max_images: Annotated[int, Strict(), Field(ge=2)] | None = None

    @model_validator(mode="after")
    def _source(self):
        if self.source is None and (self.split, self.max_images) != (None, None):
            raise ValueError(
                "`{key}.split` / `{key}.max_images` choose images of `{key}.source`, which is "
                "not set; set pretrain.source, or use data.split / data.max_images."
            )
        return self


def _distinct(values, what: str):
    duplicates = sorted({v for v in values if list(values).count(v) > 1})
    if duplicates:
        raise ValueError(f"`{{key}}` has duplicate {what}: {duplicates}.")
    return values


Fraction = Annotated[float, Strict(), Field(gt=0, le=1)]
Accuracies = dict[float, float]


class Evaluation(Config):
    """One measurement on every variant, at every label fraction.

    Args:
        kind: one of `keras_ssl.evaluate.protocols.available()`: "finetune" (a
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
        variants: the variants it measures; None: every variant.
        reference: the paper's accuracy (%) at each fraction, `{fraction: accuracy}`,
            or `{variant: {fraction: accuracy}}` where it depends on the variant.
        reference_metrics: the paper's multi-label figures, `{variant:
            {"SPLIT.METRIC": value}}` with SPLIT `validation` or `test` and METRIC one
            of `MULTILABEL_METRICS` (fractions, as
            `keras_ssl.evaluate.multilabel_metrics` gives them).
    """

    name: str = Field("", exclude=True)
    kind: Name = "finetune"
    recipe: Name | None = None
    recipe_args: Arguments = {}
    fractions: Annotated[tuple[Fraction, ...], Field(min_length=1)] = (1.0,)
    classes: Annotated[tuple[str, ...], Field(min_length=2)] | None = None
    init: Literal["variant", "random"] = "variant"
    k: PositiveInt = 20
    variants: tuple[str, ...] | None = None
    reference: dict[float | str, float | Accuracies] = {}
    reference_metrics: dict[str, dict[Literal[_SPLIT_METRICS], float]] = {}
    _recipe: Any = PrivateAttr(None)

    @field_validator("fractions", mode="before")
    @classmethod
    def _percentages(cls, fractions):
        for value in fractions if isinstance(fractions, (list, tuple)) else ():
            if isinstance(value, (int, float)) and 1 < value <= 100:
                raise ValueError(
                    f"`{{key}}`: every fraction must be a number in (0, 1]; got {value!r} "
                    "(percentages? 10 % is 0.1)."
                )
        return fractions

    @field_validator("fractions")
    @classmethod
    def _sorted(cls, fractions):
        return tuple(sorted(_distinct(fractions, "fractions")))

    @field_validator("classes")
    @classmethod
    def _classes(cls, classes):
        return classes if classes is None else _distinct(classes, "classes")

    @model_validator(mode="after")
    def _kind_and_recipe(self):
        from keras_ssl.evaluate import protocols as evaluations

        check_choice(self.kind, evaluations.available(), "kind")
        recipe = self.recipe or evaluations.get(self.kind).default_recipe
        if recipe is not None:
            self._recipe = _recipe(recipe, self.recipe_args)
        evaluations.get(self.kind).check(self)
        return self

    @field_validator("reference")
    @classmethod
    def _one_form(cls, reference):
        per_variant = {isinstance(v, dict) for v in reference.values()}
        if len(per_variant) > 1:
            raise ValueError(
                "`{key}` mixes the two forms: give `{fraction: accuracy}`, or "
                "`{variant: {fraction: accuracy}}` for every variant."
            )
        return reference

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
        return self._recipe

    def named_variants(self) -> dict[str, tuple[str, ...]]:
        """The variant names this evaluation's settings mention, by setting."""
        named = {"variants": self.variants or ()}
        if self.references_variants:
            named["reference"] = tuple(self.reference)
        if self.reference_metrics:
            named["reference_metrics"] = tuple(self.reference_metrics)
        return named


def _recipe(name: str, args: dict):
    from keras_ssl.finetune import available_recipes, get_recipe

    check_choice(name, available_recipes(), "recipe")
    try:
        return get_recipe(name, **args)
    except (ValueError, TypeError) as error:
        raise ValueError(f"`{{key}}.recipe_args` for recipe {name!r}: {error}") from None


class VariantChanges(Config):
    """How a variant differs from the file's `encoder` and `pretrain` (merged into them).

    Args:
        encoder: encoder keys to change.
        pretrain: pretraining keys to change; null: no pretraining.
    """

    encoder: Arguments = {}
    pretrain: dict[str, Any] | None = {}


@dataclasses.dataclass(frozen=True)
class Variant:
    """One encoder of the experiment: how it is built and how (whether) it is pretrained."""

    name: str
    encoder: EncoderSpec
    pretrain: PretrainSpec | None


class Figures(Config):
    """The report's figures: each kind's file name (without `.png`), or null for none.

    Args:
        views: augmented views of a few training images.
        pretext_curves: the pretext loss (and accuracy) per epoch of every variant.
        training_curves: fine-tuning accuracy and loss per epoch.
        top3_curves: top-3 accuracy per epoch.
        loss_curves: fine-tuning loss per epoch.
        label_efficiency: accuracy against the label fraction, ours beside the paper's.
        confusion_matrix: the confusion matrices of the held-out images.
        accuracy_bars: `{file name: [evaluations]}`, a bar per variant and evaluation.
    """

    views: Name | None = None
    pretext_curves: Name | None = None
    training_curves: Name | None = None
    top3_curves: Name | None = None
    loss_curves: Name | None = None
    label_efficiency: Name | None = None
    confusion_matrix: Name | None = None
    accuracy_bars: dict[str, tuple[str, ...]] = {}


class Experiment(Config):
    """An experiment: an experiment file's document, its profile and changes merged in.

    Build it with `keras_ssl.experiments.load(name_or_path, profile, assignments)`.
    `variants` and `evaluations` are the resolved ones (each variant's changes merged
    into `encoder` and `pretrain`); `get_config()` gives the document, as `config.yaml`
    in the run folder holds it, and `Experiment.from_config` reads it back.

    Args:
        name: the experiment's name (folder names, tables).
        title: one line on what it reproduces.
        reference: where the paper's numbers come from (table, page).
        profile: the profile merged in ("custom" for none).
        seed: seed of splits, weights, views and data order.
        data: the images and their split (`DataConfig`).
        encoder: the `EncoderConfig` keys every variant starts from.
        pretrain: the `PretrainSpec` keys every variant starts from, or null for no
            pretraining.
        variants: `{name: changes}` of `encoder` and `pretrain` per variant
            (`VariantChanges`); a null variant is removed (by a profile).
        evaluations: `{name: Evaluation}`, what is measured on every variant; a null
            evaluation is removed.
        figures: the report's figures (`Figures`).
        distribution: devices and precision (`DistributionConfig`).
        profiles: named overrides of the keys above (merged before validation).
        default_profile: the profile used when none is named.
    """

    model_config = ConfigDict(title="the experiment")

    name: FileName
    title: str = ""
    reference: str = ""
    profile: str = "custom"
    seed: Seed = 0
    data: DataSpec = DataSpec()
    encoder: Arguments = {}
    pretrain: dict[str, Any] | None = None
    variant_changes: dict[str, VariantChanges | None] = Field(
        {"main": VariantChanges()}, alias="variants"
    )
    evaluation_settings: dict[str, Evaluation | None] = Field({}, alias="evaluations")
    figure_settings: Figures = Field(Figures(), alias="figures")
    distribution: DistributionSpec = DistributionSpec()
    profiles: dict[str, Any] = {}
    default_profile: str | None = None
    _variants: tuple = PrivateAttr(())
    _document: dict = PrivateAttr(None)

    @field_validator("evaluation_settings", mode="before")
    @classmethod
    def _named(cls, evaluations):
        if not isinstance(evaluations, Mapping):
            return evaluations
        return {
            str(k): {**v, "name": str(k)} if isinstance(v, Mapping) else v
            for k, v in evaluations.items()
        }

    @model_validator(mode="after")
    def _consistent(self):
        if self.profiles or self.default_profile:
            raise ValueError("A resolved experiment holds no `profiles`; use `resolve`.")
        declared = list(self.variant_changes)
        for evaluation in self.evaluations:
            for key, names in evaluation.named_variants().items():
                unknown = [n for n in names if n not in declared]
                if unknown:
                    raise ValueError(
                        f"`evaluations.{evaluation.name}.{key}` names variants {unknown} that "
                        f"the experiment lacks; its variants: {', '.join(declared)}."
                    )
        for name, evaluations in self.figure_settings.accuracy_bars.items():
            unknown = [e for e in evaluations if e not in self.evaluation_settings]
            if unknown:
                raise ValueError(
                    f"`figures.accuracy_bars.{name}` names evaluations {unknown} that the "
                    f"experiment lacks; its evaluations: {', '.join(self.evaluation_settings)}."
                )
        if self.evaluations:
            _check_evaluated_data(self.data, self.evaluations)
        return self

    @property
    def variants(self) -> tuple[Variant, ...]:
        """The variants, each with its `encoder` and `pretrain` settings filled in."""
        return self._variants

    @property
    def evaluations(self) -> tuple[Evaluation, ...]:
        return tuple(e for e in self.evaluation_settings.values() if e is not None)

    @property
    def figures(self) -> dict:
        """`{kind: file name}` of the figures, in the file's order (`accuracy_bars`:
        `{file: [evaluations]}`)."""
        given = self.figure_settings.model_dump(mode="json", exclude_defaults=True)
        return {kind: given[kind] for kind in self._document.get("figures") or {} if kind in given}

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
        return copy.deepcopy(self._document)

    @classmethod
    def from_config(cls, document: Mapping) -> Experiment:
        return build(document)


def _check_evaluated_data(data: DataSpec, evaluations: Sequence[Evaluation]) -> None:
    """What evaluations ask of the data: selection images, test images, the label kind."""
    if data.select_on == "val" and data.val == 0:
        raise ValueError(
            "`data.select_on` is 'val' but `data.val` is 0: carve a validation split from the "
            "training images (e.g. data.val=0.1), or select on the test images as the Umeå "
            "report did with data.select_on=test (optimistic accuracies)."
        )
    if data.select_on == "test" and data.val != 0:
        raise ValueError(
            f"`data.select_on` is 'test' (the Umeå report's protocol) but `data.val` is "
            f"{data.val!r}: those images would be taken from training and never used; set "
            "data.val=0."
        )
    if data.test == 0 and data.test_source is None:
        raise ValueError(
            "`data.test` is 0: evaluations are measured on held-out test images; give a "
            "count (e.g. 10000), a fraction (e.g. 0.2) or data.test_source."
        )
    for evaluation in evaluations:
        check_label_kind(evaluation, data.multi_label)


def check_label_kind(evaluation: Evaluation, multi_label: bool) -> None:
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


# -- documents: merging, assignments, building -------------------------------------------

# A changed builder, method or preset takes none of the old one's arguments.
_ARGUMENTS_OF = {"name": "args", "method": "method_args", "augment": "augment_args"}


def deep_merge(base: Mapping, changes: Mapping) -> dict:
    """`keras_ssl.config.deep_merge`: a changed builder, method or preset drops its arguments.

    Example:

    >>> deep_merge({"pretrain": {"method": "simclr", "method_args": {"temperature": 0.5}}},
    ...            {"pretrain": {"method": "byol"}})
    {'pretrain': {'method': 'byol', 'method_args': {}}}
    """
    return config.deep_merge(base, changes, _ARGUMENTS_OF)


def assign(document: Mapping, assignments: Sequence[str] = (), values: Mapping = {}) -> dict:
    """A copy of `document` with `key=value` texts (values as YAML), then `values`, set.

    As in `deep_merge`, setting another `method` (encoder `name`, `augment`) clears its
    arguments: set new ones after it.

    Example:

    >>> assign({"pretrain": {"epochs": 3}}, ["pretrain.epochs=5"])
    {'pretrain': {'epochs': 5}}
    """
    document = copy.deepcopy(dict(document))
    changes = [config.parse_assignment(text) for text in assignments] + list(values.items())
    for key, value in changes:
        config.set_value(document, key, value, _ARGUMENTS_OF)
    return document


def resolve(
    document: Mapping,
    profile: str | None = None,
    assignments: Sequence[str] = (),
    values: Mapping[str, Any] | None = None,
) -> Experiment:
    """An `Experiment` from an experiment file's content, a profile and changes.

    Args:
        document: the file's content (`profiles` included).
        profile: a key of `document["profiles"]`; None: its `default_profile`, or
            none.
        assignments: `key=value` texts applied after the profile (see `assign`).
        values: `{dotted key: value}` applied last, e.g. the `keras-ssl` command's
            options.

    Returns:
        The validated `Experiment`.

    Raises:
        ConfigError: for an unknown profile or key, or a bad value.
    """
    if not isinstance(document, Mapping):
        raise ConfigError(
            f"An experiment must be a mapping of keys (name, data, ...); got {document!r}."
        )
    document = dict(document)
    profiles = document.pop("profiles", None) or {}
    profile = profile or document.pop("default_profile", None)
    document.pop("default_profile", None)
    if profile is not None:
        if profile not in profiles:
            known = ", ".join(profiles) or "none (the file defines no profiles)"
            raise ConfigError(f"Unknown profile {profile!r} (`profile`); expected one of: {known}.")
        document = deep_merge(document, profiles[profile] or {})
    document = assign(document, assignments, values or {})
    document["profile"] = profile or "custom"
    return build(document)


def build(document: Mapping) -> Experiment:
    """An `Experiment` from a resolved document (no profiles): checks every key."""
    experiment = Experiment.validate_at(document, "")
    experiment._variants = tuple(
        _variant(experiment, name, changes)
        for name, changes in experiment.variant_changes.items()
        if changes is not None
    )
    if not experiment.variants:
        raise ConfigError("`variants` removes every variant: keep at least one.")
    for variant in experiment.variants:
        spec = variant.pretrain
        watches = spec and (spec.patience, spec.reduce_lr_patience) != (None, None)
        if watches and not experiment.data.val:
            raise ConfigError(
                f"`variants.{variant.name}.pretrain.patience` / `reduce_lr_patience` watch the "
                "validation images, but `data.val` is 0; give data.val or set them to null."
            )
    experiment._document = copy.deepcopy(dict(document))
    return experiment


def _variant(experiment: Experiment, name: str, changes: VariantChanges) -> Variant:
    """A variant's specs: its changes merged into the file's `encoder` and `pretrain`."""
    encoder = _merged(EncoderSpec, experiment.encoder, name, "encoder", changes.encoder)
    pretrain = None
    if experiment.pretrain is not None and changes.pretrain is not None:
        pretrain = _merged(PretrainSpec, experiment.pretrain, name, "pretrain", changes.pretrain)
    return Variant(name, encoder, pretrain)


def _merged(model, base: Mapping, variant: str, section: str, changes: Mapping):
    """`model` of a variant's section; an error names the key where the value is written."""
    try:
        return model.model_validate(deep_merge(base, changes))
    except pydantic.ValidationError as error:
        loc = error.errors()[0]["loc"]
        changed = loc[0] in changes if loc else bool(changes)
        where = f"variants.{variant}.{section}" if changed else section
        raise ConfigError(error_message(error, model, where)) from None
