"""Checks of labeled data for fine-tuning, run before any model is built or trained."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import Field, Strict

from keras_ssl.config import ConfigError, PositiveInt, check
from keras_ssl.utils import check_image_batch

_INFINITE = -1  # tf.data.INFINITE_CARDINALITY, without importing TensorFlow here.
_FORMS = (
    "an (images, labels) tuple of arrays or a finite, batched tf.data.Dataset "
    "(or other re-iterable) of (images, labels) batches"
)
# A softmax over one class is constant; a multi-label head (sigmoids) may have one.
_Classes = Annotated[int, Strict(), Field(ge=2)]


@dataclass
class LabeledData:
    """Checked labeled data: arrays, or a dataset whose labels were read once.

    `labels` always holds every label (in the dataset's first-pass order), for the
    checks and the size; `images` is None for a dataset.
    """

    labels: np.ndarray
    images: np.ndarray | None = None
    dataset: Any = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def is_arrays(self) -> bool:
        return self.dataset is None

    def subset(self, indices: np.ndarray) -> LabeledData:
        return LabeledData(labels=self.labels[indices], images=self.images[indices])


def check_num_classes(num_classes, multi_label: bool) -> int:
    try:
        return check(num_classes, PositiveInt if multi_label else _Classes, "num_classes")
    except ConfigError as error:
        kind = "attributes (multi-label)" if multi_label else "classes"
        raise ConfigError(f"{error} It counts the {kind}.") from None


def labeled_data(data, where: str) -> LabeledData:
    """Turns `data` into `LabeledData`, checking shapes; labels are checked separately."""
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(
                f"`{where}` must be {_FORMS}; got a {type(data).__name__} of {len(data)} items."
            )
        images, labels = np.asarray(data[0]), np.asarray(data[1])
        check_image_batch(images, where=f"`{where}` images")
        if len(images) != len(labels):
            raise ValueError(
                f"`{where}` has {len(images)} images but {len(labels)} labels: "
                "images and labels must have one entry per example."
            )
        result = LabeledData(labels=labels, images=images)
    elif hasattr(data, "__iter__") and not isinstance(data, (np.ndarray, str, dict)):
        result = LabeledData(labels=_read_labels(data, where), dataset=data)
    else:
        raise ValueError(f"`{where}` must be {_FORMS}; got {type(data).__name__}.")
    if len(result) == 0:
        raise ValueError(
            f"`{where}` is empty: it needs at least one labeled example. For validation, hold "
            "out a class-balanced part of the labeled data (e.g. 10%)."
        )
    return result


def _read_labels(dataset, where: str) -> np.ndarray:
    cardinality = getattr(dataset, "cardinality", None)
    if callable(cardinality) and int(cardinality()) == _INFINITE:
        raise ValueError(
            f"`{where}` is an infinite dataset (`.repeat()` without a count): fine-tuning "
            "needs finite epochs. Drop the `.repeat()`; `fit` restarts the dataset each epoch."
        )
    labels = []
    for index, batch in enumerate(dataset):
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise ValueError(
                f"`{where}` must yield (images, labels) batches; got {type(batch).__name__}."
            )
        if index == 0:
            check_image_batch(batch[0], where=f"`{where}` images (batch it with `.batch(n)`)")
        labels.append(np.asarray(batch[1]))
    return np.concatenate(labels) if labels else np.zeros((0,), "int64")


def check_labels(
    data: LabeledData, num_classes: int, multi_label: bool, where: str, every_class: bool
) -> None:
    """Checks label form and range against the head size `num_classes`.

    `every_class` also requires one example of each class (training data: a head
    output that never sees an example cannot be learned).
    """
    labels = data.labels
    if multi_label:
        _check_multi_hot(labels, num_classes, where)
        return
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(
            f"`{where}` labels must be integer class ids of shape [N]; got shape {labels.shape}. "
            "For one-hot labels use `labels.argmax(-1)`; for multi-hot labels (several "
            "attributes per image) use a recipe with `multi_label=True`."
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"`{where}` labels must be integer class ids; got dtype {labels.dtype}. "
            "Convert them, e.g. `labels.astype('int64')`."
        )
    outside = np.unique(labels[(labels < 0) | (labels >= num_classes)])
    if outside.size:
        hint = (
            f"Pass num_classes={int(labels.max()) + 1} if the data has that many classes, or "
            f"remap the labels to 0..{num_classes - 1}."
            if outside.min() >= 0
            else f"Remap the labels to 0..{num_classes - 1}."
        )
        raise ValueError(
            f"`{where}` labels must be class ids in [0, {num_classes}) for a head of "
            f"num_classes={num_classes}; found {_preview(outside)}. {hint}"
        )
    if every_class:
        missing = np.setdiff1d(np.arange(num_classes), labels)
        if missing.size:
            raise ValueError(
                f"`{where}` has no example of class(es) {_preview(missing)} of "
                f"num_classes={num_classes}: those outputs of the head could never be "
                "learned. Use a class-balanced subset with at least one example per class "
                "(keras_ssl.data.label_fraction, or a larger fraction), or set num_classes "
                "to the classes present."
            )


def _check_multi_hot(labels: np.ndarray, num_classes: int, where: str) -> None:
    if labels.ndim != 2:
        raise ValueError(
            f"`{where}` labels must be multi-hot of shape [N, {num_classes}] for a multi-label "
            f"recipe; got shape {labels.shape}. For class ids use `multi_label=False`."
        )
    if labels.shape[1] != num_classes:
        raise ValueError(
            f"The head has num_classes={num_classes} outputs but `{where}` labels have "
            f"{labels.shape[1]} attributes (shape {labels.shape}): pass "
            f"num_classes={labels.shape[1]}."
        )
    bad = np.unique(labels[(labels != 0) & (labels != 1)])
    if bad.size:
        raise ValueError(f"`{where}` multi-hot labels must be 0 or 1; found {_preview(bad)}.")


def _preview(values: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(v) for v in values[:limit].tolist())
    return f"[{shown}{', ...' if len(values) > limit else ''}]"
