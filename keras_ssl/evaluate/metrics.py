"""Classification metrics on NumPy arrays: top-k, reports, confusion matrices, multi-label.

All functions take plain arrays (NumPy, or anything `np.asarray` accepts) of integer
labels and per-class scores (probabilities or logits: rankings do not care), check them
before computing anything, and return plain Python / NumPy values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn import metrics as sk_metrics

from keras_ssl.config import PositiveIntLike, check

# A `PositiveInt` that also takes NumPy integers (a `k` read off an array).


def check_integer_labels(y, num_classes: int | None = None, name: str = "y_true") -> np.ndarray:
    """Returns `y` as a 1-D int64 array after checking it holds class ids.

    Args:
        y: Array-like of shape `[N]` with integer class ids (integral floats are
            accepted, e.g. labels that went through a float tensor).
        num_classes: If given, every id must lie in `[0, num_classes)`.
        name: The argument name used in error messages.

    Returns:
        The labels as an `int64` NumPy array of shape `[N]`.

    Raises:
        ValueError: If `y` is empty, not 1-D, not integral, or out of range.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"`{name}` must be a 1-D array of class ids [N]; got shape {y.shape}.")
    if y.size == 0:
        raise ValueError(f"`{name}` is empty; need at least one example.")
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise ValueError(f"`{name}` must hold integer class ids; got dtype {y.dtype}.")
    if np.issubdtype(y.dtype, np.floating) and not np.all(np.mod(y, 1) == 0):
        raise ValueError(f"`{name}` must hold integer class ids; got non-integral values.")
    y = y.astype(np.int64)
    if num_classes is not None:
        bad = y[(y < 0) | (y >= num_classes)]
        if bad.size:
            raise ValueError(
                f"`{name}` has labels outside [0, {num_classes}): {sorted(set(bad.tolist()))[:10]}."
            )
    return y


def _check_scores(y_score, num_examples: int, name: str = "y_score") -> np.ndarray:
    y_score = np.asarray(y_score)
    if y_score.ndim != 2:
        raise ValueError(
            f"`{name}` must be a 2-D array [N, num_classes]; got shape {y_score.shape}."
        )
    if y_score.shape[0] != num_examples:
        raise ValueError(
            f"`y_true` has {num_examples} examples but `{name}` has {y_score.shape[0]}."
        )
    if not np.all(np.isfinite(y_score)):
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    return y_score.astype(np.float64)


def _check_k(k) -> int:
    return check(k, PositiveIntLike, "k")


def top_k_accuracy(y_true, y_score, k: int = 1) -> float:
    """Fraction of examples whose true class is among the `k` highest scores.

    Ties are broken in favour of the lower class index, like `np.argmax`, so
    `top_k_accuracy(y, s, k=1)` equals `mean(argmax(s, 1) == y)` and Keras'
    `sparse_categorical_accuracy`. `k >= num_classes` gives 1.0.

    Args:
        y_true: Integer class ids, shape `[N]`.
        y_score: Scores, shape `[N, num_classes]` (probabilities or logits).
        k: How many top-ranked classes count as a hit (`003` reports k = 3).

    Returns:
        The accuracy as a float in `[0, 1]`.

    Example:
    >>> top_k_accuracy([0, 2], [[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]], k=2)
    0.5
    """
    k = _check_k(k)
    y_true = check_integer_labels(y_true)
    y_score = _check_scores(y_score, len(y_true))
    y_true = check_integer_labels(y_true, y_score.shape[1])
    true_score = y_score[np.arange(len(y_true)), y_true][:, None]
    # Rank of the true class: classes scored higher, plus tied classes with a lower index.
    lower_index = np.arange(y_score.shape[1])[None, :] < y_true[:, None]
    rank = np.sum(y_score > true_score, axis=1) + np.sum(
        (y_score == true_score) & lower_index, axis=1
    )
    return float(np.mean(rank < k))


def confusion_matrix(
    y_true, y_pred, num_classes: int | None = None, normalize: str | None = None
) -> np.ndarray:
    """Confusion matrix with true classes as rows and predicted classes as columns.

    scikit-learn's `confusion_matrix` over the classes `[0, num_classes)`, after the
    label checks of this module.

    Args:
        y_true: Integer class ids, shape `[N]`.
        y_pred: Predicted class ids, shape `[N]`.
        num_classes: Matrix size; defaults to `max(y_true, y_pred) + 1`.
        normalize: `None` for counts, or `"true"` (rows sum to 1), `"pred"`
            (columns sum to 1), `"all"` (the matrix sums to 1), as in
            scikit-learn. Empty rows / columns stay 0.

    Returns:
        An `int64` array of counts, or `float64` if normalized, shape `[C, C]`.

    Example:
    >>> confusion_matrix([0, 1, 1], [0, 0, 1]).tolist()
    [[1, 0], [1, 1]]
    """
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"`normalize` must be None, 'true', 'pred' or 'all'; got {normalize!r}.")
    y_true, y_pred, num_classes = _check_label_pair(y_true, y_pred, num_classes)
    cm = sk_metrics.confusion_matrix(
        y_true, y_pred, labels=np.arange(num_classes), normalize=normalize
    )
    return cm.astype(np.int64 if normalize is None else np.float64)


