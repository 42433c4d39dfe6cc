"""Fine-tuning a (pretrained) encoder into a classifier with a recipe: `finetune` and friends."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import keras

from keras_ssl.data import light_augment
from keras_ssl.finetune._core import (
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
from keras_ssl.finetune.probe import train_probe
from keras_ssl.finetune.recipes import FinetuneConfig, get_recipe


def finetune(
    encoder: keras.Model,
    train_data,
    val_data,
    num_classes: int,
    recipe: str | FinetuneConfig = "full",
    *,
    copy: bool = True,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    verbose: int | str = "auto",
    input_shape: tuple[int, int, int] | None = None,
    log_csv: str | None = None,
    augmenter: keras.layers.Layer | None = None,
    seed: int | None = None,
    backup_dir: str | None = None,
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
            `EarlyStopping`, `ReduceLROnPlateau`) and before the `ResumableTraining`
            that records (and backs up) each epoch.
        verbose: Keras' `fit` verbosity.
        input_shape: image shape if different from the encoder's; images are resized
            to the encoder's inside the model.
        log_csv: a path rewritten after every epoch with the metrics of each epoch
            (a row per epoch, `epoch` counted from 0, and `seconds`).
        augmenter: the layer that augments training images when `recipe.augment`;
            default `keras_ssl.data.light_augment(seed)`: random horizontal flips
            and shifts by up to 1/8 of the size.
        seed: if given, seeds Keras' global random state first (weights, dropout,
            shuffling) with `keras.utils.set_random_seed`, for a repeatable run.
        backup_dir: a folder where the model, the optimizer state, the best weights
            and the history are backed up after every epoch
            (`keras_ssl.resume.ResumableTraining`): the same call after a kill
            resumes from the last finished epoch and returns what an uninterrupted
            run would (the best epoch and its weights over the whole history).
            Deleted when training ends.
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
    train, val = checked_inputs(encoder, train_data, val_data, num_classes, config)
    options = RunOptions(
        copy, callbacks, verbose, input_shape, log_csv, augmenter, seed, backup_dir
    )
    train_fn = train_probe if config.cache_features else train_finetune
    return train_fn(encoder, train, val, num_classes, config, options)


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
    fields = FinetuneConfig.model_fields
    overrides = {name: kwargs.pop(name) for name in list(kwargs) if name in fields}
    if isinstance(encoder, keras.Model):
        config = get_recipe(recipe, **{**overrides, "reinitialize": True})
        return finetune(encoder, train_data, val_data, num_classes, config, **kwargs)
    if not callable(encoder):
        raise ValueError(
            "`encoder` must be a keras.Model (re-initialised) or a function returning a fresh "
            f"encoder; got {type(encoder).__name__}."
        )
    config = get_recipe(recipe, **{**overrides, "reinitialize": False})
    # Check the data before building (ImageNet weights take a while to load).
    checked_inputs(None, train_data, val_data, num_classes, config)
    built = encoder()
    if not isinstance(built, keras.Model):
        raise ValueError(
            f"The encoder builder must return a keras.Model; got {type(built).__name__}."
        )
    kwargs["copy"] = False  # the encoder was built for this run
    return finetune(built, train_data, val_data, num_classes, config, **kwargs)


def train_finetune(encoder, train, val, num_classes, config, options: RunOptions) -> FinetuneResult:
    start = time.perf_counter()
    if options.seed is not None:
        keras.utils.set_random_seed(options.seed)
    augmenter = None
    if config.augment:
        augmenter = options.augmenter
        if augmenter is None:
            augmenter = light_augment(options.seed)
    encoder = prepare_encoder(encoder, config, options.copy)
    model = build_model(encoder, num_classes, config, options.input_shape, augmenter)
    compile_model(model, config, num_classes)
    history, best_epoch = fit_model(model, train, val, config, options)
    val_metrics = evaluate_model(model, val, config)
    return make_result(model, history, best_epoch, val_metrics, start, len(train), config)
