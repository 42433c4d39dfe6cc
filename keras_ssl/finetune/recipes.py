"""Fine-tuning recipes: what to freeze, how to optimise and when to stop, as data.

A recipe is a frozen `FinetuneConfig` (a `keras_ssl.config.Config`); the named presets
(`RECIPES`, a `keras_ssl.registry.Registry`) reproduce the Umeå report
(`000`, §2.4.2 and §2.5) and the usual SSL evaluation protocols. `get_recipe(name,
**overrides)` returns a preset with some fields changed, `available_recipes()` lists
the names. `keras_ssl.finetune.finetune` takes either.

| preset | encoder | head | optimiser | stops |
| --- | --- | --- | --- | --- |
| `umea` | first 100 layers frozen | Dropout 0.5 + softmax | Adam 1e-4, ≤ 50 epochs | val acc., patience 4 |
| `linear_probe` | all frozen, features cached | softmax | Adam 1e-2, ≤ 100 epochs | val acc., patience 10 |
| `full` | all trainable | Dropout 0.5 + softmax | Adam 1e-4, ≤ 50 epochs | val acc., patience 4 |
| `supervised` | all trainable, re-initialised | Dropout 0.5 + softmax | Adam 1e-4, ≤ 50 epochs | val acc., patience 4 |
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict, ValidationError, ValidationInfo, WrapValidator, field_validator

from keras_ssl.config import (
    Config,
    ConfigError,
    Count,
    Name,
    OptimizerName,
    PositiveFloat,
    PositiveInt,
)
from keras_ssl.finetune.models import FREEZE_ALL, FREEZE_FORMS
from keras_ssl.registry import Registry


def _freeze_forms(value, handler):
    """The forms `freeze_first` takes, in words, instead of pydantic's three union branches."""
    try:
        return handler(value)
    except ValidationError:
        raise ValueError(
            FREEZE_FORMS.replace("freeze_first", "{key}") + f"; got {value!r}."
        ) from None


Fraction = Annotated[float, Strict(), Field(ge=0, le=1)]
# An int counts layers, a float is a fraction of them (a YAML `1.0` is every layer,
# `1` one layer), a string names a freeze point of the encoder (checked when it is known).
FreezeFirst = Annotated[Count | Fraction | Name, WrapValidator(_freeze_forms)]
Flag = Annotated[bool, Strict()]


