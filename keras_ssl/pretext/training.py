"""Pretraining a pretext model with a config: `pretrain`, `PretrainConfig`, `build_optimizer`.

The pretraining counterpart of `keras_ssl.finetune.finetune`: one call that builds
the optimizer (warm-up, cosine schedule, clipping, weight decay, gradient
accumulation), the image pipeline and the model-selection callbacks, and trains. Given
a `folder`, it backs the run up after every epoch (`keras_ssl.resume.ResumableTraining`)
and the same call after a kill continues after the last finished epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Literal

import keras
import numpy as np
from pydantic import Field, Strict, field_validator

from keras_ssl.config import Config, Count, OptimizerName, PositiveFloat, PositiveInt
from keras_ssl.resume import ResumableTraining

LOG_FILE = "log.csv"  # in `folder`: one row per epoch of the whole run


class PretrainConfig(Config):
    """How to pretrain: epochs, batches, the optimizer and its schedule, model selection.

    Args:
        epochs: the most epochs.
        batch_size: images per step (at least 2: contrastive losses compare the
            images of a batch).
        optimizer: a Keras optimizer name ("adam", "adamw", "sgd", ...).
        learning_rate: its (peak) learning rate.
        patience: stop when the method's validation metric (`val_` + the model's
            `monitor`, e.g. `val_rotation_accuracy`) has not improved for this many
            epochs, and keep the best epoch's weights; None trains every epoch and
            keeps the last.
        reduce_lr_patience: halve the learning rate when the validation loss has not
            improved for this many epochs; None keeps it as scheduled.
        schedule: "constant", or "cosine" (the learning rate decays to 0 over
            `epochs`, SimSiam's schedule).
        warmup_epochs: epochs over which the learning rate first rises linearly from
            0 (DINO's and BYOL's warm-up); the schedule follows. Fewer than `epochs`.
        clipnorm: clip each weight's gradient to this norm (Keras' `clipnorm`; DINO's
            3.0), or None.
        weight_decay: the optimizer's weight decay (Keras applies it decoupled, as
            AdamW does), or None.
        gradient_accumulation_steps: average the gradients of this many batches
            before each update (an effective batch of `batch_size` × steps), or None.

    Example:

    ```python
    config = PretrainConfig(epochs=10, batch_size=128, schedule="cosine", warmup_epochs=1)
    PretrainConfig(warmup_epochs=5, epochs=5)
    # ConfigError: `warmup_epochs` 5 leaves none of the 5 epochs after the warm-up; lower it.
    ```
    """

    epochs: PositiveInt = 100
    batch_size: Annotated[int, Strict(), Field(ge=2)] = 256
    optimizer: OptimizerName = "adam"
    learning_rate: PositiveFloat = 1e-3
    patience: Count | None = None
    reduce_lr_patience: Count | None = None
    schedule: Literal["constant", "cosine"] = "constant"
    warmup_epochs: Count = 0
    clipnorm: PositiveFloat | None = None
    weight_decay: PositiveFloat | None = None
    gradient_accumulation_steps: Annotated[int, Strict(), Field(ge=2)] | None = None

    # A field validator, not a model validator: its error names `warmup_epochs`, and
    # a subclass adding fields keeps it as it is (`epochs` is validated before it).
    @field_validator("warmup_epochs")
    @classmethod
    def _epochs_left_after_warmup(cls, warmup: int, info) -> int:
        epochs = info.data.get("epochs")
        if epochs is not None and warmup >= epochs:
            raise ValueError(
                f"`{{key}}` {warmup} leaves none of the {epochs} epochs after the warm-up; "
                "lower it."
            )
        return warmup


def build_optimizer(config: PretrainConfig, steps_per_epoch: int | None = None):
    """The pretraining optimizer: learning rate (warm-up, schedule), weight decay,
    gradient clipping, accumulation.

    Args:
        config: the pretraining settings (any object with `PretrainConfig`'s fields).
        steps_per_epoch: batches per epoch, which a warm-up or the cosine schedule
            needs (the optimizer counts batches, accumulated or not).

    Returns:
        A `keras.optimizers.Optimizer`.

    Example:

    >>> config = PretrainConfig(schedule="cosine", epochs=10, warmup_epochs=1, weight_decay=1e-5)
    >>> optimizer = build_optimizer(config, steps_per_epoch=100)  # up over 100, down over 900
    """
    learning_rate = config.learning_rate
    if config.schedule == "cosine" or config.warmup_epochs:
        if steps_per_epoch is None:
            raise ValueError("A warm-up or the cosine schedule needs `steps_per_epoch`.")
        warmup = config.warmup_epochs * steps_per_epoch
        # Keras' CosineDecay rises linearly from 0 to `warmup_target` first; alpha=1
        # keeps the rate constant after the warm-up.
        learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0 if warmup else config.learning_rate,
            decay_steps=max(1, config.epochs * steps_per_epoch - warmup),
            alpha=0.0 if config.schedule == "cosine" else 1.0,
            warmup_target=config.learning_rate if warmup else None,
            warmup_steps=warmup,
        )
    settings = {"learning_rate": learning_rate}
    optional = {
        "weight_decay": config.weight_decay,
        "clipnorm": config.clipnorm,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
    }
    settings.update({key: value for key, value in optional.items() if value is not None})
    return keras.optimizers.get({"class_name": config.optimizer, "config": settings})


def _selection_callbacks(model: keras.Model, config: PretrainConfig) -> list:
    """Early stopping on the method's validation metric, and the plateau schedule."""
    callbacks = []
    if config.patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                f"val_{_monitor(model)}", patience=config.patience, mode=_monitor_mode(model)
            )
        )
    if config.reduce_lr_patience is not None:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                "val_loss", factor=0.5, patience=config.reduce_lr_patience, min_lr=1e-6
            )
        )
    return callbacks


