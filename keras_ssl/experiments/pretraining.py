"""Resumable pretraining: an encoder pretrained in a folder, checkpointed every epoch.

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

from keras_ssl.experiments.config import ConfigError, PretrainSettings
from keras_ssl.experiments.run_folder import atomic_write, read_json
from keras_ssl.resume import STATE_FILE, ResumableTraining

ENCODER_FILE = "encoder.keras"
LOG_FILE = "log.csv"


def build_encoder(config: PretrainSettings, weights: str | None) -> keras.Model:
    """The encoder of `config` at `config.image_size`, initialised with `weights`.

    Raises:
        ConfigError: if the weights cannot be loaded (e.g. no internet for "imagenet").
    """
    from keras_ssl import encoders

    kwargs = dict(config.encoder_args, input_shape=(config.image_size,) * 2 + (3,))
    if weights is not None:
        kwargs["weights"] = weights
    try:
        return encoders.get(config.encoder, **kwargs)
    except Exception as error:
        if weights is None:
            raise
        raise ConfigError(
            f"Could not load weights {weights!r} for {config.encoder} "
            f"({type(error).__name__}: {error}). ImageNet weights are downloaded on first use "
            "and need internet (or a copy in ~/.keras/models/); pass a weights file path, or "
            "run only the random initialisation with --set 'pretrain.weights=[null]'."
        ) from None


def build_pretext_model(config: PretrainSettings, weights: str | None, seed: int) -> keras.Model:
    """The compiled pretext model (SimCLR or rotation) around a fresh encoder."""
    from keras_ssl import augment, heads
    from keras_ssl.pretext import RotationPrediction, SimCLR

    encoder = build_encoder(config, weights)
    views = augment.get(
        config.augment, image_size=config.image_size, seed=seed, **config.augment_args
    )
    if config.method == "simclr":
        head = heads.projection_head(*config.projection_dims)
        model = SimCLR(encoder, head, views, temperature=config.temperature)
    else:
        model = RotationPrediction(encoder, augment=views, seed=seed)
    optimizer = keras.optimizers.get(
        {"class_name": config.optimizer, "config": {"learning_rate": config.learning_rate}}
    )
    model.compile(optimizer=optimizer)
    return model


def pretrain_encoder(
    images: np.ndarray,
    config: PretrainSettings,
    folder: str | Path,
    weights: str | None = None,
    seed: int = 0,
    verbose: int | str = 2,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    log=print,
) -> keras.Model:
    """Pretrains an encoder on `images` in `folder`, resuming from its last finished epoch.

    Args:
        images: uint8 `[N, H, W, 3]` training images (labels are not used).
        config: the pretraining settings.
        folder: the folder of this pretraining (see the module docstring).
        weights: the encoder's initial weights: "imagenet", None or a file path.
        seed: seed of the weights, the views and the data order.
        verbose: Keras' `fit` verbosity (1 progress bar, 2 one line per epoch).
        callbacks: more Keras callbacks, run after the checkpoint of each epoch.
        log: where progress lines go.

    Returns:
        The pretrained encoder (also saved as `folder/encoder.keras`).

    Example:

    ```python
    encoder = pretrain_encoder(x_train, profile("smoke").pretrain, "runs/pretrain")
    ```
    """
    from keras_ssl.data import ImageSet, pretraining_pipeline

    folder = Path(folder)
    if (folder / ENCODER_FILE).is_file():
        log(f"  pretrained encoder found: {folder / ENCODER_FILE}")
        return keras.models.load_model(folder / ENCODER_FILE)
    folder.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    model = build_pretext_model(config, weights, seed)
    training = ResumableTraining(folder, log_csv=folder / LOG_FILE)
    done = training.initial_epoch
    if done:
        log(f"  resuming pretraining after epoch {done}/{config.epochs} ({training.checkpoint})")
        # Create every variable, so that the checkpoint can be loaded into them.
        model(keras.KerasTensor((None, *images.shape[1:]), dtype=images.dtype.name))
    # A resumed run shuffles with another seed, so it does not replay epoch 1's order.
    dataset = pretraining_pipeline(ImageSet(images=images), config.batch_size, seed=seed + done)
    # Also when every epoch is done: `fit` then only loads the last checkpoint.
    model.fit(
        dataset,
        callbacks=[training, *callbacks],
        verbose=verbose,
        shuffle=False,  # the pipeline shuffles, with its seed
        **training.fit_epochs(config.epochs),
    )
    atomic_write(folder / ENCODER_FILE, model.encoder.save)
    return model.encoder


def read_history(folder: str | Path) -> list[dict]:
    """The per-epoch rows of a (finished or interrupted) pretraining in `folder`."""
    state = Path(folder) / STATE_FILE
    return read_json(state)["history"] if state.is_file() else []
