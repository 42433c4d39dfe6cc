"""`score_result`: a fine-tuning run's model scored on held-out data, with the run's facts."""

import json
import math

import keras
import numpy as np

from keras_ssl.evaluate import evaluate_classifier
from keras_ssl.finetune import FinetuneResult, get_recipe, score_result


def _result(model, recipe="full") -> FinetuneResult:
    return FinetuneResult(
        model=model, history={"loss": [1.0, 0.5], "val_accuracy": [0.4, 0.6]}, best_epoch=2,
        epochs_run=2, val_metrics={"loss": 0.5, "accuracy": 0.6}, seconds=1.23456,
        train_size=40, recipe=get_recipe(recipe),
    )  # fmt: skip


def _classifier(outputs: int, activation: str) -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Dense(outputs, activation=activation)(inputs))


def test_single_label_metrics_and_the_run_facts_in_order():
    rng = np.random.default_rng(0)
    test = rng.normal(size=(30, 4)).astype("float32"), rng.integers(0, 5, 30)
    model = _classifier(5, "softmax")
    metrics = score_result(_result(model), test, list("abcde"), val_data=test)
    expected = evaluate_classifier(model, test, list("abcde"), top_k=(1, 3))
    assert list(metrics) == [
        "labels_used", "accuracy", "top_3_accuracy", "best_epoch", "epochs_run",
        "early_stopping_metrics", "recipe", "seconds", "test", "history",
    ]  # fmt: skip
    assert metrics["test"] == expected and metrics["accuracy"] == expected["accuracy"]
    assert metrics["top_3_accuracy"] == expected["top_3_accuracy"]
    assert (metrics["labels_used"], metrics["best_epoch"], metrics["seconds"]) == (40, 2, 1.235)
    assert metrics["early_stopping_metrics"] == {"loss": 0.5, "accuracy": 0.6}
    assert metrics["recipe"] == get_recipe("full").get_config()
    json.dumps(metrics)  # plain types only


def test_three_classes_have_no_top_3_accuracy():
    rng = np.random.default_rng(1)
    test = rng.normal(size=(12, 4)).astype("float32"), rng.integers(0, 3, 12)
    metrics = score_result(_result(_classifier(3, "softmax")), test)
    assert math.isnan(metrics["top_3_accuracy"])


def test_multi_label_models_report_micro_accuracy_and_the_validation_images_too():
    rng = np.random.default_rng(2)
    test = rng.normal(size=(20, 4)).astype("float32"), rng.integers(0, 2, (20, 3))
    val = rng.normal(size=(10, 4)).astype("float32"), rng.integers(0, 2, (10, 3))
    model = _classifier(3, "sigmoid")
    metrics = score_result(_result(model), test, ["x", "y", "z"], val_data=val)
    assert (
        metrics["test"]["multilabel"] and metrics["accuracy"] == metrics["test"]["micro_accuracy"]
    )
    assert metrics["validation"] == evaluate_classifier(model, val, ["x", "y", "z"])
    assert list(metrics)[-2:] == ["validation", "history"]
    assert "validation" not in score_result(_result(model), test)
