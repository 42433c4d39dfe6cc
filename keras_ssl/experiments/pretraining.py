"""Building a variant's encoder, and pretraining it in a folder, checkpointed every epoch.

The folder holds, once finished, `encoder.keras` (the pretrained encoder), `log.csv`
(one row per epoch), and the backup of `keras_ssl.resume.ResumableTraining`: the
last `checkpoint-epochNNNN.weights.h5` (the pretext model's weights with its
optimizer state) and `state.json`, written after the checkpoint, which names the
last finished epoch. Started again, `pretrain_encoder` builds the pretext model and
`keras_ssl.pretext.training.pretrain` loads that checkpoint and continues after it;
with `encoder.keras` present it only loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from keras_ssl._files import atomic_write, read_json
from keras_ssl.config import ConfigError
from keras_ssl.experiments.schema import EncoderSpec, PretrainSpec, Variant
from keras_ssl.resume import STATE_FILE

# `keras_ssl.pretext` is imported on use: importing it loads every method.
ENCODER_FILE = "encoder.keras"
LOG_FILE = "log.csv"  # `keras_ssl.pretext.training.LOG_FILE`, which `pretrain` writes


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
    """The optimizer of `spec`: `keras_ssl.pretext.training.build_optimizer`."""
    from keras_ssl.pretext import training

    return training.build_optimizer(spec, steps_per_epoch)


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
    from keras_ssl.pretext import training

    folder, spec = Path(folder), variant.pretrain
    if (folder / ENCODER_FILE).is_file():
        log(f"  pretrained encoder found: {folder / ENCODER_FILE}")
        return keras.models.load_model(folder / ENCODER_FILE)
    folder.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    model = build_pretext_model(variant, seed, len(images) // spec.batch_size, sync_batch_norm)
    training.pretrain(
        model,
        images,
        spec,
        folder=folder,
        val_images=val_images,
        seed=seed,
        callbacks=callbacks,
        verbose=verbose,
        log=lambda line: log(f"  {line}"),
    )
    atomic_write(folder / ENCODER_FILE, model.encoder.save)
    return model.encoder


def read_history(folder: str | Path) -> list[dict]:
    """The per-epoch rows of a (finished or interrupted) pretraining in `folder`."""
    state = Path(folder) / STATE_FILE
    return read_json(state)["history"] if state.is_file() else []