class FinetuneConfig(Config):
    """How to fine-tune an encoder into a classifier.

    Args:
        name: a label for tables and logs.
        optimizer: a Keras optimizer name ("adam", "adamw", "sgd", "rmsprop", ...).
        learning_rate: the initial learning rate.
        weight_decay: the optimizer's weight decay (decoupled, as Keras applies it),
            or None.
        epochs: the most epochs to train.
        batch_size: batch size for NumPy inputs (datasets come batched).
        freeze_first: encoder layers to freeze, counted as `keras_ssl.finetune.freeze_first`
            does: a number of layers, a fraction of them (a float in [0, 1]), a
            freeze-point name of the encoder's registry entry (e.g. "block_12" for
            `mobilenet_v2`), or "all" (the whole encoder: a linear probe); see
            `keras_ssl.finetune.resolve_freeze`. 0, the default, trains everything;
            the "umea" preset freezes the report's 100 MobileNetV2 layers.
        dropout: dropout rate before the output layer, in [0, 1).
        hidden_dims: widths of hidden Dense ReLU layers between the encoder's features
            and the output (e.g. `[128]`, the rotation report's head; a list or a
            tuple, kept as a tuple); () for none.
        monitor: the validation quantity early stopping and the learning-rate schedule
            watch, e.g. "val_accuracy", "val_loss", "val_auc" (multi-label).
        patience: epochs without improvement before stopping; None trains all `epochs`.
        min_steps_per_epoch: with array inputs, an epoch is at least this many steps:
            a label set smaller than `min_steps_per_epoch * batch_size` is repeated
            (reshuffled every pass) to fill the epoch, so that validation, early
            stopping and the learning-rate schedule act every so many steps rather
            than every 1-2 steps at 1 % of the labels. None (the default) keeps one
            pass over the data per epoch. Datasets are used as given.
        restore_best_weights: return the weights of the best epoch of `monitor`, not
            the last (with or without early stopping).
        reduce_lr_factor: factor the learning rate is multiplied by on a plateau of
            `monitor`, in (0, 1); None keeps it constant.
        reduce_lr_patience: epochs without improvement before reducing it.
        min_lr: the learning rate is never reduced below this.
        augment: random horizontal flips and translations of the training images.
        multi_label: sigmoid outputs and binary cross-entropy on multi-hot labels
            (CelebA-style attributes) instead of softmax on class ids.
        cache_features: with `freeze_first="all"` and no augmentation, embed the
            images once and train the head on the cached features (much faster).
        standardize_features: with `cache_features`, train the head on features
            standardised with the training set's mean and standard deviation, then
            fold the standardisation into the head's weights (the returned model is
            unchanged in form). Conditions the problem: raw encoder features can be
            orders of magnitude apart in scale.
        reinitialize: start from a freshly initialised copy of the encoder's
            architecture instead of its weights (the supervised baseline).

    Raises:
        ConfigError: (a `ValueError`) for an unknown field or a bad value, naming
            the field.

    Example:

    >>> config = FinetuneConfig(learning_rate=3e-4, freeze_first=0)
    >>> config.replace(epochs=5).epochs
    5
    """

    name: Name = "custom"
    optimizer: OptimizerName = "adam"
    learning_rate: PositiveFloat = 1e-4
    weight_decay: PositiveFloat | None = None
    epochs: PositiveInt = 50
    batch_size: PositiveInt = 64
    freeze_first: FreezeFirst = 0
    dropout: Annotated[float, Strict(), Field(ge=0, lt=1)] = 0.5
    hidden_dims: tuple[PositiveInt, ...] = ()
    monitor: Name = "val_accuracy"
    patience: Count | None = 4
    min_steps_per_epoch: PositiveInt | None = None
    restore_best_weights: Flag = True
    reduce_lr_factor: Annotated[float, Strict(), Field(gt=0, lt=1)] | None = 0.5
    reduce_lr_patience: Count = 2
    min_lr: Annotated[float, Strict(), Field(ge=0)] = 1e-6
    augment: Flag = False
    multi_label: Flag = False
    cache_features: Flag = False
    standardize_features: Flag = False
    reinitialize: Flag = False

    def __init__(self, **fields):
        # Checked here, not by pydantic, so that the message says "recipe field" for
        # `get_recipe(name, **overrides)` and the experiments' `recipe_args`.
        known = sorted(type(self).model_fields)
        unknown = sorted(set(fields) - set(known))
        if unknown:
            raise ConfigError(
                f"Unknown recipe field(s) {unknown}; FinetuneConfig fields are: {known}."
            )
        super().__init__(**fields)

    __init__.__pydantic_base_init__ = True  # see `Config.__init__`

    @field_validator("monitor")
    @classmethod
    def _validation_metric(cls, monitor: str) -> str:
        if not monitor.startswith("val_"):
            raise ValueError(
                "`{key}` must name a validation metric such as 'val_accuracy' or "
                f"'val_loss'; got {monitor!r}."
            )
        return monitor

    # The rules across fields are checked on the later field, which sees the earlier
    # ones in `info.data` (fields are validated in the order they are declared).
    @field_validator("cache_features")
    @classmethod
    def _cacheable(cls, cache: bool, info: ValidationInfo) -> bool:
        freeze, augment = info.data.get("freeze_first"), info.data.get("augment")
        if cache and (freeze != FREEZE_ALL or augment):
            raise ValueError(
                "`{key}=True` needs `freeze_first='all'` and `augment=False`: "
                "features can be cached only when the encoder is frozen and every epoch "
                f"sees the same images; got freeze_first={freeze!r}, augment={augment!r}."
            )
        return cache

    @field_validator("standardize_features")
    @classmethod
    def _cached(cls, standardize: bool, info: ValidationInfo) -> bool:
        if standardize and not info.data.get("cache_features"):
            raise ValueError(
                "`{key}=True` needs `cache_features=True` (the statistics come from the "
                "cached training features)."
            )
        return standardize

    @field_validator("reinitialize")
    @classmethod
    def _from_scratch(cls, reinitialize: bool, info: ValidationInfo) -> bool:
        freeze = info.data.get("freeze_first")
        if reinitialize and freeze not in (0, FREEZE_ALL):
            # A frozen random encoder is a known baseline (random features); freezing
            # part of a re-initialised encoder is almost always a mistake.
            raise ValueError(
                "`{key}=True` trains from scratch: use `freeze_first=0` (the supervised "
                f"baseline); got freeze_first={freeze!r}."
            )
        return reinitialize

    @property
    def freezes_encoder(self) -> bool:
        """Whether the whole encoder is frozen (a linear probe)."""
        return self.freeze_first == FREEZE_ALL


