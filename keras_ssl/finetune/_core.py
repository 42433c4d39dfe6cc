"""Shared pieces of the fine-tuning functions: result type, checks, model building, fitting."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import keras
import numpy as np

from keras_ssl.callbacks import StopOnNaN
from keras_ssl.finetune._inputs import (
    LabeledData,
    check_labels,
    check_num_classes,
    labeled_data,
)
from keras_ssl.finetune.models import classifier, copy_encoder, countable_layers, resolve_freeze
from keras_ssl.finetune.recipes import FinetuneConfig
from keras_ssl.resume import ResumableTraining

HEAD = "classification_head"  # the name `classifier` gives its head


@dataclass
class FinetuneResult:
    """What a fine-tuning run returns.

    Attributes:
        model: the trained classifier, from images in [0, 255] to class probabilities,
            compiled.
        history: metric name -> one float per epoch, as in Keras' `History.history`
            but over the whole run, epochs before a resume included (`loss`,
            `accuracy`, `val_accuracy`, `learning_rate`, ...).
        best_epoch: the epoch (from 1) with the best value of `recipe.monitor`; the
            model holds its weights when `recipe.restore_best_weights`.
        epochs_run: epochs actually trained (fewer than `recipe.epochs` after early stopping).
        val_metrics: the returned model's metrics on the validation data, without the
            `val_` prefix (`loss`, `accuracy`, `top3_accuracy` or `auc`).
        seconds: wall time of building and training (embedding included for a linear
            probe on cached features), in seconds.
        train_size: number of labeled training examples.
        recipe: the `FinetuneConfig` used.
    """

    model: keras.Model
    history: dict[str, list[float]]
    best_epoch: int
    epochs_run: int
    val_metrics: dict[str, float]
    seconds: float
    train_size: int
    recipe: FinetuneConfig = field(repr=False)

    @property
    def accuracy(self) -> float:
        """Validation accuracy of the returned model."""
        return self.val_metrics["accuracy"]


@dataclass
class RunOptions:
    """How to run a fine-tuning, besides the recipe (see `finetune`'s arguments)."""

    copy: bool = True
    callbacks: Sequence[keras.callbacks.Callback] | None = None
    verbose: int | str = "auto"
    input_shape: tuple[int, int, int] | None = None
    log_csv: str | None = None
    augmenter: keras.layers.Layer | None = None
    seed: int | None = None
    backup_dir: str | None = None


def checked_inputs(encoder, train_data, val_data, num_classes, config: FinetuneConfig):
    """Validates everything a fine-tuning run needs; returns the checked train and val data."""
    check_num_classes(num_classes, config.multi_label)
    if encoder is not None:
        check_encoder(encoder, config)
    train = labeled_data(train_data, "train_data")
    val = labeled_data(val_data, "val_data")
    check_labels(train, num_classes, config.multi_label, "train_data", every_class=True)
    check_labels(val, num_classes, config.multi_label, "val_data", every_class=False)
    check_monitor(config, num_classes)
    return train, val


def check_encoder(encoder, config: FinetuneConfig) -> None:
    if not isinstance(encoder, keras.Model):
        raise ValueError(f"`encoder` must be a keras.Model; got {type(encoder).__name__}.")
    freeze = config.freeze_first
    layers = len(countable_layers(encoder))
    if isinstance(freeze, int) and not isinstance(freeze, bool) and freeze > layers:
        raise ValueError(
            f"Recipe {config.name!r} freezes the first {freeze} layers but "
            f"encoder {encoder.name!r} has only {layers} (preprocessing not counted). Pass "
            f"freeze_first <= {layers} (e.g. get_recipe({config.name!r}, freeze_first=...)), "
            "0 to train all layers, or 'all' for a linear probe."
        )
    try:
        resolve_freeze(encoder, freeze)
    except ValueError as error:
        raise ValueError(f"Recipe {config.name!r}, field `freeze_first`: {error}") from None


def metrics(num_classes: int, multi_label: bool) -> list[keras.metrics.Metric]:
    if multi_label:
        return [
            keras.metrics.BinaryAccuracy(name="accuracy"),
            keras.metrics.AUC(multi_label=True, num_labels=num_classes, name="auc"),
        ]
    metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    if num_classes > 3:  # top-3 of 3 classes is always 1
        metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3_accuracy"))
    return metrics


def check_monitor(config: FinetuneConfig, num_classes: int) -> None:
    names = ["loss"] + [metric.name for metric in metrics(num_classes, config.multi_label)]
    allowed = [f"val_{name}" for name in names]
    if config.monitor not in allowed:
        raise ValueError(
            f"`monitor` {config.monitor!r} is not logged by this fine-tuning; use one of {allowed}."
        )


def compile_model(model: keras.Model, config: FinetuneConfig, num_classes: int) -> None:
    settings = {"learning_rate": config.learning_rate}
    if config.weight_decay is not None:
        settings["weight_decay"] = config.weight_decay
    optimizer = keras.optimizers.get({"class_name": config.optimizer, "config": settings})
    loss = "binary_crossentropy" if config.multi_label else "sparse_categorical_crossentropy"
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics(num_classes, config.multi_label))


