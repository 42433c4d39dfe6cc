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
from keras_ssl.experiments.schema import EncoderSpec, Variant
from keras_ssl.pretext.training import build_optimizer
from keras_ssl.resume import STATE_FILE

ENCODER_FILE = "encoder.keras"
LOG_FILE = "log.csv"  # `keras_ssl.pretext.training.LOG_FILE`, which `pretrain` writes


def build_encoder(spec: EncoderSpec, weights: str | None = None) -> keras.Model:
    """The encoder of `spec` at `spec.image_size`, initialised with `weights`.

    See `keras_ssl.encoders.EncoderConfig.build`.
    """
    return spec.build(weights)


def build_views(variant: Variant, seed: int):
    """The variant's augmentation layer, or None for the method's own views (`augment: null`)."""
    from keras_ssl import augment

    spec = variant.pretrain
    if spec.augment is None:
        return None
    return augment.get(
        spec.augment, image_size=variant.encoder.image_size, seed=seed, **spec.augment_args
    )


def build_variant_model(
    variant: Variant, seed: int, sync_batch_norm: bool = False, load_weights: bool = True
):
    """The variant's pretext model, not compiled; its encoder if it is not pretrained.

    With `load_weights` False the encoder's weights (but a saved encoder) are not
    fetched: the architecture alone, for checks.

    Raises:
        ConfigError: naming the setting the encoder, the views or the method refuse.
    """
    from keras_ssl import pretext
    from keras_ssl.pretext.replicas import synchronize_batch_norm

    encoder_spec, spec = variant.encoder, variant.pretrain
    try:
        weights = encoder_spec.weights if load_weights or encoder_spec.saved else None
        encoder = build_encoder(encoder_spec, weights)
    except (ValueError, TypeError) as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(
            f"`encoder` {encoder_spec.name!r} with args {encoder_spec.args} at image_size "
            f"{encoder_spec.image_size} (variant {variant.name!r}): {error}"
        ) from None
    if spec is None:
        return encoder
    try:
        views = build_views(variant, seed)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"`pretrain.augment_args` for {spec.augment!r}: {error}") from None
    try:
        model = pretext.get(spec.method, encoder, augment=views, **spec.method_args)
    except (ValueError, TypeError) as error:
        raise ConfigError(
            f"`pretrain.method_args` {spec.method_args} of {spec.method!r} (variant "
            f"{variant.name!r}): {error}"
        ) from None
    if sync_batch_norm:
        synchronize_batch_norm(model)
    return model


def build_pretext_model(
    variant: Variant, seed: int, steps_per_epoch: int | None = None, sync_batch_norm: bool = False
) -> keras.Model:
    """The compiled pretext model of a variant around its freshly built encoder."""
    model = build_variant_model(variant, seed, sync_batch_norm)
    model.compile(optimizer=build_optimizer(variant.pretrain, steps_per_epoch))
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
    model: keras.Model | None = None,
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
        model: the variant's pretext model (`build_variant_model`); None builds it,
            seeded with `seed`.

    Returns:
        The pretrained encoder (also saved as `folder/encoder.keras`).
    """
    from keras_ssl.pretext import training

    folder, spec = Path(folder), variant.pretrain
    if (folder / ENCODER_FILE).is_file():
        log(f"  pretrained encoder found: {folder / ENCODER_FILE}")
        return keras.models.load_model(folder / ENCODER_FILE)
    folder.mkdir(parents=True, exist_ok=True)
    if model is None:
        keras.utils.set_random_seed(seed)
        model = build_variant_model(variant, seed)
    keras.utils.set_random_seed(seed)  # training starts from the same state as a fresh run
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
