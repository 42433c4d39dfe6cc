"""`evaluate_saved_classifier`: a saved `.keras` classifier scored on a labeled data source."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keras_ssl.config import ConfigError, PositiveInt, check
from keras_ssl.data.sources import check_source, load_images, subsample
from keras_ssl.encoders.config import load_saved_model
from keras_ssl.evaluate.classifier import evaluate_classifier


def evaluate_saved_classifier(
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

    Args:
        model_path: the classifier's `.keras` file.
        source: a catalogue name, or a folder or `.zip` of `<class>/<image>` files.
        split: the split or subfolder of `source` to load (default: all of it).
        image_size: resize the images to this side when loading (default: keep).
        max_images: score a seeded, class-balanced subset of this many images.
        seed: the seed of that subset.
        top_k: the k values of `top_{k}_accuracy`.
        batch_size: images per prediction step.

    Returns:
        `{"model": ..., "data": ...}` and the metrics of `evaluate_classifier`.

    Raises:
        ConfigError: for a missing model or data, or images or classes the model
            does not take, before anything is computed.

    Example:

    >>> report = evaluate_saved_classifier("ft/finetune/main/10pct/model.keras", "test.zip")
    >>> report["accuracy"], report["top_3_accuracy"], report["confusion_matrix"]
    """
    for k in top_k:
        check(k, PositiveInt, "top_k")
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
    data = (imageset.numpy_images(), np.asarray(imageset.labels))
    results = evaluate_classifier(
        model, data, imageset.class_names, top_k=tuple(top_k), batch_size=batch_size
    )
    return {"model": str(model_path), "data": source, **results}
