"""Weighted k-nearest-neighbour classification of embeddings, and a callback that logs it.

The classifier of the InstDisc / SimCLR / DINO monitors (Wu et al. 2018, eq. 8): features
are L2-normalised, the `k` training examples with the highest cosine similarity `s_i` to
a query vote for their class with weight `exp(s_i / T)`, and the class with the largest
summed weight wins.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from keras_ssl.config import PositiveInt, check
from keras_ssl.evaluate.embeddings import EncoderCallback
from keras_ssl.evaluate.metrics import _check_k, check_integer_labels

# Bound on chunk * k * num_classes floats for the one-hot vote tensor (64 MB in float32).
_VOTE_BUDGET = 2**24


def _check_features(features, name: str) -> np.ndarray:
    features = np.asarray(features)
    if features.ndim != 2 or len(features) == 0:
        raise ValueError(
            f"`{name}` must be a non-empty [N, dim] array; got shape {features.shape}."
        )
    if not np.all(np.isfinite(features)):
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    return features.astype(np.float32)


def knn_predict(
    train_features,
    train_labels,
    query_features,
    k: int = 200,
    temperature: float = 0.1,
    num_classes: int | None = None,
    chunk_size: int = 256,
) -> np.ndarray:
    """Predicts classes of `query_features` by a temperature-weighted kNN vote.

    Computed with `keras.ops` in chunks of queries, so 50k x 10k fits in memory
    and runs on the accelerator when there is one. If `k` exceeds the number of
    training examples, all of them vote.

    Args:
        train_features: Labeled features, shape `[N, dim]` (any scale).
        train_labels: Integer class ids, shape `[N]`.
        query_features: Features to classify, shape `[Q, dim]`.
        k: Number of neighbours (200 as in InstDisc / DINO).
        temperature: `T` in the vote weight `exp(similarity / T)`; > 0.
        num_classes: Number of classes; defaults to `max(train_labels) + 1`.
        chunk_size: Queries handled at once.

    Returns:
        Predicted class ids, `int64` array of shape `[Q]`.

    Example:
    >>> predictions = knn_predict(train_features, train_labels, val_features, k=20)
    """
    k = _check_k(k)
    if not temperature > 0:
        raise ValueError(f"`temperature` must be > 0; got {temperature!r}.")
    check(chunk_size, PositiveInt, "chunk_size")
    train = _check_features(train_features, "train_features")
    query = _check_features(query_features, "query_features")
    if train.shape[1] != query.shape[1]:
        raise ValueError(
            f"`train_features` have dim {train.shape[1]} but `query_features` have dim {query.shape[1]}."
        )
    labels = check_integer_labels(train_labels, num_classes, "train_labels")
    if len(labels) != len(train):
        raise ValueError(f"{len(train)} `train_features` rows but {len(labels)} `train_labels`.")
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    k = min(k, len(train))
    chunk_size = max(1, min(chunk_size, _VOTE_BUDGET // (k * num_classes)))

    # No gradient flows here, so `ops.normalize` serves (see `losses.l2_normalize`).
    train_t = ops.normalize(ops.convert_to_tensor(train), epsilon=1e-12)
    labels_t = ops.convert_to_tensor(labels.astype(np.int32))
    query = ops.normalize(ops.convert_to_tensor(query), epsilon=1e-12)
    predictions = []
    for start in range(0, len(query), chunk_size):
        similarity = ops.matmul(query[start : start + chunk_size], ops.transpose(train_t))
        top_similarity, top_index = ops.top_k(similarity, k)
        # Subtracting the row maximum leaves the argmax unchanged and keeps exp finite for small T.
        weights = ops.exp((top_similarity - top_similarity[:, :1]) / temperature)
        votes = ops.one_hot(ops.take(labels_t, top_index), num_classes) * weights[..., None]
        predictions.append(ops.convert_to_numpy(ops.argmax(ops.sum(votes, axis=1), axis=-1)))
    return np.concatenate(predictions).astype(np.int64)


def knn_accuracy(
    train_features,
    train_labels,
    query_features,
    query_labels,
    k: int = 200,
    temperature: float = 0.1,
    num_classes: int | None = None,
) -> float:
    """Accuracy of `knn_predict` on labeled queries.

    Args:
        train_features, train_labels, query_features, k, temperature: As in
            `knn_predict`.
        query_labels: Integer class ids of the queries, shape `[Q]`.
        num_classes: Defaults to `max(train_labels, query_labels) + 1`.

    Returns:
        The fraction of queries classified correctly, in `[0, 1]`.
    """
    query_labels = check_integer_labels(query_labels, num_classes, "query_labels")
    if len(query_labels) != len(query_features):
        raise ValueError(
            f"{len(query_features)} `query_features` rows but {len(query_labels)} `query_labels`."
        )
    if num_classes is None:
        num_classes = int(max(np.max(train_labels), query_labels.max())) + 1
    predictions = knn_predict(
        train_features, train_labels, query_features, k, temperature, num_classes
    )
    return float(np.mean(predictions == query_labels))


class KNNMonitor(EncoderCallback):
    """Logs the kNN accuracy of the encoder's embeddings every `every_n_epochs` epochs.

    At the end of the first epoch and of every n-th epoch the encoder embeds
    `train_data` and `val_data` in inference mode and `knn_accuracy` of the
    validation set is written into `logs["knn_accuracy"]` (and printed), so
    `History`, `CSVLogger`, `EarlyStopping` and `ReduceLROnPlateau` see it: put this
    callback *before* them in the list. Other epochs leave the key out, so
    `EarlyStopping` and `ReduceLROnPlateau` count only measured epochs, `History`
    holds the measured values and `CSVLogger` writes "NA" in between.

    Args:
        train_data: Labeled data whose embeddings vote: an `(images, labels)`
            tuple or a finite batched dataset of `(images, labels)`.
        val_data: Labeled data to classify, same forms.
        every_n_epochs: Evaluate after epochs 1, n, 2n, ...
        k: Number of neighbours.
        temperature: Vote temperature.
        encoder: The model to embed with; defaults to `model.encoder`.
        batch_size: Batch size for array data.
        verbose: Print the accuracy when it is computed.

    Example:
    >>> monitor = KNNMonitor((x_train, y_train), (x_val, y_val), every_n_epochs=5)
    >>> simclr.fit(unlabeled, epochs=50, callbacks=[monitor, keras.callbacks.CSVLogger("log.csv")])
    """

    def __init__(
        self,
        train_data,
        val_data,
        every_n_epochs: int = 1,
        k: int = 200,
        temperature: float = 0.1,
        encoder=None,
        batch_size: int = 256,
        verbose: int = 1,
    ):
        super().__init__()
        check(every_n_epochs, PositiveInt, "every_n_epochs")
        if not temperature > 0:
            raise ValueError(f"`temperature` must be > 0; got {temperature!r}.")
        self.train_data = train_data
        self.val_data = val_data
        self.every_n_epochs = every_n_epochs
        self.k = _check_k(k)
        self.temperature = temperature
        self.encoder = encoder
        self.batch_size = batch_size
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        self._get_encoder()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        if epoch > 0 and (epoch + 1) % self.every_n_epochs:
            return
        encoder = self._get_encoder()
        train_features, train_labels = self._embed(encoder, self.train_data, "train_data")
        val_features, val_labels = self._embed(encoder, self.val_data, "val_data")
        accuracy = knn_accuracy(
            train_features, train_labels, val_features, val_labels, self.k, self.temperature
        )
        logs["knn_accuracy"] = accuracy
        if self.verbose:
            print(
                f"\nEpoch {epoch + 1}: knn_accuracy = {accuracy:.4f} (k={self.k}, T={self.temperature})"
            )
