"""Fine-tuning recipes: what to freeze, how to optimise and when to stop, as data.

A recipe is a frozen `FinetuneConfig`; the named presets reproduce the Umeå report
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

import dataclasses
from dataclasses import dataclass

import keras

from keras_ssl.finetune.models import FREEZE_ALL, FREEZE_FORMS


@dataclass(frozen=True)
class FinetuneConfig:
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
            and the output (e.g. `[128]`, the rotation report's head); () for none.
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

    Example:

    >>> config = FinetuneConfig(learning_rate=3e-4, freeze_first=0)
    >>> config.replace(epochs=5).epochs
    5
    """

    name: str = "custom"
    optimizer: str = "adam"
    learning_rate: float = 1e-4
    weight_decay: float | None = None
    epochs: int = 50
    batch_size: int = 64
    freeze_first: int | float | str = 0
    dropout: float = 0.5
    hidden_dims: tuple[int, ...] = ()
    monitor: str = "val_accuracy"
    patience: int | None = 4
    min_steps_per_epoch: int | None = None
    restore_best_weights: bool = True
    reduce_lr_factor: float | None = 0.5
    reduce_lr_patience: int = 2
    min_lr: float = 1e-6
    augment: bool = False
    multi_label: bool = False
    cache_features: bool = False
    standardize_features: bool = False
    reinitialize: bool = False

    def __post_init__(self):
        _check_int(self.epochs, "epochs", minimum=1)
        _check_int(self.batch_size, "batch_size", minimum=1)
        _check_int(self.reduce_lr_patience, "reduce_lr_patience", minimum=0)
        if self.patience is not None:
            _check_int(self.patience, "patience", minimum=0)
        if self.min_steps_per_epoch is not None:
            _check_int(self.min_steps_per_epoch, "min_steps_per_epoch", minimum=1)
        _check_freeze_first(self.freeze_first)
        _check_number(self.learning_rate, "learning_rate", low=0.0)
        if self.weight_decay is not None:
            _check_number(self.weight_decay, "weight_decay", low=0.0)
        _check_number(self.min_lr, "min_lr", low=0.0, allow_low=True)
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(f"`dropout` must be a rate in [0, 1); got {self.dropout!r}.")
        if isinstance(self.hidden_dims, (str, bytes)) or not hasattr(self.hidden_dims, "__iter__"):
            raise ValueError(f"`hidden_dims` must be a list of widths; got {self.hidden_dims!r}.")
        object.__setattr__(self, "hidden_dims", tuple(self.hidden_dims))
        for width in self.hidden_dims:
            _check_int(width, "hidden_dims", minimum=1)
        if self.reduce_lr_factor is not None:
            _check_number(self.reduce_lr_factor, "reduce_lr_factor", low=0.0, high=1.0)
        if not isinstance(self.monitor, str) or not self.monitor.startswith("val_"):
            raise ValueError(
                f"`monitor` must name a validation metric such as 'val_accuracy' or "
                f"'val_loss'; got {self.monitor!r}."
            )
        _check_optimizer(self.optimizer)
        if self.cache_features and (self.freeze_first != FREEZE_ALL or self.augment):
            raise ValueError(
                "`cache_features=True` needs `freeze_first='all'` and `augment=False`: "
                "features can be cached only when the encoder is frozen and every epoch "
                f"sees the same images; got freeze_first={self.freeze_first!r}, "
                f"augment={self.augment!r}."
            )
        if self.standardize_features and not self.cache_features:
            raise ValueError(
                "`standardize_features=True` needs `cache_features=True` (the statistics "
                "come from the cached training features)."
            )
        if self.reinitialize and self.freeze_first not in (0, FREEZE_ALL):
            # A frozen random encoder is a known baseline (random features); freezing
            # part of a re-initialised encoder is almost always a mistake.
            raise ValueError(
                "`reinitialize=True` trains from scratch: use `freeze_first=0` (the "
                f"supervised baseline); got freeze_first={self.freeze_first!r}."
            )

    @property
    def freezes_encoder(self) -> bool:
        """Whether the whole encoder is frozen (a linear probe)."""
        return self.freeze_first == FREEZE_ALL

    def replace(self, **changes) -> FinetuneConfig:
        """A copy with some fields changed (validated again); unknown names raise."""
        return dataclasses.replace(self, **_check_fields(changes))

    def get_config(self) -> dict:
        """The fields as a JSON-friendly dict; `FinetuneConfig(**config)` rebuilds it."""
        return dataclasses.asdict(self)

    @classmethod
    def from_config(cls, config: dict) -> FinetuneConfig:
        return cls(**_check_fields(dict(config)))