def plateau_callbacks(config: FinetuneConfig) -> list[keras.callbacks.Callback]:
    """The recipe's early stopping and learning-rate schedule, both watching `config.monitor`.

    Neither restores weights: `ResumableTraining` does, from the best epoch of the
    whole history.
    """
    mode = "min" if config.monitor.endswith("loss") else "max"
    result = []
    if config.patience is not None:
        result.append(
            keras.callbacks.EarlyStopping(
                monitor=config.monitor, mode=mode, patience=config.patience
            )
        )
    if config.reduce_lr_factor is not None:
        result.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=config.monitor,
                mode=mode,
                factor=config.reduce_lr_factor,
                patience=config.reduce_lr_patience,
                min_lr=config.min_lr,
            )
        )
    return result


def prepare_encoder(encoder: keras.Model, config: FinetuneConfig, copy: bool) -> keras.Model:
    if config.reinitialize:
        return keras.models.clone_model(encoder)  # same layers, fresh initial weights
    return copy_encoder(encoder) if copy else encoder


def build_model(encoder, num_classes, config: FinetuneConfig, input_shape, augmenter=None):
    model = classifier(
        encoder,
        num_classes,
        freeze_first=None if config.freezes_encoder else config.freeze_first,
        dropout=config.dropout,
        hidden_dims=config.hidden_dims,
        activation="sigmoid" if config.multi_label else "softmax",
        input_shape=input_shape,
        name=f"{config.name}_classifier",
    )
    if config.freezes_encoder:
        encoder.trainable = False
    if augmenter is None:
        return model
    inputs = keras.Input(shape=model.input_shape[1:], name="images")
    return keras.Model(inputs, model(augmenter(inputs)), name=model.name)


def fit_kwargs(train: LabeledData, val: LabeledData, config: FinetuneConfig) -> dict:
    kwargs = {"epochs": config.epochs}
    if train.is_arrays:
        kwargs["x"], kwargs["y"] = arrays(_fill_epoch(train, config), config)
        kwargs["batch_size"] = config.batch_size
    else:  # `fit` cannot shuffle a dataset: it comes shuffled, or not
        kwargs["x"], kwargs["shuffle"] = train.dataset, False
    kwargs["validation_data"] = arrays(val, config) if val.is_arrays else val.dataset
    return kwargs


def _fill_epoch(train: LabeledData, config: FinetuneConfig) -> LabeledData:
    """`train` repeated to `config.min_steps_per_epoch` batches, if it is smaller.

    Every image appears the same number of times, give or take one; `fit` shuffles
    the whole epoch.
    """
    if config.min_steps_per_epoch is None:
        return train
    wanted = config.min_steps_per_epoch * config.batch_size
    if len(train) >= wanted:
        return train
    return train.subset(np.resize(np.arange(len(train)), wanted))


def arrays(data: LabeledData, config: FinetuneConfig):
    return data.images, data.labels.astype("float32") if config.multi_label else data.labels


def evaluate_model(
    model: keras.Model, data: LabeledData, config: FinetuneConfig
) -> dict[str, float]:
    if data.is_arrays:
        images, labels = arrays(data, config)
        logs = model.evaluate(
            images, labels, batch_size=config.batch_size, verbose=0, return_dict=True
        )
    else:
        logs = model.evaluate(data.dataset, verbose=0, return_dict=True)
    return {name: float(value) for name, value in logs.items()}


def fit_model(model, train, val, config: FinetuneConfig, options: RunOptions):
    """Runs `fit`; returns the history of every epoch and the best epoch (from 1).

    `ResumableTraining` keeps the history, the best epoch of `config.monitor` and its
    weights (restored at the end with `config.restore_best_weights`), and writes
    `options.log_csv`. With `options.backup_dir` it backs everything up after every
    epoch, so the same call after a kill continues from the last finished epoch and
    ends as an uninterrupted run would: same best epoch and weights, early stopping
    and the learning-rate schedule counting from the true best epoch. The folder is
    deleted when training ends.
    """
    plateau = plateau_callbacks(config)
    training = ResumableTraining(
        options.backup_dir,
        monitor=config.monitor,
        restore_best=config.restore_best_weights,
        log_csv=options.log_csv,
        stateful_callbacks=plateau,
        keep_folder=False,
    )
    # Last, so that an epoch is backed up once every other callback has acted on it.
    callbacks = [StopOnNaN(), *plateau, *(options.callbacks or []), training]
    kwargs = {**fit_kwargs(train, val, config), **training.fit_epochs(config.epochs)}
    model.fit(callbacks=callbacks, verbose=options.verbose, **kwargs)
    return training.history, training.best_epoch


def make_result(model, history, best_epoch, val_metrics, start, train_size, config):
    return FinetuneResult(
        model=model,
        history=history,
        best_epoch=best_epoch,
        epochs_run=len(history[config.monitor]),
        val_metrics=val_metrics,
        seconds=time.perf_counter() - start,
        train_size=train_size,
        recipe=config,
    )
