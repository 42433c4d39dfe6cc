"""A variant's models, and its pretraining in a folder (`keras_ssl.pretext.pretrain`).

The folder holds `encoder.keras` once finished, `log.csv`, and the per-epoch backup
of `keras_ssl.resume.ResumableTraining`; started again, the pretraining continues
after its last finished epoch.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from keras_ssl._files import atomic_write, read_json
from keras_ssl.config import ConfigError
from keras_ssl.experiments.schema import Variant
from keras_ssl.pretext.training import build_optimizer, pretrain
from keras_ssl.resume import STATE_FILE

ENCODER_FILE = "encoder.keras"


def build_views(variant: Variant, seed: int):
    """The variant's augmentation layer, or None for the method's own views (`augment: null`)."""
    return variant.pretrain.build_views(variant.encoder.image_size, seed)


def _keyed(build, message: str):
    """`build()`, with a `ValueError` / `TypeError` re-raised as a `ConfigError`."""
    try:
        return build()
    except ConfigError:
        raise
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{message}: {error}") from None


def build_variant_model(
    variant: Variant, seed: int, sync_batch_norm: bool = False, load_weights: bool = True
):
    """The variant's pretext model, not compiled; its encoder if it is not pretrained.

    Args:
        variant: the variant.
        seed: the views' seed.
        sync_batch_norm: BatchNorm on the global batch under a `tf.distribute` strategy.
        load_weights: fetch the encoder's weights; False builds the architecture alone
            (a saved encoder is loaded either way), for checks.

    Raises:
        ConfigError: naming the setting the encoder, the views or the method refuse.
    """
    from keras_ssl.pretext.replicas import synchronize_batch_norm

    spec, method = variant.encoder, variant.pretrain
    weights = "config" if load_weights or spec.saved else None
    where = f"`encoder` {spec.name!r} with args {spec.args} at image_size {spec.image_size}"
    encoder = _keyed(lambda: spec.build(weights), f"{where} (variant {variant.name!r})")
    if method is None:
        return encoder
    views = _keyed(
        lambda: build_views(variant, seed),
        f"`pretrain.augment_args` for {method.augment!r}",
    )
    model = _keyed(
        lambda: method.build(encoder, views),
        f"`pretrain.method_args` {method.method_args} of {method.method!r} (variant "
        f"{variant.name!r})",
    )
    if sync_batch_norm:
        synchronize_batch_norm(model)
    return model


def build_pretext_model(
    variant: Variant, seed: int, steps_per_epoch: int | None = None, sync_batch_norm: bool = False
) -> keras.Model:
    """The variant's pretext model, compiled with its pretraining optimizer."""
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
        folder: the folder of this pretraining.
        seed: seed of the weights, the views and the data order.
        val_images: validation images for `pretrain.patience` / `reduce_lr_patience`.
        verbose: Keras' `fit` verbosity.
        callbacks: more Keras callbacks, run after the checkpoint of each epoch.
        log: where progress lines go.
        model: the variant's pretext model (`build_variant_model`); None builds it.

    Returns:
        The pretrained encoder (also saved as `folder/encoder.keras`).
    """
    folder = Path(folder)
    if (folder / ENCODER_FILE).is_file():
        log(f"  pretrained encoder found: {folder / ENCODER_FILE}")
        return keras.models.load_model(folder / ENCODER_FILE)
    folder.mkdir(parents=True, exist_ok=True)
    if model is None:
        keras.utils.set_random_seed(seed)
        model = build_variant_model(variant, seed)
    keras.utils.set_random_seed(seed)  # training starts from the state a fresh run has
    pretrain(
        model, images, variant.pretrain, folder=folder, val_images=val_images, seed=seed,
        callbacks=callbacks, verbose=verbose, log=lambda line: log(f"  {line}"),
    )  # fmt: skip
    atomic_write(folder / ENCODER_FILE, model.encoder.save)
    return model.encoder


def read_history(folder: str | Path) -> list[dict]:
    """The per-epoch rows of a (finished or interrupted) pretraining in `folder`."""
    state = Path(folder) / STATE_FILE
    return read_json(state)["history"] if state.is_file() else []


def export_encoder(folder: str | Path, output: str | Path, variant: str = "main") -> dict:
    """Copies a run's pretrained encoder to `output`; returns a summary of its pretraining."""
    stage = Path(folder) / "pretrain" / variant
    atomic_write(output, lambda temporary: shutil.copyfile(stage / ENCODER_FILE, temporary))
    history = read_history(stage)
    final_loss = history[-1]["loss"] if history else None
    return {"encoder": str(output), "checkpoint_dir": str(folder), "epochs": len(history),
            "final_loss": final_loss}  # fmt: skip
