"""Pretext losses written with `keras.ops`, so they run on every Keras backend."""

from __future__ import annotations

import numbers

import keras
from keras import ops

# Logits of masked pairs are pushed this far below the others. Finite (unlike
# -inf) so that no `inf - inf` can produce NaN; applied in float32 so that it
# also holds under mixed precision, where float16 would overflow at 65504.
_MASK_PENALTY = 1e9


def _check_temperature(temperature: float, name: str = "temperature") -> float:
    if hasattr(temperature, "dtype") and getattr(temperature, "ndim", None) == 0:
        return temperature  # a scheduled temperature, computed in the step
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, numbers.Real)
        or not temperature > 0
    ):
        raise ValueError(
            f"`{name}` must be a positive number (a softmax temperature such as 0.04 to 0.5); "
            f"got {temperature!r}."
        )
    return float(temperature)


def l2_normalize(x, axis: int = -1, epsilon: float = 1e-12):
    """Scales `x` to unit L2 norm along `axis`; zero vectors stay zero, with a finite gradient.

    `x / max(|x|, sqrt(epsilon))`. Not `keras.ops.normalize`: it clips the inverse norm
    after `rsqrt`, which is infinite for a zero vector, and under JAX its gradient there
    is NaN; clipping the squared norm first keeps every backend's gradient finite. Every
    normalisation in keras_ssl that a gradient flows through uses this one.

    Args:
        x: the tensor.
        axis: the axis to normalise along.
        epsilon: the smallest squared norm divided by; smaller norms are not scaled up
            beyond `1 / sqrt(epsilon)`.

    Returns:
        `x` scaled to unit norm along `axis`, same shape and dtype.

    Example:

    >>> import numpy as np
    >>> keras.ops.convert_to_numpy(l2_normalize(np.array([3.0, 4.0]))).round(4).tolist()
    [0.6, 0.8]
    """
    return x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x), axis=axis, keepdims=True), epsilon))


