"""One fine-tuning stage in its own folder: the model, its log and its metrics.

A stage folder holds `model.keras`, `log.csv` (one row per epoch) and, written
last, `metrics.json`; a stage is finished exactly when `metrics.json` exists, so
`run_stage` skips finished stages and redoes interrupted ones from the start.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from keras_ssl.experiments.run_folder import atomic_write, read_json, write_json

METRICS_FILE = "metrics.json"
MODEL_FILE = "model.keras"
LOG_FILE = "log.csv"


def fraction_label(fraction: float) -> str:
    """The folder name of a label fraction: 0.01 -> "1pct", 0.005 -> "0.5pct".

    Example:

    >>> fraction_label(1.0)
    '100pct'
    """
    return f"{round(fraction * 100, 6):g}pct"


def backup_dir(log_csv: str | Path) -> str:
    """Where a stage backs up its model after every epoch, so a killed stage resumes."""
    return str(Path(log_csv).parent / "backup")


def stage_done(folder: str | Path) -> bool:
    """Whether the stage in `folder` finished (its `metrics.json` exists)."""
    return (Path(folder) / METRICS_FILE).is_file()


def read_metrics(folder: str | Path) -> dict:
    return read_json(Path(folder) / METRICS_FILE)


def run_stage(
    folder: str | Path,
    train: Callable[[str], object],
    test_data: tuple[np.ndarray, np.ndarray],
    class_names: list[str],
    facts: dict,
) -> dict:
    """Runs `train(log_csv_path) -> FinetuneResult`, then saves the model, log and metrics.

    Args:
        folder: the stage folder.
        train: runs the fine-tuning, logging its epochs to the path it gets.
        test_data: held-out `(images, labels)`, scored with
            `keras_ssl.evaluate.evaluate_classifier` (accuracy, top-3, per-class
            report, confusion matrix).
        class_names: names of the classes.
        facts: more entries for `metrics.json` (stage, variant, fraction, ...).

    Returns:
        The content of `metrics.json`.
    """
    from keras_ssl.evaluate import evaluate_classifier

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    partial_log = folder / f".{LOG_FILE}.partial"
    start = time.perf_counter()
    result = train(str(partial_log))
    test = evaluate_classifier(result.model, test_data, class_names, top_k=(1, 3))
    atomic_write(folder / MODEL_FILE, result.model.save)
    partial_log.replace(folder / LOG_FILE)
    metrics = {
        **facts,
        "labels_used": result.train_size,
        "accuracy": test["accuracy"],
        "top_3_accuracy": test.get("top_3_accuracy", math.nan),
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "early_stopping_metrics": result.val_metrics,
        "recipe": result.recipe.get_config(),
        "seconds": round(time.perf_counter() - start, 3),
        "test": test,
        "history": result.history,
    }
    write_json(folder / METRICS_FILE, metrics)
    return metrics


def fraction_trainer(
    encoder: keras.Model,
    train_data: tuple[np.ndarray, np.ndarray],
    selection_data: tuple[np.ndarray, np.ndarray],
    num_classes: int,
    fraction: float,
    recipe,
    seed: int,
    verbose: int | str,
) -> Callable[[str], object]:
    """`train(log_csv)` for `run_stage`: `recipe` on a fraction of the labels.

    The subset is `keras_ssl.data.label_fraction(labels, fraction, seed=seed)`:
    class-balanced and nested across fractions. `selection_data` is what early
    stopping, best-weight restore and the learning-rate schedule watch. The images keep their size; the
    classifier resizes them to the encoder's input on the device.
    """
    from keras_ssl import finetune
    from keras_ssl.data import label_fraction

    images, labels = train_data
    indices = label_fraction(labels, fraction, seed=seed)

    def train(log_csv: str):
        return finetune.finetune(
            encoder,
            (images[indices], labels[indices]),
            selection_data,
            num_classes,
            recipe,
            input_shape=tuple(images.shape[1:]),
            log_csv=log_csv,
            backup_dir=backup_dir(log_csv),
            seed=seed,
            verbose=verbose,
        )

    return train


def baseline_trainer(
    build_encoder: Callable[[], keras.Model],
    train_data: tuple[np.ndarray, np.ndarray],
    selection_data: tuple[np.ndarray, np.ndarray],
    num_classes: int,
    fraction: float,
    recipe,
    seed: int,
    verbose: int | str,
) -> Callable[[str], object]:
    """`train(log_csv)` for the baseline: a fresh encoder, every layer trained.

    Umeå §2.5: the fine-tuning model's architecture with all layers trainable,
    initialised as `build_encoder` does (ImageNet weights in the report) instead of
    from the pretrained encoder, on the same class-balanced subset of the labels
    as the pretrained encoder's stage of that fraction, with its own `recipe`.
    """
    from keras_ssl import finetune
    from keras_ssl.data import label_fraction

    images, labels = train_data
    indices = label_fraction(labels, fraction, seed=seed)

    def train(log_csv: str):
        return finetune.supervised_baseline(
            build_encoder,
            (images[indices], labels[indices]),
            selection_data,
            num_classes,
            recipe,
            input_shape=tuple(images.shape[1:]),
            log_csv=log_csv,
            backup_dir=backup_dir(log_csv),
            seed=seed,
            verbose=verbose,
        )

    return train
