"""What the `keras-ssl` commands do besides running an experiment: `export_encoder`, and
`evaluate_model` (the library's `keras_ssl.evaluate.evaluate_saved_classifier`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from keras_ssl._files import atomic_write
from keras_ssl.evaluate.saved import evaluate_saved_classifier as evaluate_model  # noqa: F401
from keras_ssl.experiments import pretraining


def export_encoder(folder: str | Path, output: str | Path, variant: str = "main") -> dict:
    """Copies a run's pretrained encoder to `output`; returns a summary of its pretraining.

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
