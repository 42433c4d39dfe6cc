"""The fast linear probe: a frozen encoder's features embedded once, a head trained on them."""

from __future__ import annotations

import time
from collections.abc import Sequence

import keras
import numpy as np

from keras_ssl.finetune._core import (
    HEAD,
    FinetuneResult,
    RunOptions,
    build_model,
    checked_inputs,
    compile_model,
    evaluate_model,
    fit_model,
    make_result,
    prepare_encoder,
)
from keras_ssl.finetune._inputs import LabeledData
from keras_ssl.finetune.recipes import FinetuneConfig, get_recipe


def linear_probe_features(
    encoder: keras.Model,
    train_data,
    val_data,
    num_classes: int,
    recipe: str | FinetuneConfig = "linear_probe",
    *,
    copy: bool = True,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    verbose: int | str = "auto",
    input_shape: tuple[int, int, int] | None = None,
    log_csv: str | None = None,
    seed: int | None = None,
    **overrides,
) -> FinetuneResult:
    """A linear probe trained on features computed once: the fast linear evaluation.

    The encoder runs once over the training and validation images in inference mode
    (BatchNorm uses its moving statistics), in batches; the head (Dense softmax,
    after the recipe's dropout if any) is then trained on the cached features with
    the recipe's optimiser, early stopping and learning-rate schedule. The returned
    model is still a whole image -> probabilities classifier: the frozen encoder and
    the trained head.

    Args:
        encoder, train_data, val_data, num_classes, copy, callbacks, verbose,
        input_shape, log_csv, seed, **overrides: as in `finetune`.
        recipe: a recipe name or config; it is used with `freeze_first="all"` and
            `cache_features=True` (so it cannot have `augment=True`).

    Returns:
        A `FinetuneResult`; its `history` is that of the head's training.

    Example:

    ```python
    probe = keras_ssl.finetune.linear_probe_features(encoder, (x, y), (x_val, y_val), 10)
    probe.model.predict(x_val[:8])  # class probabilities
    ```
    """
    config = get_recipe(recipe, **overrides).replace(freeze_first="all", cache_features=True)
    train, val = checked_inputs(encoder, train_data, val_data, num_classes, config)
    options = RunOptions(copy, callbacks, verbose, input_shape, log_csv, seed=seed)
    return train_probe(encoder, train, val, num_classes, config, options)


def embed(feature_model: keras.Model, data: LabeledData, batch_size: int):
    """Features and labels of `data` (encoder in inference mode), in batches."""
    if data.is_arrays:
        return feature_model.predict(data.images, batch_size=batch_size, verbose=0), data.labels
    features, labels = [], []
    for batch in data.dataset:  # labels re-read here: a dataset may reshuffle each pass
        features.append(feature_model.predict_on_batch(np.asarray(batch[0])))
        labels.append(np.asarray(batch[1]))
    return np.concatenate(features), np.concatenate(labels)


def embedded(feature_model: keras.Model, data: LabeledData, batch_size: int) -> LabeledData:
    """`embed`'s features and labels as `LabeledData` (features in place of images)."""
    features, labels = embed(feature_model, data, batch_size)
    return LabeledData(labels=labels, images=features)


def feature_model(model: keras.Model) -> keras.Model:
    """The part of a `classifier` model before its head: images -> encoder features."""
    return keras.Model(model.inputs, model.get_layer(HEAD).input, name="features")


def train_probe(
    encoder, train, val, num_classes, config, options: RunOptions, features=None
) -> FinetuneResult:
    """Trains the head of a frozen-encoder classifier on cached features.

    `features` = (train, val) `LabeledData` of features skips the embedding (the
    sweep embeds the whole training set once and passes subsets).
    """
    start = time.perf_counter()
    if options.seed is not None:
        keras.utils.set_random_seed(options.seed)
    encoder = prepare_encoder(encoder, config, options.copy)
    model = build_model(encoder, num_classes, config, options.input_shape)
    if features is None:
        extractor = feature_model(model)
        features = tuple(embedded(extractor, data, config.batch_size) for data in (train, val))
    train_features, val_features = features
    mean, scale = _standardization(train_features.images, config.standardize_features)
    train_features, val_features = (
        LabeledData(data.labels, (data.images - mean) / scale) for data in features
    )
    head = keras.Sequential(
        [keras.Input(shape=train_features.images.shape[1:]), _new_head(model)], name="head"
    )
    compile_model(head, config, num_classes)
    history, best_epoch = fit_model(head, train_features, val_features, config, options)
    val_metrics = evaluate_model(head, val_features, config)
    # Dense(W, b) on (f - mean) / scale is Dense(W / scale, b - (mean / scale) @ W) on f.
    kernel, bias = head.layers[-1].layers[-1].get_weights()
    kernel = kernel / scale[:, None]
    model.get_layer(HEAD).layers[-1].set_weights([kernel, bias - mean @ kernel])
    compile_model(model, config, num_classes)
    return make_result(model, history, best_epoch, val_metrics, start, len(train_features), config)


def _new_head(model: keras.Model) -> keras.Sequential:
    """A fresh copy of `model`'s classification head, same layers and initial weights."""
    head = model.get_layer(HEAD)
    clone = keras.models.clone_model(head)
    clone.set_weights(head.get_weights())
    return clone


def _standardization(features: np.ndarray, standardize: bool):
    features = np.asarray(features, dtype="float64")
    if not standardize:
        return np.zeros(features.shape[1:]), np.ones(features.shape[1:])
    mean, scale = features.mean(axis=0), features.std(axis=0)
    # A feature whose spread is float32 noise around its mean carries no information:
    # leave it unscaled. The test is relative: features of a randomly initialised
    # MobileNetV2 in inference mode are ~1e-11 yet informative.
    return mean, np.where(scale > 1e-6 * np.abs(mean), scale, 1.0)
