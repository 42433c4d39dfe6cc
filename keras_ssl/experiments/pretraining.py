"""Building a variant's encoder, and pretraining it in a folder, checkpointed every epoch.

The folder holds, once finished, `encoder.keras` (the pretrained encoder), `log.csv`
(one row per epoch), and the backup of `keras_ssl.resume.ResumableTraining`: the
last `checkpoint-epochNNNN.weights.h5` (the pretext model's weights with its
optimizer state) and `state.json`, written after the checkpoint, which names the
last finished epoch. Started again, `pretrain_encoder` builds the pretext model,
loads that checkpoint and continues with `fit(initial_epoch=...)`; with
`encoder.keras` present it only loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from keras_ssl.experiments.checks import ConfigError
from keras_ssl.experiments.schema import EncoderSpec, PretrainSpec, Variant
from keras_ssl.resume import STATE_FILE, ResumableTraining, atomic_write, read_json

ENCODER_FILE = "encoder.keras"
LOG_FILE = "log.csv"


def load_saved_model(path: str | Path, what: str):
    """A `.keras` model, or a `ConfigError` saying why it cannot be loaded."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ConfigError(f"{what} {str(path)!r} must be a .keras file.")
    if not path.is_file():
        raise ConfigError(f"{what} {str(path)!r} does not exist.")
    try:
        return keras.models.load_model(path)
    except Exception as error:  # a corrupt or foreign file fails in many ways
        raise ConfigError(
            f"Cannot load {what.lower()} {str(path)!r} ({type(error).__name__}: {error})."
        ) from None


def build_encoder(spec: EncoderSpec, weights: str | None = None) -> keras.Model:
    """The encoder of `spec` at `spec.image_size`, initialised with `weights`.

    Args:
        spec: the encoder settings.
        weights: None (random), a name the builder can load, a weights file, or a
            saved encoder (`.keras`, loaded as it is).

    Raises:
        ConfigError: if the weights cannot be loaded (e.g. no internet for "imagenet").
    """
    from keras_ssl import encoders

    if isinstance(weights, str) and weights.endswith(".keras"):
        return load_saved_model(weights, "Encoder")
    kwargs = dict(spec.args, input_shape=(spec.image_size,) * 2 + (3,))
    if weights is not None:
        kwargs["weights"] = weights
    try:
        return encoders.get(spec.name, **kwargs)
    except Exception as error:
        if weights is None:
            raise
        raise ConfigError(
            f"Could not load weights {weights!r} (`encoder.weights`) for {spec.name} "
            f"({type(error).__name__}: {error}). ImageNet weights are downloaded on first use "
            "and need internet (or a copy in ~/.keras/models/); give a weights file, or remove "
            "the variant (variants.<name>=null)."
        ) from None


def build_views(variant: Variant, seed: int):
    """The variant's augmentation layer, or None for the method's own views (`augment: null`)."""
    from keras_ssl import augment

    spec = variant.pretrain
    if spec.augment is None:
        return None
    return augment.get(
        spec.augment, image_size=variant.encoder.image_size, seed=seed, **spec.augment_args
    )


def build_optimizer(spec: PretrainSpec, steps_per_epoch: int | None = None):
    """The pretraining optimizer: learning rate (warm-up, schedule), weight decay,
    gradient clipping, accumulation.

    Args:
        spec: the pretraining settings.
        steps_per_epoch: batches per epoch, which a warm-up or the cosine schedule
            needs (the optimizer counts batches, accumulated or not).

    Example:

    >>> spec = PretrainSpec(schedule="cosine", epochs=10, warmup_epochs=1, weight_decay=1e-5)
    >>> optimizer = build_optimizer(spec, steps_per_epoch=100)  # up over 100, down over 900
    """
    learning_rate = spec.learning_rate
    if spec.schedule == "cosine" or spec.warmup_epochs:
        if steps_per_epoch is None:
            raise ValueError("A warm-up or the cosine schedule needs `steps_per_epoch`.")
        warmup = spec.warmup_epochs * steps_per_epoch
        # Keras' CosineDecay rises linearly from 0 to `warmup_target` first; alpha=1
        # keeps the rate constant after the warm-up.
        learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0 if warmup else spec.learning_rate,
            decay_steps=max(1, spec.epochs * steps_per_epoch - warmup),
            alpha=0.0 if spec.schedule == "cosine" else 1.0,
            warmup_target=spec.learning_rate if warmup else None,
            warmup_steps=warmup,
        )
    config = {"learning_rate": learning_rate}
    optional = {
        "weight_decay": spec.weight_decay,
        "clipnorm": spec.clipnorm,
        "gradient_accumulation_steps": spec.gradient_accumulation_steps,
    }
    config.update({key: value for key, value in optional.items() if value is not None})
    return keras.optimizers.get({"class_name": spec.optimizer, "config": config})