def pretrain(
    model: keras.Model,
    images,
    config: PretrainConfig | Mapping | None = None,
    *,
    folder: str | Path | None = None,
    val_images=None,
    seed: int = 0,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int | str = "auto",
    log: Callable[[str], object] = print,
) -> keras.callbacks.History:
    """Pretrains a pretext model on unlabeled images with a `PretrainConfig`.

    The model is compiled with `build_optimizer(config, steps_per_epoch)` unless it
    is compiled already. Training batches come from
    `keras_ssl.data.pretraining_pipeline` (full batches of `config.batch_size`,
    reshuffled every epoch with `seed`). With `config.patience`, training stops when
    `val_` + `model.monitor` has not improved for that many epochs and the best
    epoch's weights are kept; with `config.reduce_lr_patience` the learning rate
    halves on a plateau of the validation loss. Both watch `val_images`, which are
    evaluated only for them.

    Given a `folder`, the model and optimizer state are checkpointed after every
    epoch, `folder/log.csv` gets one row per epoch, and the same call started again
    (with the same model and config) continues after the last finished epoch, as
    `keras_ssl.resume.ResumableTraining` describes; a resumed run shuffles with
    `seed` + the epochs done, so it does not replay the first epochs' order.

    Args:
        model: a pretext model (`keras_ssl.pretext.get(...)`), compiled or not.
        images: uint8 `[N, H, W, 3]` training images, or a `keras_ssl.data.ImageSet`
            (labels are not used).
        config: a `PretrainConfig`, a mapping of its fields, or None for the defaults.
        folder: where the run is backed up and resumed from; None keeps it in memory.
        val_images: validation images (same forms) for `config.patience` /
            `config.reduce_lr_patience`.
        seed: the seed of the data order.
        callbacks: more Keras callbacks, run after the backup of each epoch.
        verbose: Keras' `fit` verbosity.
        log: where progress lines (a resume) go.

    Returns:
        A `keras.callbacks.History` of the whole run (epochs before a resume
        included); its `model` is the trained pretext model, `model.encoder` the
        encoder.

    Raises:
        ConfigError: for bad settings.
        ValueError: for images of the wrong form, fewer images than a batch, or
            model selection without `val_images`.

    Example:

    ```python
    model = keras_ssl.pretext.get("simclr", keras_ssl.encoders.small_cnn())
    history = pretrain(model, images, PretrainConfig(epochs=20, batch_size=128))
    encoder = history.model.encoder
    ```
    """
    from keras_ssl.data import pretraining_pipeline

    config = _checked_config(config)
    train = _imageset(images, "images")
    selection = _selection_callbacks(model, config)
    if selection and val_images is None:
        raise ValueError(
            "`patience` and `reduce_lr_patience` watch the validation images; pass "
            "`val_images`, or set both to None."
        )
    if not getattr(model, "compiled", False):
        model.compile(optimizer=build_optimizer(config, len(train) // config.batch_size))
    folder = None if folder is None else Path(folder)
    watched = f"val_{_monitor(model)}" if config.patience is not None else None
    training = ResumableTraining(
        folder,
        log_csv=None if folder is None else folder / LOG_FILE,
        monitor=watched,
        mode=_monitor_mode(model),
        restore_best=watched is not None,
        stateful_callbacks=selection,
    )
    done = training.initial_epoch
    dataset = pretraining_pipeline(train, config.batch_size, seed=seed + done)
    if done:
        log(f"resuming pretraining after epoch {done}/{config.epochs} ({training.checkpoint})")
        # Create every variable, so that the checkpoint can be loaded into them.
        model(keras.KerasTensor((None, *dataset.element_spec.shape[1:]), dtype="uint8"))
    validation = None
    if selection:
        val = _imageset(val_images, "val_images")
        batch = min(config.batch_size, len(val))
        validation = pretraining_pipeline(val, batch, shuffle=False)
    model.fit(
        dataset,
        validation_data=validation,
        # The backup after the selection callbacks have acted on the epoch, before the
        # caller's (a callback that stops the run finds the epoch committed).
        callbacks=[*selection, training, *callbacks],
        verbose=verbose,
        shuffle=False,  # the pipeline shuffles, with its seed
        **training.fit_epochs(config.epochs),
    )
    history = keras.callbacks.History()
    history.set_model(model)
    history.history = training.history
    history.epoch = [row["epoch"] for row in training.rows]
    return history


def _checked_config(config) -> PretrainConfig:
    if config is None:
        return PretrainConfig()
    if isinstance(config, Mapping):
        return PretrainConfig(**config)
    return config  # a PretrainConfig, or any object with its fields (the experiments' spec)


def _imageset(images, name: str):
    from keras_ssl.data import ImageSet

    if isinstance(images, ImageSet):
        return images
    if not isinstance(images, np.ndarray):
        raise ValueError(
            f"`{name}` must be a uint8 array [N, H, W, 3] or an ImageSet; "
            f"got {type(images).__name__}."
        )
    return ImageSet(images=images)


def _monitor(model) -> str:
    return getattr(model, "monitor", "loss")


def _monitor_mode(model) -> str:
    return getattr(model, "monitor_mode", "min")