# Umeå §2.4.2: first 100 MobileNetV2 layers frozen, Dropout 0.5 + softmax, Adam 1e-4,
# up to 50 epochs, early stopping on validation accuracy with patience 4, "a reduced
# learning rate when validation accuracy plateaued". The report gives neither the
# reduction factor nor its patience, nor the fine-tuning batch size: factor 0.5 after
# 2 epochs (half the early-stopping patience, so it acts before training stops) and
# batch size 64 are our choices.
_UMEA = FinetuneConfig(name="umea", freeze_first=100)

RECIPES = Registry(
    "recipe",
    unknown="Unknown recipe {name}. Available recipes: {names}, or pass a "
    "`keras_ssl.finetune.FinetuneConfig`.",
)
RECIPES.register(
    "umea", _UMEA, description="Umeå §2.4.2: first 100 layers frozen, Dropout 0.5, Adam 1e-4."
)
# The SSL linear-evaluation protocol: frozen encoder (inference-mode BatchNorm),
# one Dense softmax layer trained on standardised features computed once (like
# the parameter-free BatchNorm before the linear layer in MAE's linear probe).
RECIPES.register(
    "linear_probe",
    FinetuneConfig(
        name="linear_probe",
        # Logistic regression on standardised features tolerates (and, within a few
        # hundred steps, needs) a larger rate. Random small_cnn features of 1,500
        # CIFAR images, 30 epochs: 1e-3 reached 19% validation accuracy, 1e-2 33%,
        # scikit-learn's LogisticRegression 38%.
        learning_rate=1e-2,
        epochs=100,
        batch_size=256,
        freeze_first=FREEZE_ALL,
        dropout=0.0,
        patience=10,
        reduce_lr_patience=5,
        cache_features=True,
        standardize_features=True,
    ),
    description="A softmax layer on the frozen encoder's cached, standardised features.",
)
# Transfer by fine-tuning every layer (002 compares it with frozen transfer).
RECIPES.register(
    "full",
    _UMEA.replace(name="full", freeze_first=0),
    description="Every layer trainable, otherwise as umea.",
)
# Umeå §2.5: the same architecture trained with all layers trainable, "similarly"
# to the fine-tuning, starting from no pretrained encoder weights. For ImageNet
# initialisation pass an encoder builder to `supervised_baseline`.
RECIPES.register(
    "supervised",
    _UMEA.replace(name="supervised", freeze_first=0, reinitialize=True),
    description="Umeå §2.5: as full, from a re-initialised encoder (the supervised baseline).",
)


def available_recipes() -> list[str]:
    """Names of the preset recipes, sorted."""
    return RECIPES.available()


def get_recipe(recipe: str | FinetuneConfig = "full", **overrides) -> FinetuneConfig:
    """A preset recipe (or a given config) with some fields changed.

    Args:
        recipe: a name from `available_recipes()`, or a `FinetuneConfig`.
        **overrides: `FinetuneConfig` fields to change, e.g. `epochs=10`.

    Returns:
        The `FinetuneConfig`.

    Raises:
        ConfigError: (a `ValueError`) for an unknown recipe name or field, or an
            invalid value.

    Example:

    >>> get_recipe("umea", freeze_first=4, epochs=3).freeze_first
    4
    """
    config = recipe if isinstance(recipe, FinetuneConfig) else RECIPES.get(recipe)
    return config.replace(**overrides) if overrides else config
