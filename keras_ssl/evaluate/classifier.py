"""`evaluate_classifier`: every number a report needs about a trained classifier, as JSON."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keras_ssl.evaluate.embeddings import predict_batches
from keras_ssl.evaluate.metrics import (
    _check_k,
    check_integer_labels,
    classification_report,
    confusion_matrix,
    multilabel_metrics,
    top_k_accuracy,
)


def _is_one_hot(y: np.ndarray) -> bool:
    return y.ndim == 2 and np.isin(y, (0, 1)).all() and np.all(y.sum(axis=1) == 1)


def evaluate_classifier(
    model,
    data,
    class_names: Sequence[str] | None = None,
    top_k: Sequence[int] = (1, 3),
    batch_size: int = 256,
    multilabel: bool | None = None,
    threshold: float = 0.5,
    verbose: int = 0,
) -> dict:
    """Runs a Keras classifier over labeled data and returns its metrics as plain types.

    Single-label models (`[N, C]` scores, integer or one-hot labels) get top-1
    (`accuracy`) and top-k accuracy, scikit-learn's per-class report and the
    confusion matrix (rows: true class). Multi-label models (sigmoid outputs,
    multi-hot labels) get `multilabel_metrics` instead. Everything returned is a
    dict / list / float / int / str, so `json.dumps` works on it.

    Args:
        model: A Keras model with one output: `[N, C]` class scores
            (probabilities or logits), or `[N, A]` sigmoid scores.
        data: An `(inputs, labels)` tuple of arrays or a finite batched
            `tf.data.Dataset` (or iterable) of `(inputs, labels)`.
        class_names: Optional names of the `C` classes (or `A` attributes).
        top_k: Values of k to report as `top_{k}_accuracy`; those >= C are
            skipped, being trivially 1.
        batch_size: Batch size for array data.
        multilabel: Force the multi-label metrics on or off. By default they are
            used when labels are 2-D but not one-hot, or the model has one output
            unit.
        threshold: Decision threshold of the multi-label metrics.
        verbose: Progress bar while predicting (0 = silent).

    Returns:
        A dict. Single-label keys: `num_examples`, `num_classes`, `class_names`,
        `accuracy`, `top_{k}_accuracy`, `classification_report` (scikit-learn's
        dict), `confusion_matrix` (list of lists of counts). Multi-label keys:
        `num_examples`, `num_labels`, `label_names`, `multilabel` and those of
        `multilabel_metrics`.

    Example:
    >>> results = evaluate_classifier(classifier, (x_test, y_test), class_names)
    >>> print(results["accuracy"], results["top_3_accuracy"])
    >>> json.dump(results, open("results.json", "w"))
    """
    ks = [_check_k(k) for k in top_k]
    scores, labels = predict_batches(model, data, batch_size, verbose)
    if labels is None:
        raise ValueError("`data` must carry labels: (inputs, labels).")
    if scores.ndim != 2 or len(scores) != len(labels):
        raise ValueError(
            f"Expected [N, num_classes] model outputs for {len(labels)} labels; got {scores.shape}."
        )
    names = None if class_names is None else [str(name) for name in class_names]
    if names is not None and len(names) != scores.shape[1]:
        raise ValueError(
            f"{len(names)} `class_names` given but the model outputs {scores.shape[1]} scores."
        )
    if multilabel is None:
        multilabel = scores.shape[1] == 1 or (labels.ndim == 2 and not _is_one_hot(labels))
    if multilabel:
        labels = labels.reshape(len(labels), -1)
        results = {
            "num_examples": len(labels),
            "num_labels": scores.shape[1],
            "label_names": names,
            "multilabel": True,
        }
        return results | multilabel_metrics(labels, scores, threshold)

    if labels.ndim == 2:
        if not _is_one_hot(labels) or labels.shape[1] != scores.shape[1]:
            raise ValueError(
                f"2-D labels must be one-hot with {scores.shape[1]} columns; got shape {labels.shape}."
            )
        labels = labels.argmax(axis=1)
    num_classes = scores.shape[1]
    labels = check_integer_labels(labels, num_classes, "labels")
    predictions = scores.argmax(axis=1)
    results = {
        "num_examples": len(labels),
        "num_classes": num_classes,
        "class_names": names,
        "accuracy": float(np.mean(predictions == labels)),
    }
    for k in ks:
        if k == 1 or k < num_classes:
            results[f"top_{k}_accuracy"] = top_k_accuracy(labels, scores, k)
    report = classification_report(
        labels, predictions, names, as_dict=True, num_classes=num_classes
    )
    results["classification_report"] = _to_builtin(report)
    results["confusion_matrix"] = confusion_matrix(labels, predictions, num_classes).tolist()
    return results


def _to_builtin(value):
    """Replaces NumPy scalars inside nested dicts / lists with Python numbers."""
    if isinstance(value, dict):
        return {str(key): _to_builtin(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_builtin(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