def classification_report(
    y_true,
    y_pred,
    class_names: Sequence[str] | None = None,
    as_dict: bool = False,
    num_classes: int | None = None,
):
    """Per-class precision, recall and F1: scikit-learn's `classification_report`.

    Every class in `[0, num_classes)` gets a row, also those never predicted
    (their precision is reported as 0 instead of warning).

    Args:
        y_true: Integer class ids, shape `[N]`.
        y_pred: Predicted class ids, shape `[N]`.
        class_names: Optional names, one per class; fixes `num_classes`.
        as_dict: Return scikit-learn's nested dict instead of the text table.
        num_classes: Number of classes when `class_names` is not given;
            defaults to `max(y_true, y_pred) + 1`.

    Returns:
        The report as a string, or as a dict if `as_dict=True`.

    Example:
    >>> print(classification_report([0, 1, 1], [0, 1, 0], class_names=["cat", "dog"]))
    """
    if class_names is not None:
        class_names = [str(name) for name in class_names]
        if num_classes is not None and num_classes != len(class_names):
            raise ValueError(
                f"`num_classes`={num_classes} but {len(class_names)} `class_names` were given."
            )
        num_classes = len(class_names)
    y_true, y_pred, num_classes = _check_label_pair(y_true, y_pred, num_classes)
    return sk_metrics.classification_report(
        y_true,
        y_pred,
        labels=np.arange(num_classes),
        target_names=class_names,
        output_dict=as_dict,
        zero_division=0,
        digits=4,
    )


def _check_label_pair(y_true, y_pred, num_classes):
    y_true = check_integer_labels(y_true, num_classes, "y_true")
    y_pred = check_integer_labels(y_pred, num_classes, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(f"`y_true` has {len(y_true)} examples but `y_pred` has {len(y_pred)}.")
    if num_classes is None:
        num_classes = int(max(y_true.max(), y_pred.max())) + 1
    return y_true, y_pred, num_classes


def multilabel_metrics(y_true, y_score, threshold: float = 0.5) -> dict:
    """Accuracy and ROC-AUC for multi-label (multi-hot) targets, as in `004` Table 3.

    A label is predicted present when its score is `> threshold` (Keras'
    `binary_accuracy` rule; pass `threshold=0.0` for logits).

    - `macro_accuracy`: mean over attributes of each attribute's accuracy.
    - `micro_accuracy`: accuracy over all `N * A` label entries pooled.
    - `macro_auc`: mean over attributes of each attribute's ROC-AUC; attributes
      whose targets are all 0 or all 1 have no AUC and are left out (listed in
      `auc_undefined_labels`).
    - `micro_auc`: one ROC-AUC over all entries pooled (scikit-learn's
      `average="micro"`).
    - `subset_accuracy`: fraction of examples with every attribute right
      (scikit-learn's `accuracy_score` on multi-hot arrays).

    - `macro_recall` / `micro_recall`: the fraction of present attributes that are
      predicted, per attribute then averaged (attributes never present are left
      out) / pooled over all entries (scikit-learn's `recall_score`).

    With every entry labelled (as here) every attribute has N entries, so
    `macro_accuracy == micro_accuracy` exactly. The two "accuracies" of `004`
    differ (0.54 vs 0.65 at an AUC of 0.93): they are most likely these recalls,
    which torchmetrics < 0.11 reported as multi-label macro / micro accuracy.

    Args:
        y_true: Multi-hot targets in {0, 1}, shape `[N, A]`.
        y_score: Scores, shape `[N, A]` (sigmoid probabilities).
        threshold: Decision threshold on `y_score`.

    Returns:
        A dict with the five metrics above (AUCs are `None` when undefined),
        `per_label_accuracy` and `per_label_auc` (lists of length `A`).

    Example:
    >>> multilabel_metrics([[1, 0], [0, 1]], [[0.9, 0.2], [0.4, 0.3]])["micro_accuracy"]
    0.75
    """
    y_true = np.asarray(y_true)
    if y_true.ndim != 2 or y_true.size == 0:
        raise ValueError(
            f"`y_true` must be a non-empty multi-hot array [N, num_labels]; got shape {y_true.shape}."
        )
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError("`y_true` must be multi-hot: every entry 0 or 1.")
    y_true = y_true.astype(np.int64)
    y_score = _check_scores(y_score, len(y_true))
    if y_score.shape != y_true.shape:
        raise ValueError(f"`y_score` shape {y_score.shape} != `y_true` shape {y_true.shape}.")
    correct = (y_score > threshold).astype(np.int64) == y_true
    per_label_accuracy = correct.mean(axis=0)
    per_label_auc = [
        float(sk_metrics.roc_auc_score(y_true[:, j], y_score[:, j]))
        if 0 < y_true[:, j].sum() < len(y_true)
        else None
        for j in range(y_true.shape[1])
    ]
    defined = [auc for auc in per_label_auc if auc is not None]
    hits = (y_score > threshold) & (y_true == 1)
    has_positives = y_true.sum(axis=0) > 0
    positives_found = hits.sum(axis=0) / np.maximum(y_true.sum(axis=0), 1)
    pooled_has_both = 0 < y_true.sum() < y_true.size
    return {
        "macro_accuracy": float(per_label_accuracy.mean()),
        "micro_accuracy": float(correct.mean()),
        "subset_accuracy": float(correct.all(axis=1).mean()),
        "macro_auc": float(np.mean(defined)) if defined else None,
        "micro_auc": (
            float(sk_metrics.roc_auc_score(y_true.ravel(), y_score.ravel()))
            if pooled_has_both
            else None
        ),
        "macro_recall": float(np.mean(positives_found[has_positives]))
        if has_positives.any()
        else None,
        "micro_recall": float(hits.sum() / y_true.sum()) if y_true.sum() else None,
        "per_label_accuracy": per_label_accuracy.tolist(),
        "per_label_auc": per_label_auc,
        "auc_undefined_labels": [j for j, auc in enumerate(per_label_auc) if auc is None],
    }
