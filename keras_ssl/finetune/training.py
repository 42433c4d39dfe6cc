"""Fine-tuning a (pretrained) encoder into a classifier with a recipe: `finetune` and friends."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np

from keras_ssl.callbacks import StopOnNaN
from keras_ssl.finetune._inputs import (
    LabeledData,
    check_labels,
    check_num_classes,
    labeled_data,
)
from keras_ssl.finetune.models import classifier, copy_encoder, countable_layers
from keras_ssl.finetune.recipes import FinetuneConfig, get_recipe

_HEAD = "classification_head"  # the name `classifier` gives its head


@dataclass
class FinetuneResult:
    """What a fine-tuning run returns.

    Attributes:
        model: the trained classifier, from images in [0, 255] to class probabilities,
            compiled; with the best epoch's weights when the recipe restores them.
        history: the Keras `History.history`: metric name -> one float per epoch
            (`loss`, `accuracy`, `val_accuracy`, `learning_rate`, ...).
        best_epoch: the epoch (from 1) with the best value of `recipe.monitor`.
        epochs_run: epochs actually trained (fewer than `recipe.epochs` after early stopping).
        val_metrics: the returned model's metrics on the validation data, without the
            `val_` prefix (`loss`, `accuracy`, `top3_accuracy` or `auc`).
        seconds: wall time of building and training (embedding included for a linear
            probe on cached features), in seconds.
        train_size: number of labeled training examples.
        recipe: the `FinetuneConfig` used.
    """

    model: keras.Model
    history: dict[str, list[float]]
    best_epoch: int
    epochs_run: int
    val_metrics: dict[str, float]
    seconds: float
    train_size: int
    recipe: FinetuneConfig = field(repr=False)

    @property
    def accuracy(self) -> float:
        """Validation accuracy of the returned model."""
        return self.val_metrics["accuracy"]


@dataclass
class RunOptions:
    """How to run a fine-tuning, besides the recipe (see `finetune`'s arguments)."""

    copy: bool = True
    callbacks: Sequence[keras.callbacks.Callback] | None = None
    verbose: int | str = "auto"
    input_shape: tuple[int, int, int] | None = None
    log_csv: str | None = None
    augmenter: keras.layers.Layer | None = None
    seed: int | None = None


def finetune(
    encoder: keras.Model,
    train_data,
    val_data,
    num_classes: int,
    recipe: str | FinetuneConfig = "umea",
    *,
    copy: bool = True,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    verbose: int | str = "auto",
    input_shape: tuple[int, int, int] | None = None,
    log_csv: str | None = None,
    augmenter: keras.layers.Layer | None = None,
    seed: int | None = None,
    **overrides,
) -> FinetuneResult:
    """Fine-tunes `encoder` + a classification head on labeled data with a recipe.

    The Umeå report's recipe (§2.4.2) is the default: the first 100 encoder layers
    frozen, Dropout 0.5 + softmax head, Adam 1e-4, up to 50 epochs, early stopping on
    validation accuracy (patience 4) restoring the best weights, learning rate halved
    on a plateau. All inputs are checked before anything is built or trained. Recipes
    with `cache_features=True` (`"linear_probe"`) run `linear_probe_features`.

    Args:
        encoder: the pretrained encoder, images in [0, 255] -> features.
        train_data: `(images, labels)` arrays, or a finite batched `tf.data.Dataset` of
            them; labels are class ids `[N]` in `[0, num_classes)`, every class present
            (multi-hot `[N, num_classes]` for `multi_label` recipes).
        val_data: validation data in the same forms, not empty.
        num_classes: output units of the head (classes, or attributes).
        recipe: a name from `available_recipes()` or a `FinetuneConfig`.
        copy: fine-tune a copy of `encoder` (so it can be reused, e.g. by a sweep)
            rather than the encoder itself.
        callbacks: more Keras callbacks, after the recipe's own (`StopOnNaN`,
            `EarlyStopping`, `ReduceLROnPlateau`).
        verbose: Keras' `fit` verbosity.
        input_shape: image shape if different from the encoder's; images are resized
            to the encoder's inside the model.
        log_csv: a path to log the metrics of each epoch to (`keras.callbacks.CSVLogger`).
        augmenter: the layer that augments training images when `recipe.augment`;
            default random horizontal flips and ±10% translations.
        seed: if given, seeds Keras' global random state first (weights, dropout,
            shuffling) with `keras.utils.set_random_seed`, for a repeatable run.
        **overrides: recipe fields to change, e.g. `epochs=10, freeze_first=50`.

    Returns:
        A `FinetuneResult`.

    Raises:
        ValueError: for an unknown recipe or field, data of the wrong form, labels
            outside `[0, num_classes)` or missing a class, empty data, or a
            `freeze_first` larger than the encoder.

    Example:

    ```python
    result = keras_ssl.finetune.finetune(encoder, (x_train, y_train), (x_val, y_val), 10)
    print(result.accuracy, result.best_epoch)
    ```
    """
    config = get_recipe(recipe, **overrides)
    train, val = _checked_inputs(encoder, train_data, val_data, num_classes, config)
    options = RunOptions(copy, callbacks, verbose, input_shape, log_csv, augmenter, seed)
    train_fn = _linear_probe if config.cache_features else _finetune
    return train_fn(encoder, train, val, num_classes, config, options)


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
    train, val = _checked_inputs(encoder, train_data, val_data, num_classes, config)
    options = RunOptions(copy, callbacks, verbose, input_shape, log_csv, seed=seed)
    return _linear_probe(encoder, train, val, num_classes, config, options)


def supervised_baseline(
    encoder: keras.Model | Callable[[], keras.Model],
    train_data,
    val_data,
    num_classes: int,
    recipe: str | FinetuneConfig = "supervised",
    **kwargs,
) -> FinetuneResult:
    """The supervised baseline of the Umeå report (§2.5): same architecture, all layers trained.

    Args:
        encoder: an encoder whose architecture is re-initialised (no pretrained
            weights, `weights=None`), or a function building a fresh encoder, used
            with the weights it builds, e.g.
            `functools.partial(keras_ssl.encoders.mobilenet_v2, weights="imagenet")`
            for the report's ImageNet initialisation.
        train_data, val_data, num_classes: as in `finetune` (the report uses 100% of
            the labels).
        recipe: the recipe, `"supervised"` by default (Umeå fine-tuning settings with
            every layer trainable).
        **kwargs: passed to `finetune` (e.g. `input_shape`, `epochs=...`).

    Returns:
        A `FinetuneResult`.

    Example:

    ```python
    baseline = supervised_baseline(
        functools.partial(keras_ssl.encoders.mobilenet_v2, input_shape=(96, 96, 3)),
        (x_train, y_train), (x_val, y_val), num_classes=10, input_shape=(32, 32, 3))
    ```
    """
    if isinstance(encoder, keras.Model):
        config = get_recipe(recipe, reinitialize=True)
        return finetune(encoder, train_data, val_data, num_classes, config, **kwargs)
    if not callable(encoder):
        raise ValueError(
            "`encoder` must be a keras.Model (re-initialised) or a function returning a fresh "
            f"encoder; got {type(encoder).__name__}."
        )
    config = get_recipe(recipe, reinitialize=False)
    # Check the data before building (ImageNet weights take a while to load).
    _checked_inputs(None, train_data, val_data, num_classes, config)
    built = encoder()
    if not isinstance(built, keras.Model):
        raise ValueError(
            f"The encoder builder must return a keras.Model; got {type(built).__name__}."
        )
    return finetune(built, train_data, val_data, num_classes, config, copy=False, **kwargs)


def _checked_inputs(encoder, train_data, val_data, num_classes, config: FinetuneConfig):
    """Validates everything `_finetune` needs; returns the checked train and val data."""
    check_num_classes(num_classes, config.multi_label)
    if encoder is not None:
        check_encoder(encoder, config)
    train = labeled_data(train_data, "train_data")
    val = labeled_data(val_data, "val_data")
    check_labels(train, num_classes, config.multi_label, "train_data", every_class=True)
    check_labels(val, num_classes, config.multi_label, "val_data", every_class=False)
    check_monitor(config, num_classes)
    return train, val


def check_encoder(encoder, config: FinetuneConfig) -> None:
    if not isinstance(encoder, keras.Model):
        raise ValueError(f"`encoder` must be a keras.Model; got {type(encoder).__name__}.")
    if isinstance(config.freeze_first, int):
        layers = len(countable_layers(encoder))
        if config.freeze_first > layers:
            raise ValueError(
                f"Recipe {config.name!r} freezes the first {config.freeze_first} layers but "
                f"encoder {encoder.name!r} has only {layers} (preprocessing not counted). Pass "
                f"freeze_first <= {layers} (e.g. get_recipe({config.name!r}, freeze_first=...)), "
                "0 to train all layers, or 'all' for a linear probe."
            )


def _metrics(num_classes: int, multi_label: bool) -> list[keras.metrics.Metric]:
    if multi_label:
        return [
            keras.metrics.BinaryAccuracy(name="accuracy"),
            keras.metrics.AUC(multi_label=True, num_labels=num_classes, name="auc"),
        ]
    metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    if num_classes > 3:  # top-3 of 3 classes is always 1
        metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3_accuracy"))
    return metrics


def check_monitor(config: FinetuneConfig, num_classes: int) -> None:
    names = ["loss"] + [metric.name for metric in _metrics(num_classes, config.multi_label)]
    allowed = [f"val_{name}" for name in names]
    if config.monitor not in allowed:
        raise ValueError(
            f"`monitor` {config.monitor!r} is not logged by this fine-tuning; use one of {allowed}."
        )


def _compile(model: keras.Model, config: FinetuneConfig, num_classes: int) -> None:
    optimizer = keras.optimizers.get(
        {"class_name": config.optimizer, "config": {"learning_rate": config.learning_rate}}
    )
    loss = "binary_crossentropy" if config.multi_label else "sparse_categorical_crossentropy"
    model.compile(optimizer=optimizer, loss=loss, metrics=_metrics(num_classes, config.multi_label))


def _callbacks(config: FinetuneConfig, extra, log_csv) -> list[keras.callbacks.Callback]:
    mode = "min" if config.monitor.endswith("loss") else "max"
    result = [StopOnNaN()]
    if config.patience is not None:
        result.append(
            keras.callbacks.EarlyStopping(
                monitor=config.monitor,
                mode=mode,
                patience=config.patience,
                restore_best_weights=config.restore_best_weights,
            )
        )
    if config.reduce_lr_factor is not None:
        result.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=config.monitor,
                mode=mode,
                factor=config.reduce_lr_factor,
                patience=config.reduce_lr_patience,
                min_lr=config.min_lr,
            )
        )
    if log_csv is not None:
        result.append(keras.callbacks.CSVLogger(str(log_csv)))
    return result + list(extra or [])


