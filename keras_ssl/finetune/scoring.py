"""`score_result`: a fine-tuning run's model scored on held-out images, with the run's facts."""

from __future__ import annotations

from collections.abc import Sequence

from keras_ssl import evaluate  # read at call time: tests wrap evaluate.evaluate_classifier
from keras_ssl.finetune._core import FinetuneResult


def score_result(
    result: FinetuneResult,
    test_data,
    class_names: Sequence[str] | None = None,
    val_data=None,
) -> dict:
    """Scores the classifier of a `finetune` or `supervised_baseline` run; JSON-ready metrics.

    Args:
        result: What the run returned.
        test_data: `(images, labels)` held out from training and model selection.
        class_names: The classes' (or attributes') names, for the per-class report.
        val_data: The validation `(images, labels)`. A multi-label model is scored on
            them too (SimSiam 004's Table 3 reports both splits); others are not.

    Returns:
        A dict: `labels_used`, `accuracy` (for multi-hot labels the accuracy over every
        (image, attribute) entry, as Keras' `binary_accuracy`), `top_3_accuracy` (NaN
        with three classes or fewer, and for multi-label models), `best_epoch`,
        `epochs_run`, `early_stopping_metrics` (the validation metrics of the returned
        model), `recipe` (its config), `seconds` (of the run), `test` (what
        `evaluate_classifier` returns), `validation` (multi-label models given
        `val_data` only) and `history`.

    Example:
    >>> result = finetune(encoder, (x_train, y_train), (x_val, y_val), num_classes=10)
    >>> metrics = score_result(result, (x_test, y_test), class_names)
    >>> print(metrics["accuracy"], metrics["best_epoch"])
    """
    test = evaluate.evaluate_classifier(result.model, test_data, class_names, top_k=(1, 3))
    multi_label = test.get("multilabel", False)
    validation = {}
    if multi_label and val_data is not None:
        validation["validation"] = evaluate.evaluate_classifier(result.model, val_data, class_names)
    return {
        "labels_used": result.train_size,
        "accuracy": test["micro_accuracy" if multi_label else "accuracy"],
        "top_3_accuracy": test.get("top_3_accuracy", float("nan")),
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "early_stopping_metrics": result.val_metrics,
        "recipe": result.recipe.get_config(),
        "seconds": round(result.seconds, 3),
        "test": test,
        **validation,
        "history": result.history,
    }
