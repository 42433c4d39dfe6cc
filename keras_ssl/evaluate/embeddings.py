"""Run an encoder over a data set in batches, and save / load the embeddings as `.npz`."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import keras
import numpy as np

from keras_ssl.config import PositiveInt, check

# Accepted `data` forms, in the words used by error messages.
_DATA_FORMS = (
    "an array of inputs, an (inputs, labels) tuple of arrays, or a batched "
    "tf.data.Dataset / iterable yielding inputs or (inputs, labels)"
)


def _to_numpy(x) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x))


def _num_batches(data, batch_size: int) -> int | None:
    """Batches `_iterate_batches` will yield, or None if unknown."""
    if isinstance(data, (tuple, list)):
        return -(-len(data[0]) // batch_size)
    if hasattr(data, "shape"):
        return -(-len(data) // batch_size)
    try:
        return len(data)
    except TypeError as error:
        if "infinite" in str(error):
            raise ValueError(
                "`data` is an infinite dataset; pass a finite one (drop `.repeat()`)."
            ) from error
        return None


def _iterate_batches(data, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Yields `(inputs, labels_or_None)` NumPy batches from any accepted `data` form."""
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"A tuple `data` must be (inputs, labels); got {len(data)} items.")
        x, y = data
        if len(x) != len(y):
            raise ValueError(f"`data` has {len(x)} inputs but {len(y)} labels.")
        for start in range(0, len(x), batch_size):
            yield _to_numpy(x[start : start + batch_size]), _to_numpy(y[start : start + batch_size])
    elif hasattr(data, "shape"):
        for start in range(0, len(data), batch_size):
            yield _to_numpy(data[start : start + batch_size]), None
    elif hasattr(data, "__iter__"):
        for element in data:
            if isinstance(element, (tuple, list)):  # (x, y) or (x, y, sample_weight)
                yield _to_numpy(element[0]), _to_numpy(element[1])
            elif isinstance(element, dict):
                raise ValueError("`data` yields dicts; map it to (inputs, labels) tuples first.")
            else:
                yield _to_numpy(element), None
    else:
        raise ValueError(f"`data` must be {_DATA_FORMS}; got {type(data).__name__}.")


def predict_batches(
    model, data, batch_size: int = 256, verbose: int = 1
) -> tuple[np.ndarray, np.ndarray | None]:
    """Runs `model` in inference mode over `data` and collects outputs and labels.

    Args:
        model: A Keras model (or layer) with a single output.
        data: See `compute_embeddings`.
        batch_size: Batch size for array inputs (datasets keep their own).
        verbose: 0 = silent, 1 = progress bar, 2 = one line at the end.

    Returns:
        `(outputs, labels)`: outputs concatenated over batches; labels likewise,
        or `None` if `data` has none.
    """
    check(batch_size, PositiveInt, "batch_size")
    progbar = keras.utils.Progbar(
        _num_batches(data, batch_size), verbose=verbose, unit_name="batch"
    )
    outputs, labels = [], []
    # A model trained under tf.distribute: `predict_on_batch` would give every replica
    # the whole batch and return each one's outputs; the model itself runs it once.
    strategy = getattr(model, "_distribute_strategy", None)
    per_replica = strategy is not None and strategy.num_replicas_in_sync > 1
    for step, (x, y) in enumerate(_iterate_batches(data, batch_size)):
        if hasattr(model, "predict_on_batch") and not per_replica:
            out = model.predict_on_batch(x)
        else:
            out = model(x, training=False)
        if isinstance(out, (dict, list, tuple)):
            raise ValueError("The model must have a single output tensor; got several outputs.")
        outputs.append(_to_numpy(out))
        labels.append(y)
        if verbose:
            progbar.update(step + 1)
    if verbose and progbar.target is None and outputs:
        progbar.update(len(outputs), finalize=True)  # a dataset of unknown length ends here
    if not outputs:
        raise ValueError("`data` is empty: no batch to run the model on.")
    if any(y is None for y in labels):
        return np.concatenate(outputs), None
    return np.concatenate(outputs), np.concatenate(labels)