def build_pretext_model(
    variant: Variant, seed: int, steps_per_epoch: int | None = None, sync_batch_norm: bool = False
) -> keras.Model:
    """The compiled pretext model of a variant around its freshly built encoder."""
    from keras_ssl import pretext
    from keras_ssl.pretext.replicas import synchronize_batch_norm

    spec = variant.pretrain
    encoder = build_encoder(variant.encoder, variant.encoder.weights)
    model = pretext.get(
        spec.method, encoder, augment=build_views(variant, seed), **spec.method_args
    )
    if sync_batch_norm:
        synchronize_batch_norm(model)
    model.compile(optimizer=build_optimizer(spec, steps_per_epoch))
    return model


def _selection_callbacks(model, spec: PretrainSpec) -> list:
    """Early stopping on the method's validation metric, and the plateau schedule."""
    callbacks = []
    if spec.patience is not None:
        monitor = f"val_{model.monitor}"
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor, patience=spec.patience, mode=model.monitor_mode)
        )
    if spec.reduce_lr_patience is not None:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                "val_loss", factor=0.5, patience=spec.reduce_lr_patience, min_lr=1e-6
            )
        )
    return callbacks


def pretrain_encoder(
    images: np.ndarray,
    variant: Variant,
    folder: str | Path,
    seed: int = 0,
    val_images: np.ndarray | None = None,
    verbose: int | str = 2,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    log=print,
    sync_batch_norm: bool = False,
) -> keras.Model:
    """Pretrains a variant's encoder on `images` in `folder`, resuming after its last epoch.

    Args:
        images: uint8 `[N, H, W, 3]` training images (labels are not used).
        variant: the variant (its encoder and `pretrain` settings).
        folder: the folder of this pretraining (see the module docstring).
        seed: seed of the weights, the views and the data order.
        val_images: validation images for `pretrain.patience` /
            `pretrain.reduce_lr_patience` (the pretext task on them is watched).
        verbose: Keras' `fit` verbosity (1 progress bar, 2 one line per epoch).
        callbacks: more Keras callbacks, run after the checkpoint of each epoch.
        log: where progress lines go.
        sync_batch_norm: BatchNorm on the global batch under a `tf.distribute` strategy.

    Returns:
        The pretrained encoder (also saved as `folder/encoder.keras`).
    """
    from keras_ssl.data import ImageSet, pretraining_pipeline

    folder, spec = Path(folder), variant.pretrain
    if (folder / ENCODER_FILE).is_file():
        log(f"  pretrained encoder found: {folder / ENCODER_FILE}")
        return keras.models.load_model(folder / ENCODER_FILE)
    folder.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    model = build_pretext_model(variant, seed, len(images) // spec.batch_size, sync_batch_norm)
    selection = _selection_callbacks(model, spec)
    watched = f"val_{model.monitor}" if spec.patience is not None else None
    training = ResumableTraining(
        folder, log_csv=folder / LOG_FILE, monitor=watched, mode=model.monitor_mode,
        restore_best=watched is not None, stateful_callbacks=selection,
    )  # fmt: skip
    done = training.initial_epoch
    if done:
        log(f"  resuming pretraining after epoch {done}/{spec.epochs} ({training.checkpoint})")
        # Create every variable, so that the checkpoint can be loaded into them.
        model(keras.KerasTensor((None, *images.shape[1:]), dtype=images.dtype.name))
    # A resumed run shuffles with another seed, so it does not replay epoch 1's order.
    dataset = pretraining_pipeline(ImageSet(images=images), spec.batch_size, seed=seed + done)
    validation = None
    if selection:
        batch = min(spec.batch_size, len(val_images))
        validation = pretraining_pipeline(ImageSet(images=val_images), batch, shuffle=False)
    model.fit(
        dataset,
        validation_data=validation,
        callbacks=[*selection, training, *callbacks],
        verbose=verbose,
        shuffle=False,  # the pipeline shuffles, with its seed
        **training.fit_epochs(spec.epochs),
    )
    atomic_write(folder / ENCODER_FILE, model.encoder.save)
    return model.encoder


def read_history(folder: str | Path) -> list[dict]:
    """The per-epoch rows of a (finished or interrupted) pretraining in `folder`."""
    state = Path(folder) / STATE_FILE
    return read_json(state)["history"] if state.is_file() else []