def default_augmenter(seed: int | None = None) -> keras.Sequential:
    """Random horizontal flips and ±10% translations (reflected borders), training only."""
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed),
        ],
        name="augment",
    )


def _prepare_encoder(encoder: keras.Model, config: FinetuneConfig, copy: bool) -> keras.Model:
    if config.reinitialize:
        return keras.models.clone_model(encoder)  # same layers, fresh initial weights
    return copy_encoder(encoder) if copy else encoder


def _build(encoder, num_classes, config: FinetuneConfig, input_shape, augmenter=None):
    model = classifier(
        encoder,
        num_classes,
        freeze_first=None if config.freezes_encoder else config.freeze_first,
        dropout=config.dropout,
        activation="sigmoid" if config.multi_label else "softmax",
        input_shape=input_shape,
        name=f"{config.name}_classifier",
    )
    if config.freezes_encoder:
        encoder.trainable = False
    if augmenter is None:
        return model
    inputs = keras.Input(shape=model.input_shape[1:], name="images")
    return keras.Model(inputs, model(augmenter(inputs)), name=model.name)


def _fit_kwargs(train: LabeledData, val: LabeledData, config: FinetuneConfig) -> dict:
    kwargs = {"epochs": config.epochs}
    if train.is_arrays:
        kwargs["x"], kwargs["y"] = _arrays(train, config)
        kwargs["batch_size"] = config.batch_size
    else:  # `fit` cannot shuffle a dataset: it comes shuffled, or not
        kwargs["x"], kwargs["shuffle"] = train.dataset, False
    kwargs["validation_data"] = _arrays(val, config) if val.is_arrays else val.dataset
    return kwargs


