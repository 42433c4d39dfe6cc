"""The pieces of the `keras-ssl` commands that are not an experiment run."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from keras_ssl._files import atomic_write
from keras_ssl.config import ConfigError
from keras_ssl.data.sources import check_source, load_images, subsample
from keras_ssl.encoders.config import load_saved_model
from keras_ssl.experiments import pretraining


def export_encoder(folder: str | Path, output: str | Path, variant: str = "main") -> dict:
    """Copies a run's pretrained encoder to `output`; a summary of its pretraining.

    Example:

    >>> export_encoder("encoder-pretraining", "encoder.keras")["epochs"]
    5
    """
    stage = Path(folder) / "pretrain" / variant
    source = stage / pretraining.ENCODER_FILE
    atomic_write(output, lambda temporary: shutil.copyfile(source, temporary))
    history = pretraining.read_history(stage)
    return {
        "encoder": str(output),
        "checkpoint_dir": str(folder),
        "epochs": len(history),
        "final_loss": history[-1]["loss"] if history else None,
    }


def evaluate_model(
    model_path: str,
    source: str,
    split: str | None = None,
    image_size: int | None = None,
    max_images: int | None = None,
    seed: int = 0,
    top_k: Sequence[int] = (1, 3),
    batch_size: int = 256,
) -> dict:
    """Accuracy, top-k accuracy and the per-class report of a saved classifier on labeled images.

    Raises:
        ConfigError: for a missing model or data, or images or classes the model
            does not take, before anything is computed.
    """
    from keras_ssl.evaluate import evaluate_classifier

    check_source(source)
    model = load_saved_model(model_path, "Model")
    imageset = subsample(load_images(source, split, image_size), max_images, seed)
    expected = tuple(model.input_shape[1:3])
    if None not in expected and expected != tuple(imageset.image_shape[:2]):
        raise ConfigError(
            f"The model takes {expected[0]}x{expected[1]} images but {source!r} holds "
            f"{imageset.image_shape[0]}x{imageset.image_shape[1]}; resize them when loading "
            f"(`image_size` {expected[0]})."
        )
    outputs = model.output_shape[-1]
    if outputs != imageset.num_classes:
        raise ConfigError(
            f"The model has {outputs} outputs but {source!r} has {imageset.num_classes} "
            f"classes ({', '.join(imageset.class_names)})."
        )
    results = evaluate_classifier(
        model, (imageset.numpy_images(), np.asarray(imageset.labels)), imageset.class_names,
        top_k=tuple(top_k), batch_size=batch_size,
    )  # fmt: skip
    return {"model": str(model_path), "data": source, **results}