def compute_embeddings(
    encoder, data, batch_size: int = 256, verbose: int = 1
) -> tuple[np.ndarray, np.ndarray | None]:
    """Embeds a data set with `encoder` in batches, with a Keras progress bar.

    The encoder runs in inference mode (`predict_on_batch`), so BatchNorm uses its
    moving statistics and Dropout is off.

    Args:
        encoder: A Keras model mapping an input batch to `[batch, dim]` features
            (e.g. a backbone with global pooling).
        data: An array of inputs (images), an `(inputs, labels)` tuple of arrays,
            or a *batched* `tf.data.Dataset` (or any iterable) yielding inputs or
            `(inputs, labels)` batches. It must be finite.
        batch_size: Batch size for array inputs.
        verbose: 0 = silent, 1 = progress bar, 2 = one line at the end.

    Returns:
        `(features, labels)`: `float32` features `[N, dim]` and the labels as
        given (`None` if `data` has none).

    Example:
    >>> features, labels = compute_embeddings(encoder, (images, labels), verbose=0)
    >>> save_embeddings("cifar_embeddings.npz", features, labels, class_names)
    """
    features, labels = predict_batches(encoder, data, batch_size, verbose)
    if features.ndim != 2:
        raise ValueError(
            f"The encoder must output [batch, dim] features; got shape {features.shape[1:]} per "
            "batch. Add global pooling (e.g. `pooling='avg'`)."
        )
    return features.astype(np.float32), labels


def save_embeddings(path, features, labels=None, class_names: Sequence[str] | None = None) -> str:
    """Saves embeddings (and labels, class names) to an uncompressed `.npz` file.

    Args:
        path: Destination; `.npz` is appended if missing; folders are created.
        features: Array `[N, dim]`.
        labels: Optional labels with `N` rows (class ids or multi-hot).
        class_names: Optional names of the classes.

    Returns:
        The path written.

    Example:
    >>> path = save_embeddings("out/emb.npz", features, labels, ["cat", "dog"])
    >>> features, labels, class_names = load_embeddings(path)
    """
    features = np.asarray(features)
    if features.ndim != 2 or len(features) == 0:
        raise ValueError(
            f"`features` must be a non-empty [N, dim] array; got shape {features.shape}."
        )
    arrays = {"features": features}
    if labels is not None:
        labels = np.asarray(labels)
        if len(labels) != len(features):
            raise ValueError(f"{len(features)} feature rows but {len(labels)} labels.")
        arrays["labels"] = labels
    if class_names is not None:
        arrays["class_names"] = np.asarray([str(name) for name in class_names], dtype=np.str_)
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    np.savez(path, **arrays)
    return path


def load_embeddings(path) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
    """Loads a file written by `save_embeddings`.

    Args:
        path: The `.npz` file.

    Returns:
        `(features, labels, class_names)`; `labels` / `class_names` are `None`
        when they were not saved.
    """
    with np.load(os.fspath(path), allow_pickle=False) as archive:
        if "features" not in archive:
            raise ValueError(f"{path} has no `features` array; was it written by save_embeddings?")
        labels = archive["labels"] if "labels" in archive else None
        names = archive["class_names"].tolist() if "class_names" in archive else None
        return archive["features"], labels, names


class EncoderCallback(keras.callbacks.Callback):
    """What the online evaluations during pretraining share: the encoder and labelled embeddings.

    Subclasses set `encoder` (None: the trained model's `encoder` attribute) and
    `batch_size`, and call `_get_encoder()` and `_embed(...)`.
    """

    def _get_encoder(self):
        encoder = self.encoder if self.encoder is not None else getattr(self.model, "encoder", None)
        if encoder is None:
            raise ValueError(
                f"{type(self).__name__} needs an encoder: pass `encoder=` or train a model with "
                "an `encoder` attribute."
            )
        return encoder

    def _embed(self, encoder, data, name):
        """`(features [N, dim], labels)` of labelled data, in inference mode."""
        features, labels = compute_embeddings(encoder, data, self.batch_size, verbose=0)
        if labels is None:
            raise ValueError(f"`{name}` must carry labels: (images, labels).")
        return features.reshape(len(features), -1), labels
