"""Pretext losses written with `keras.ops`, so they run on every Keras backend."""

from __future__ import annotations

import numbers

import keras
from keras import ops

# Logits of masked pairs are pushed this far below the others. Finite (unlike
# -inf) so that no `inf - inf` can produce NaN; applied in float32 so that it
# also holds under mixed precision, where float16 would overflow at 65504.
_MASK_PENALTY = 1e9


def _check_temperature(temperature: float) -> float:
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, numbers.Real)
        or not temperature > 0
    ):
        raise ValueError(
            f"`temperature` must be a positive number (SimCLR uses 0.1 to 0.5); got {temperature!r}."
        )
    return float(temperature)


def l2_normalize(x, axis: int = -1, epsilon: float = 1e-12):
    """Scales `x` to unit L2 norm along `axis`; zero vectors stay zero, with zero gradient.

    `x / max(|x|, sqrt(epsilon))`. Not `keras.ops.normalize`: it clips the inverse norm
    after `rsqrt`, which is infinite for a zero vector, and under JAX its gradient there
    is NaN; clipping the squared norm first keeps every backend's gradient finite.
    """
    return x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x), axis=axis, keepdims=True), epsilon))


def contrastive_logits(z_a, z_b, temperature: float = 0.1):
    """Cosine-similarity logits of the 2N views against each other, self-pairs masked.

    Row `i` holds the similarities of view `i` (views of the first batch are rows
    `0..N-1`, their partners rows `N..2N-1`) to all 2N views divided by the
    temperature, with the similarity of a view to itself masked out. The label of row
    `i` is the index of its partner view.

    Args:
        z_a: embeddings of the first views, shape `(N, D)`.
        z_b: embeddings of the second views, shape `(N, D)`; `z_b[k]` is the partner
            of `z_a[k]`.
        temperature: the softmax temperature tau, > 0.

    Returns:
        `(logits, labels)`: float32 logits of shape `(2N, 2N)` and int32 labels of
        shape `(2N,)`.
    """
    temperature = _check_temperature(temperature)
    if len(z_a.shape) != 2 or len(z_b.shape) != 2:
        raise ValueError(
            "NT-Xent expects two batches of embedding vectors of shape (batch, dim); "
            f"got shapes {tuple(z_a.shape)} and {tuple(z_b.shape)}."
        )
    if tuple(z_a.shape) != tuple(z_b.shape) and None not in (*z_a.shape, *z_b.shape):
        raise ValueError(
            "The two views must have embeddings of the same shape; "
            f"got {tuple(z_a.shape)} and {tuple(z_b.shape)}."
        )
    if z_a.shape[0] is not None and z_a.shape[0] < 2:
        raise ValueError(
            "A contrastive batch needs at least 2 images (each view is contrasted with "
            f"the 2N - 2 views of the other images); got a batch of {z_a.shape[0]}. "
            "Use a larger batch size, and `drop_remainder=True` in tf.data."
        )
    z = ops.concatenate([z_a, z_b], axis=0)
    z = l2_normalize(ops.cast(z, "float32"))
    logits = ops.matmul(z, ops.transpose(z)) / temperature
    num_views = ops.shape(z)[0]
    batch_size = num_views // 2
    logits = logits - _MASK_PENALTY * ops.eye(num_views, dtype="float32")
    labels = ops.concatenate(
        [ops.arange(batch_size, num_views, dtype="int32"), ops.arange(0, batch_size, dtype="int32")]
    )
    return logits, labels


def nt_xent_per_view(z_a, z_b, temperature: float = 0.1):
    """The NT-Xent loss of each of the 2N views, shape `(2N,)` (see `nt_xent`)."""
    logits, labels = contrastive_logits(z_a, z_b, temperature)
    return ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)


def nt_xent(z_a, z_b, temperature: float = 0.1):
    """Normalized temperature-scaled cross-entropy (NT-Xent), the SimCLR loss.

    With the 2N views' embeddings `z`, cosine similarities
    `s(i, j) = z_i . z_j / (|z_i| |z_j|)` and `j(i)` the partner of view `i`
    (Chen et al. 2020, Algorithm 1):

        l(i) = -log( exp(s(i, j(i)) / tau) / sum_{k != i} exp(s(i, k) / tau) )
        L = 1 / (2N) * sum_i l(i)

    Computed in float32 whatever the input dtype, with the self-similarity masked by
    a finite penalty so that it is NaN-free for any temperature.

    Args:
        z_a: embeddings of the first views, shape `(N, D)`, N >= 2.
        z_b: embeddings of the second views, shape `(N, D)`.
        temperature: tau, > 0.

    Returns:
        The scalar loss (float32).

    Example:

    >>> import numpy as np
    >>> z = np.random.normal(size=(8, 16)).astype("float32")
    >>> float(nt_xent(z, z, temperature=0.5)) > 0
    True
    """
    return ops.mean(nt_xent_per_view(z_a, z_b, temperature))


@keras.saving.register_keras_serializable(package="keras_ssl")
class NTXent(keras.losses.Loss):
    """NT-Xent as a Keras `Loss`: `NTXent()(z_a, z_b)` returns `nt_xent(z_a, z_b)`.

    The two arguments take the places of `y_true` and `y_pred`: the embeddings of the
    first and of the second views. Sample weights, if given, weight each of the 2N
    views.

    Args:
        temperature: tau, > 0.
        reduction: Keras loss reduction; the default averages over the 2N views.
        name: the loss name.

    Example:

    >>> import numpy as np
    >>> loss = NTXent(temperature=0.1)
    >>> z_a = np.random.normal(size=(4, 8)).astype("float32")
    >>> z_b = np.random.normal(size=(4, 8)).astype("float32")
    >>> bool(abs(float(loss(z_a, z_b)) - float(nt_xent(z_a, z_b, 0.1))) < 1e-5)
    True
    """

    def __init__(self, temperature: float = 0.1, reduction="sum_over_batch_size", name="nt_xent"):
        super().__init__(name=name, reduction=reduction, dtype="float32")
        self.temperature = _check_temperature(temperature)

    def call(self, y_true, y_pred):
        return nt_xent_per_view(y_true, y_pred, self.temperature)

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}