def _arrays(data: LabeledData, config: FinetuneConfig):
    return data.images, data.labels.astype("float32") if config.multi_label else data.labels


def _evaluate(model: keras.Model, data: LabeledData, config: FinetuneConfig) -> dict[str, float]:
    if data.is_arrays:
        images, labels = _arrays(data, config)
        logs = model.evaluate(
            images, labels, batch_size=config.batch_size, verbose=0, return_dict=True
        )
    else:
        logs = model.evaluate(data.dataset, verbose=0, return_dict=True)
    return {name: float(value) for name, value in logs.items()}


def _fit(model, train, val, config: FinetuneConfig, options: RunOptions):
    """Runs `fit`; returns the history as plain floats and the best epoch (from 1)."""
    history = model.fit(
        callbacks=_callbacks(config, options.callbacks, options.log_csv),
        verbose=options.verbose,
        **_fit_kwargs(train, val, config),
    )
    history = {name: [float(v) for v in values] for name, values in history.history.items()}
    values = np.asarray(history[config.monitor], dtype="float64")
    best = np.argmin(values) if config.monitor.endswith("loss") else np.argmax(values)
    return history, int(best) + 1


def _result(model, history, best_epoch, val_metrics, start, train_size, config):
    return FinetuneResult(
        model=model,
        history=history,
        best_epoch=best_epoch,
        epochs_run=len(history[config.monitor]),
        val_metrics=val_metrics,
        seconds=time.perf_counter() - start,
        train_size=train_size,
        recipe=config,
    )