def contrastive_logits(z_a, z_b, temperature: float = 0.1, all_a=None, all_b=None, offset=0):
    """Cosine-similarity logits of the 2N views against each other, self-pairs masked.

    Row `i` holds the similarities of view `i` (views of the first batch are rows
    `0..N-1`, their partners rows `N..2N-1`) to all 2N views divided by the
    temperature, with the similarity of a view to itself masked out. The label of row
    `i` is the index of its partner view.

    When the batch is split across replicas, `all_a` / `all_b` hold the global batch's
    embeddings (every replica's, gathered) and the columns are its 2M views (first
    views `0..M-1`, second views `M..2M-1`): this replica's views are contrasted with
    every replica's, as on one device with the whole batch (SimCLR's global
    negatives).

    Args:
        z_a: embeddings of the first views, shape `(N, D)`.
        z_b: embeddings of the second views, shape `(N, D)`; `z_b[k]` is the partner
            of `z_a[k]`.
        temperature: the softmax temperature tau, > 0.
        all_a: the global batch's first-view embeddings, `(M, D)`, this replica's
            rows starting at `offset`; None: `z_a` (one replica).
        all_b: the same for the second views.
        offset: the row of `all_a` / `all_b` where this replica's `z_a` / `z_b` start.

    Returns:
        `(logits, labels)`: float32 logits of shape `(2N, 2M)` (M = N on one replica)
        and int32 labels of shape `(2N,)`.
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
    one_replica = all_a is None or (all_a is z_a and all_b is z_b)  # z is the whole batch
    if z_a.shape[0] is not None and z_a.shape[0] < 2 and one_replica:
        raise ValueError(
            "A contrastive batch needs at least 2 images (each view is contrasted with "
            f"the 2N - 2 views of the other images); got a batch of {z_a.shape[0]}. "
            "Use a larger batch size, and `drop_remainder=True` in tf.data."
        )
    z = l2_normalize(ops.cast(ops.concatenate([z_a, z_b], axis=0), "float32"))
    if one_replica:
        candidates, total = z, ops.shape(z_a)[0]
    else:
        candidates = l2_normalize(ops.cast(ops.concatenate([all_a, all_b], axis=0), "float32"))
        total = ops.shape(all_a)[0]
    logits = ops.matmul(z, ops.transpose(candidates)) / temperature
    rows = ops.arange(ops.shape(z_a)[0], dtype="int32") + ops.cast(offset, "int32")
    itself = ops.concatenate([rows, rows + total])
    logits = logits - _MASK_PENALTY * ops.one_hot(itself, 2 * total, dtype="float32")
    labels = ops.concatenate([rows + total, rows])
    return logits, labels


class _LossFunctionWrapper(keras.losses.Loss):
    """A per-sample loss function with fixed keyword arguments, as a Keras `Loss`.

    What `keras.losses.LossFunctionWrapper` does for Keras' own losses; Keras 3 does not
    export it (it lives in the private `keras.src`), so this is the small part of it that
    keras_ssl needs. Keras passes the targets first (`y_true`: no gradient flows to them)
    and the predictions second (`y_pred`); the functions keep the papers' order,
    predictions first (`D(p, z)`), so that no positional caller's stop-gradient moves,
    and `y_true` follows `y_pred`, unpacked when it is a tuple, as in
    `InfoNCE()((key, queue), query)`. The keyword arguments are the config (and readable
    as attributes, as Keras' `BinaryCrossentropy.from_logits`). Computes in float32.
    """

    def __init__(self, fn, reduction, name, **fn_kwargs):
        super().__init__(name=name, reduction=reduction, dtype="float32")
        self.fn, self._fn_kwargs = fn, fn_kwargs
        vars(self).update(fn_kwargs)

    def call(self, y_true, y_pred):
        targets = tuple(y_true) if isinstance(y_true, (tuple, list)) else (y_true,)
        return self.fn(y_pred, *targets, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


def nt_xent(z_a, z_b, temperature: float = 0.1):
    """Normalized temperature-scaled cross-entropy (NT-Xent), the SimCLR loss, per view.

    With the 2N views' embeddings `z`, cosine similarities
    `s(i, j) = z_i . z_j / (|z_i| |z_j|)` and `j(i)` the partner of view `i`
    (Chen et al. 2020, Algorithm 1):

        l(i) = -log( exp(s(i, j(i)) / tau) / sum_{k != i} exp(s(i, k) / tau) )
        L = 1 / (2N) * sum_i l(i)

    Returns every `l(i)`; their mean is `L` (`NTXent` takes it). Computed in float32
    whatever the input dtype, with the self-similarity masked by a finite penalty so
    that it is NaN-free for any temperature.

    Args:
        z_a: embeddings of the first views, shape `(N, D)`, N >= 2.
        z_b: embeddings of the second views, shape `(N, D)`.
        temperature: tau, > 0.

    Returns:
        The loss of each view, float32 of shape `(2N,)`: the first views, then the
        second views.

    Example:

    >>> import numpy as np
    >>> z = np.random.normal(size=(8, 16)).astype("float32")
    >>> per_view = nt_xent(z, z, temperature=0.5)
    >>> tuple(per_view.shape), bool(float(keras.ops.mean(per_view)) > 0)
    ((16,), True)
    """
    logits, labels = contrastive_logits(z_a, z_b, temperature)
    return ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)


@keras.saving.register_keras_serializable(package="keras_ssl")
class NTXent(_LossFunctionWrapper):
    """NT-Xent as a Keras `Loss`: `NTXent()(z_a, z_b)` is the mean of `nt_xent(z_a, z_b)`.

    The two arguments take the places of `y_true` and `y_pred`: the embeddings of the
    first and of the second views. Sample weights, if given, weight each of the 2N
    views, first views first.

    Args:
        temperature: tau, > 0.
        reduction: Keras loss reduction; the default averages over the 2N views.
        name: the loss name.

    Example:

    >>> import numpy as np
    >>> loss = NTXent(temperature=0.1)
    >>> z_a = np.random.normal(size=(4, 8)).astype("float32")
    >>> z_b = np.random.normal(size=(4, 8)).astype("float32")
    >>> expected = keras.ops.mean(nt_xent(z_a, z_b, 0.1))
    >>> bool(abs(float(loss(z_a, z_b)) - float(expected)) < 1e-5)
    True
    """

    def __init__(self, temperature: float = 0.1, reduction="sum_over_batch_size", name="nt_xent"):
        super().__init__(nt_xent, reduction, name, temperature=_check_temperature(temperature))

    def call(self, y_true, y_pred):
        # The views are not targets: `y_true` holds the first ones, whose rows come first.
        return nt_xent(y_true, y_pred, **self._fn_kwargs)


def _normalized_pair(p, z, what: str):
    """`p` and `stop_gradient(z)` in float32, scaled to unit length; checks the shapes."""
    if len(p.shape) != 2 or len(z.shape) != 2:
        raise ValueError(
            f"{what} expects two batches of vectors of shape (batch, dim); "
            f"got shapes {tuple(p.shape)} and {tuple(z.shape)}."
        )
    if tuple(p.shape) != tuple(z.shape) and None not in (*p.shape, *z.shape):
        raise ValueError(
            f"{what} expects `p` and `z` of the same shape; got {tuple(p.shape)} and "
            f"{tuple(z.shape)}."
        )
    p = l2_normalize(ops.cast(p, "float32"))
    z = l2_normalize(ops.stop_gradient(ops.cast(z, "float32")))
    return p, z


def negative_cosine_similarity(p, z):
    """SimSiam's negative cosine similarity of each pair, with a stop-gradient on `z`.

    For a prediction `p` and a target `z` (Chen & He 2021, "Exploring Simple Siamese
    Representation Learning", eq. 1 and the stop-gradient of eq. 3):

        D(p_n, z_n) = -p_n / |p_n| . stopgrad(z_n) / |z_n|

    averaged over the batch by `NegativeCosineSimilarity`. The method symmetrises it,
    `L = 0.5 * D(p1, z2) + 0.5 * D(p2, z1)`: `0.5 * symmetric(negative_cosine_similarity,
    p, z)`. Computed in float32 whatever the input dtype.

    Args:
        p: predictor outputs, shape `(N, D)`; the gradient flows through `p`.
        z: projector outputs of the other view, shape `(N, D)`; no gradient flows
            through `z`.

    Returns:
        The loss of each pair, float32 of shape `(N,)`, in `[-1, 1]`.

    Example:

    >>> import numpy as np
    >>> p = np.random.normal(size=(4, 8)).astype("float32")
    >>> keras.ops.convert_to_numpy(negative_cosine_similarity(p, 2 * p)).round(4).tolist()
    [-1.0, -1.0, -1.0, -1.0]
    """
    p, z = _normalized_pair(p, z, "The negative cosine similarity")
    return -ops.sum(p * z, axis=-1)


@keras.saving.register_keras_serializable(package="keras_ssl")
class NegativeCosineSimilarity(_LossFunctionWrapper):
    """SimSiam's loss as a Keras `Loss`: `NegativeCosineSimilarity()(z, p)` is the mean of
    `negative_cosine_similarity(p, z)`.

    Keras' order: the target `z` (no gradient) takes the place of `y_true`, the
    prediction `p` that of `y_pred`. Sample weights, if given, weight each pair.

    Args:
        reduction: Keras loss reduction; the default averages over the pairs.
        name: the loss name.

    Example:

    >>> import numpy as np
    >>> p, z = np.random.normal(size=(2, 4, 8)).astype("float32")
    >>> expected = keras.ops.mean(negative_cosine_similarity(p, z))
    >>> bool(abs(float(NegativeCosineSimilarity()(z, p)) - float(expected)) < 1e-6)
    True
    """

    def __init__(self, reduction="sum_over_batch_size", name="negative_cosine_similarity"):
        super().__init__(negative_cosine_similarity, reduction, name)


def normalized_mse(p, z):
    """BYOL's squared error of L2-normalised vectors, per pair, with a stop-gradient on `z`.

    For the online network's prediction `p` and the target network's projection `z`
    (Grill et al. 2020, "Bootstrap Your Own Latent", eq. 2):

        L_n = | p_n / |p_n| - stopgrad(z_n) / |z_n| |^2 = 2 - 2 cos(p_n, z_n)

    averaged over the batch by `NormalizedMSE`. BYOL symmetrises it by swapping the two
    views, `L + L~`: `symmetric(normalized_mse, p, z)`. Computed in float32 whatever the
    input dtype.

    Args:
        p: online predictions, shape `(N, D)`; the gradient flows through `p`.
        z: target projections, shape `(N, D)`; no gradient flows through `z`.

    Returns:
        The loss of each pair, float32 of shape `(N,)`, in `[0, 4]`.

    Example:

    >>> import numpy as np
    >>> p = np.random.normal(size=(4, 8)).astype("float32")
    >>> keras.ops.convert_to_numpy(normalized_mse(p, -p)).round(4).tolist()
    [4.0, 4.0, 4.0, 4.0]
    """
    p, z = _normalized_pair(p, z, "The normalized MSE")
    return ops.sum(ops.square(p - z), axis=-1)


@keras.saving.register_keras_serializable(package="keras_ssl")
class NormalizedMSE(_LossFunctionWrapper):
    """BYOL's loss as a Keras `Loss`: `NormalizedMSE()(z, p)` is the mean of
    `normalized_mse(p, z)`.

    Keras' order: the target projection `z` (no gradient) takes the place of `y_true`,
    the prediction `p` that of `y_pred`. Sample weights, if given, weight each pair.

    Args:
        reduction: Keras loss reduction; the default averages over the pairs.
        name: the loss name.

    Example:

    >>> import numpy as np
    >>> p, z = np.random.normal(size=(2, 4, 8)).astype("float32")
    >>> expected = keras.ops.mean(normalized_mse(p, z))
    >>> bool(abs(float(NormalizedMSE()(z, p)) - float(expected)) < 1e-6)
    True
    """

    def __init__(self, reduction="sum_over_batch_size", name="normalized_mse"):
        super().__init__(normalized_mse, reduction, name)


def symmetric(loss, p, z):
    """`loss(p1, z2) + loss(p2, z1)`: each view's prediction against the other view's target.

    SimSiam (Chen & He 2021, eq. 2) halves it, `L = D(p1, z2) / 2 + D(p2, z1) / 2`; BYOL
    (Grill et al. 2020, §3.1) sums the loss and its view-swapped twin, `L + L~`.

    Args:
        loss: a per-pair loss `loss(p, z)` with the stop-gradient on `z`, such as
            `negative_cosine_similarity` or `normalized_mse`.
        p: the predictions of the two views, shape `(2, N, D)` (or a pair of `(N, D)`).
        z: the targets of the two views, in the same form.

    Returns:
        The symmetrised loss of each image, shape `(N,)`.

    Example:

    >>> import numpy as np
    >>> p = z = np.random.normal(size=(2, 4, 8)).astype("float32")
    >>> tuple(symmetric(negative_cosine_similarity, p, z).shape)
    (4,)
    """
    return loss(p[0], z[1]) + loss(p[1], z[0])


def info_nce_logits(query, key, queue, temperature: float = 0.2):
    """MoCo's logits: each query against its key (column 0) and the queue of negatives.

    Queries, keys and queue rows are L2-normalised in float32; keys and queue get no
    gradient. Row `n` is `[q_n . k_n, q_n . queue_1, ..., q_n . queue_K] / T`, so the
    label of every row is 0.

    Args:
        query: the query encoder's embeddings, shape `(N, D)`.
        key: the momentum (key) encoder's embeddings of the other views, `(N, D)`.
        queue: embeddings of earlier batches' keys, the negatives, shape `(K, D)`.
        temperature: T, > 0.

    Returns:
        `(logits, labels)`: float32 logits of shape `(N, 1 + K)` and int32 zeros of
        shape `(N,)`.
    """
    temperature = _check_temperature(temperature)
    if len(query.shape) != 2 or len(key.shape) != 2 or len(queue.shape) != 2:
        raise ValueError(
            "InfoNCE expects `query`, `key` of shape (batch, dim) and `queue` of shape "
            f"(queue_size, dim); got {tuple(query.shape)}, {tuple(key.shape)} and "
            f"{tuple(queue.shape)}."
        )
    dims = {query.shape[1], key.shape[1], queue.shape[1]} - {None}
    if len(dims) > 1:
        raise ValueError(
            "`query`, `key` and `queue` must have the same embedding size; got shapes "
            f"{tuple(query.shape)}, {tuple(key.shape)} and {tuple(queue.shape)}."
        )
    query = l2_normalize(ops.cast(query, "float32"))
    key = l2_normalize(ops.stop_gradient(ops.cast(key, "float32")))
    queue = l2_normalize(ops.stop_gradient(ops.cast(queue, "float32")))
    positive = ops.sum(query * key, axis=-1, keepdims=True)
    negatives = ops.matmul(query, ops.transpose(queue))
    logits = ops.concatenate([positive, negatives], axis=1) / temperature
    labels = ops.zeros((ops.shape(query)[0],), dtype="int32")
    return logits, labels


def info_nce(query, key, queue, temperature: float = 0.2):
    """InfoNCE with a queue of negatives, the MoCo loss, per query.

    With L2-normalised query `q`, its positive key `k+` from the momentum encoder and
    the K queued keys `k_i` (He et al. 2020, "Momentum Contrast", eq. 1; MoCo v2,
    Chen et al. 2020, uses T = 0.2):

        L_q = -log( exp(q . k+ / T) / (exp(q . k+ / T) + sum_i exp(q . k_i / T)) )

    averaged over the batch by `InfoNCE`. Keys and queue get no gradient. Computed in
    float32 whatever the input dtype. `info_nce_logits` gives the logits for accuracy
    metrics.

    Args:
        query: the query encoder's embeddings, shape `(N, D)`.
        key: the key encoder's embeddings of the other views, shape `(N, D)`.
        queue: the negatives, shape `(K, D)`.
        temperature: T, > 0.

    Returns:
        The loss of each query, float32 of shape `(N,)`.

    Example:

    >>> import numpy as np
    >>> q = np.eye(4, dtype="float32")[:2]
    >>> queue = np.eye(4, dtype="float32")[2:]
    >>> bool(float(keras.ops.max(info_nce(q, q, queue, temperature=0.01))) < 1e-6)
    True
    """
    logits, labels = info_nce_logits(query, key, queue, temperature)
    return ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)


@keras.saving.register_keras_serializable(package="keras_ssl")
class InfoNCE(_LossFunctionWrapper):
    """MoCo's loss as a Keras `Loss`: `InfoNCE()((key, queue), query)` is the mean of
    `info_nce(query, key, queue)`.

    The targets, which get no gradient, take the place of `y_true` as a `(key, queue)`
    pair; the queries take that of `y_pred`. Sample weights, if given, weight each query.

    Args:
        temperature: T, > 0 (MoCo v2 uses 0.2).
        reduction: Keras loss reduction; the default averages over the queries.
        name: the loss name.

    Example:

    >>> import numpy as np
    >>> q, k = np.random.normal(size=(2, 4, 8)).astype("float32")
    >>> queue = np.random.normal(size=(16, 8)).astype("float32")
    >>> expected = keras.ops.mean(info_nce(q, k, queue, 0.2))
    >>> bool(abs(float(InfoNCE(0.2)((k, queue), q)) - float(expected)) < 1e-5)
    True
    """

    def __init__(self, temperature: float = 0.2, reduction="sum_over_batch_size", name="info_nce"):
        super().__init__(info_nce, reduction, name, temperature=_check_temperature(temperature))


def dino_loss(
    student_outputs,
    teacher_outputs,
    center,
    student_temperature: float = 0.1,
    teacher_temperature: float = 0.04,
):
    """The DINO self-distillation loss over multi-crop views, per image.

    With teacher probabilities `P_t = softmax((g_t(x) - c) / tau_t)` (centered by `c`,
    sharpened by a low `tau_t`, no gradient) and student probabilities
    `P_s = softmax(g_s(x') / tau_s)` (Caron et al. 2021, "Emerging Properties in
    Self-Supervised Vision Transformers", eq. 1-2):

        L = mean over pairs (i, j), i != j, of mean_n H(P_t(x_i), P_s(x_j)),
        H(a, b) = -sum_k a_k log b_k

    where `i` runs over the global views seen by the teacher and `j` over all views
    seen by the student, global views first, so that pair `(i, i)` is the same view.
    Returns the mean over pairs for each image `n`; `DINOLoss` averages it over the
    batch. Computed in float32 whatever the input dtype; update `c` with
    `dino_center_update`.

    Args:
        student_outputs: list of V student logits tensors, each `(N, K)`: the global
            views first, then the local views.
        teacher_outputs: list of the teacher's logits of the global views, each
            `(N, K)`, in the same order as the first student views.
        center: the teacher center `c`, shape `(K,)` or `(1, K)`; no gradient.
        student_temperature: tau_s, > 0.
        teacher_temperature: tau_t, > 0.

    Returns:
        The loss of each image, float32 of shape `(N,)`.

    Example:

    >>> import numpy as np
    >>> # A uniform student costs log(K) whatever the teacher predicts.
    >>> teacher = [np.random.normal(size=(2, 8)).astype("float32") for _ in range(2)]
    >>> student = [np.zeros((2, 8), "float32")] * 4
    >>> per_image = dino_loss(student, teacher, np.zeros(8, "float32"))
    >>> [round(float(v), 4) for v in keras.ops.convert_to_numpy(per_image)]
    [2.0794, 2.0794]
    """
    student_temperature = _check_temperature(student_temperature, "student_temperature")
    teacher_temperature = _check_temperature(teacher_temperature, "teacher_temperature")
    student_outputs, teacher_outputs = list(student_outputs), list(teacher_outputs)
    if not teacher_outputs or len(student_outputs) < max(len(teacher_outputs), 2):
        raise ValueError(
            "DINO expects the teachers' outputs of the global views and the students' "
            "outputs of all views, global views first, with at least 2 views; got "
            f"{len(teacher_outputs)} teacher and {len(student_outputs)} student outputs."
        )
    center = ops.stop_gradient(ops.cast(center, "float32"))
    # Centering and sharpening (Caron et al. 2021, Sec. 3.1): the teacher is a target.
    teacher_probs = [
        ops.softmax(
            (ops.stop_gradient(ops.cast(t, "float32")) - center) / teacher_temperature, axis=-1
        )
        for t in teacher_outputs
    ]
    student_log_probs = [
        ops.log_softmax(ops.cast(s, "float32") / student_temperature, axis=-1)
        for s in student_outputs
    ]
    terms = [
        -ops.sum(probs * log_probs, axis=-1)
        for i, probs in enumerate(teacher_probs)
        for j, log_probs in enumerate(student_log_probs)
        if i != j  # a view is not asked to predict itself
    ]
    return ops.mean(ops.stack(terms), axis=0)


@keras.saving.register_keras_serializable(package="keras_ssl")
class DINOLoss(_LossFunctionWrapper):
    """DINO's loss as a Keras `Loss`: `DINOLoss()((teacher_outputs, center), student_outputs)`
    is the mean of `dino_loss(student_outputs, teacher_outputs, center)`.

    The teacher side, which gets no gradient, takes the place of `y_true` as a
    `(teacher_outputs, center)` pair; the list of student outputs that of `y_pred`.
    The center is not state of the loss: keep it in the model and update it with
    `dino_center_update`. Sample weights, if given, weight each image.

    Args:
        student_temperature: tau_s, > 0.
        teacher_temperature: tau_t, > 0.
        reduction: Keras loss reduction; the default averages over the images.
        name: the loss name.

    Example:

    >>> import numpy as np
    >>> teacher = [np.random.normal(size=(2, 8)).astype("float32") for _ in range(2)]
    >>> student = [np.random.normal(size=(2, 8)).astype("float32") for _ in range(3)]
    >>> center = np.zeros(8, "float32")
    >>> expected = keras.ops.mean(dino_loss(student, teacher, center))
    >>> bool(abs(float(DINOLoss()((teacher, center), student)) - float(expected)) < 1e-5)
    True
    """

    def __init__(
        self,
        student_temperature: float = 0.1,
        teacher_temperature: float = 0.04,
        reduction="sum_over_batch_size",
        name="dino_loss",
    ):
        super().__init__(
            dino_loss,
            reduction,
            name,
            student_temperature=_check_temperature(student_temperature, "student_temperature"),
            teacher_temperature=_check_temperature(teacher_temperature, "teacher_temperature"),
        )


def dino_center_update(center, teacher_outputs, momentum: float = 0.9):
    """The EMA update of DINO's teacher center (Caron et al. 2021, eq. 4).

        c <- m * c + (1 - m) * mean over the batch and the global views of g_t(x)

    Args:
        center: the current center, shape `(K,)` or `(1, K)`.
        teacher_outputs: list of the teacher's logits of the global views, each `(N, K)`.
        momentum: m, in `[0, 1]`.

    Returns:
        The new center (float32, shape of `center`), with no gradient.

    Example:

    >>> import numpy as np
    >>> c = dino_center_update(np.zeros(2, "float32"), [np.ones((3, 2), "float32")], 0.9)
    >>> [round(float(v), 4) for v in keras.ops.convert_to_numpy(c)]
    [0.1, 0.1]
    """
    if (
        isinstance(momentum, bool)
        or not isinstance(momentum, numbers.Real)
        or not 0 <= momentum <= 1
    ):
        raise ValueError(
            f"`momentum` must be a number in [0, 1] (DINO uses 0.9); got {momentum!r}."
        )
    teacher = ops.concatenate([ops.cast(t, "float32") for t in teacher_outputs], axis=0)
    batch_center = ops.mean(ops.stop_gradient(teacher), axis=0)
    center = ops.stop_gradient(ops.cast(center, "float32"))
    return momentum * center + (1.0 - momentum) * batch_center