def _check_int(value, name: str, minimum: int, extra: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        expected = f"an integer >= {minimum}" + (f" {extra}" if extra else "")
        raise ValueError(f"`{name}` must be {expected}; got {value!r}.")


def _check_freeze_first(value) -> None:
    """An int >= 0, a fraction in [0, 1] or a non-empty name; names are checked against the encoder."""
    if isinstance(value, str) and value:
        return
    if isinstance(value, float) and 0.0 <= value <= 1.0:
        return
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return
    raise ValueError(FREEZE_FORMS + f"; got {value!r}.")


def _check_number(value, name: str, low: float, high: float | None = None, allow_low=False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and (value >= low if allow_low else value > low) and (high is None or value < high)
    if not ok:
        bounds = f"{'[' if allow_low else '('}{low}, {high if high is not None else 'inf'})"
        raise ValueError(f"`{name}` must be a number in {bounds}; got {value!r}.")


def _check_optimizer(name) -> None:
    try:
        keras.optimizers.get({"class_name": name, "config": {"learning_rate": 1e-3}})
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Unknown `optimizer` {name!r}: use a Keras optimizer name such as 'adam', "
            "'adamw', 'sgd' or 'rmsprop'."
        ) from error


def _check_fields(changes: dict) -> dict:
    known = {field.name for field in dataclasses.fields(FinetuneConfig)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ValueError(
            f"Unknown recipe field(s) {unknown}; FinetuneConfig fields are: {sorted(known)}."
        )
    return changes


# Umeå §2.4.2: first 100 MobileNetV2 layers frozen, Dropout 0.5 + softmax, Adam 1e-4,
# up to 50 epochs, early stopping on validation accuracy with patience 4, "a reduced
# learning rate when validation accuracy plateaued". The report gives neither the
# reduction factor nor its patience, nor the fine-tuning batch size: factor 0.5 after
# 2 epochs (half the early-stopping patience, so it acts before training stops) and
# batch size 64 are our choices.
_UMEA = FinetuneConfig(name="umea", freeze_first=100)

_PRESETS: dict[str, FinetuneConfig] = {
    "umea": _UMEA,
    # The SSL linear-evaluation protocol: frozen encoder (inference-mode BatchNorm),
    # one Dense softmax layer trained on standardised features computed once (like
    # the parameter-free BatchNorm before the linear layer in MAE's linear probe).
    "linear_probe": FinetuneConfig(
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
    # Transfer by fine-tuning every layer (002 compares it with frozen transfer).
    "full": _UMEA.replace(name="full", freeze_first=0),
    # Umeå §2.5: the same architecture trained with all layers trainable, "similarly"
    # to the fine-tuning, starting from no pretrained encoder weights. For ImageNet
    # initialisation pass an encoder builder to `supervised_baseline`.
    "supervised": _UMEA.replace(name="supervised", freeze_first=0, reinitialize=True),
}


def available_recipes() -> list[str]:
    """Names of the preset recipes, sorted."""
    return sorted(_PRESETS)


def get_recipe(recipe: str | FinetuneConfig = "full", **overrides) -> FinetuneConfig:
    """A preset recipe (or a given config) with some fields changed.

    Args:
        recipe: a name from `available_recipes()`, or a `FinetuneConfig`.
        **overrides: `FinetuneConfig` fields to change, e.g. `epochs=10`.

    Returns:
        The `FinetuneConfig`.

    Raises:
        ValueError: for an unknown recipe name or field, or an invalid value.

    Example:

    >>> get_recipe("umea", freeze_first=4, epochs=3).freeze_first
    4
    """
    if isinstance(recipe, FinetuneConfig):
        config = recipe
    elif isinstance(recipe, str) and recipe in _PRESETS:
        config = _PRESETS[recipe]
    else:
        raise ValueError(
            f"Unknown recipe {recipe!r}. Available recipes: {', '.join(available_recipes())}, "
            "or pass a `keras_ssl.finetune.FinetuneConfig`."
        )
    return config.replace(**overrides) if overrides else config