def _finetune(encoder, train, val, num_classes, config, options: RunOptions) -> FinetuneResult:
    start = time.perf_counter()
    if options.seed is not None:
        keras.utils.set_random_seed(options.seed)
    augmenter = None
    if config.augment:
        augmenter = options.augmenter or default_augmenter(options.seed)
    encoder = _prepare_encoder(encoder, config, options.copy)
    model = _build(encoder, num_classes, config, options.input_shape, augmenter)
    _compile(model, config, num_classes)
    history, best_epoch = _fit(model, train, val, config, options)
    val_metrics = _evaluate(model, val, config)
    return _result(model, history, best_epoch, val_metrics, start, len(train), config)


def embed(feature_model: keras.Model, data: LabeledData, batch_size: int):
    """Features and labels of `data` (encoder in inference mode), in batches."""
    if data.is_arrays:
        return feature_model.predict(data.images, batch_size=batch_size, verbose=0), data.labels
    features, labels = [], []
    for batch in data.dataset:  # labels re-read here: a dataset may reshuffle each pass
        features.append(keras.ops.convert_to_numpy(feature_model(batch[0], training=False)))
        labels.append(np.asarray(batch[1]))
    return np.concatenate(features), np.concatenate(labels)


def feature_model(model: keras.Model) -> keras.Model:
    """The part of a `classifier` model before its head: images -> encoder features."""
    return keras.Model(model.inputs, model.get_layer(_HEAD).input, name="features")


def _linear_probe(
    encoder, train, val, num_classes, config, options: RunOptions, features=None
) -> FinetuneResult:
    """Trains the head of a frozen-encoder classifier on cached features.

    `features` = (train, val) `LabeledData` of features skips the embedding (the
    sweep embeds the whole training set once and passes subsets).
    """
    start = time.perf_counter()
    if options.seed is not None:
        keras.utils.set_random_seed(options.seed)
    encoder = _prepare_encoder(encoder, config, options.copy)
    model = _build(encoder, num_classes, config, options.input_shape)
    if features is None:
        extractor = feature_model(model)
        features = tuple(
            LabeledData(*reversed(embed(extractor, data, config.batch_size)))
            for data in (train, val)
        )
    train_features, val_features = features
    mean, scale = _standardization(train_features.images, config.standardize_features)
    train_features, val_features = (
        LabeledData(data.labels, (data.images - mean) / scale) for data in features
    )
    head = keras.Sequential(
        [keras.Input(shape=train_features.images.shape[1:]), _new_head(model)], name="head"
    )
    _compile(head, config, num_classes)
    history, best_epoch = _fit(head, train_features, val_features, config, options)
    val_metrics = _evaluate(head, val_features, config)
    # Dense(W, b) on (f - mean) / scale is Dense(W / scale, b - (mean / scale) @ W) on f.
    kernel, bias = head.layers[-1].layers[-1].get_weights()
    kernel = kernel / scale[:, None]
    model.get_layer(_HEAD).layers[-1].set_weights([kernel, bias - mean @ kernel])
    _compile(model, config, num_classes)
    return _result(model, history, best_epoch, val_metrics, start, len(train_features), config)


def _new_head(model: keras.Model) -> keras.Sequential:
    """A fresh copy of `model`'s classification head, same layers and initial weights."""
    head = model.get_layer(_HEAD)
    clone = keras.models.clone_model(head)
    clone.set_weights(head.get_weights())
    return clone


def _standardization(features: np.ndarray, standardize: bool):
    features = np.asarray(features, dtype="float64")
    if not standardize:
        return np.zeros(features.shape[1:]), np.ones(features.shape[1:])
    scale = features.std(axis=0)
    # A constant feature carries no information: leave it unscaled.
    return features.mean(axis=0), np.where(scale > 1e-8, scale, 1.0)
