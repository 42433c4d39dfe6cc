"""The TensorFlow-specific pieces of the pretext models: a run-time batch-size check,
dataset helpers, and the replica view of a `tf.distribute` step.

Under the TensorFlow backend `fit` traces `train_step` once for batches of any size
(the batch dimension is `None`), so the Python check in `PretextModel` cannot see a
short batch there; this graph assertion stops the step when one arrives. JAX traces
once per shape and PyTorch runs eagerly, so the Python check covers them.

Under a `tf.distribute` strategy Keras runs the step once per replica on its share of
the batch (`keras_ssl.pretext.replicas` wraps these for every backend).
"""

from __future__ import annotations

import tensorflow as tf


def assert_min_batch_size(images: tf.Tensor, minimum: int, message: str) -> tf.Tensor:
    """`images`, after a graph assertion that the batch has at least `minimum` rows.

    Args:
        images: a batch, `(batch, ...)`, inside a `tf.function`.
        minimum: the smallest allowed batch size.
        message: the error message.

    Returns:
        `images`, which now depends on the assertion.

    Raises:
        tf.errors.InvalidArgumentError: at run time, for a smaller batch.
    """
    check = tf.debugging.assert_greater_equal(tf.shape(images)[0], minimum, message=message)
    with tf.control_dependencies([check]):
        return tf.identity(images)


def is_dataset(x) -> bool:
    """Whether `x` is a `tf.data.Dataset`."""
    return isinstance(x, tf.data.Dataset)


def has_fixed_batch_size(dataset: tf.data.Dataset) -> bool:
    """Whether every element of `dataset` declares the same, known batch size."""
    sizes = {
        spec.shape[0] if spec.shape.rank else None for spec in tf.nest.flatten(dataset.element_spec)
    }
    return None not in sizes


def drop_short_batches(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset` without the batches smaller than the largest one before them.

    `scan` carries the largest size so far; its state starts again with every pass
    over the dataset, so every epoch keeps its full batches and drops its short last
    one (in a repeated dataset, the short batch of every pass).

    Args:
        dataset: batches: tensors or tuples / dicts of tensors, batch dimension first.

    Returns:
        The same batches in the same order, less the short ones.
    """

    def keep(largest, *batch):
        batch = batch if len(batch) > 1 else batch[0]
        size = tf.shape(tf.nest.flatten(batch)[0])[0]
        largest = tf.maximum(largest, size)
        return largest, (batch, size >= largest)

    kept = dataset.scan(tf.constant(0, tf.int32), keep).filter(lambda batch, full: full)
    return kept.map(lambda batch, full: batch)


def replicas_in_sync() -> int:
    """The number of replicas of the current `tf.distribute` strategy (1 without one)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def all_gather(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Every replica's `x` concatenated along the batch axis, and this replica's offset.

    Inside a replica context of a strategy with several replicas. The gradient of the
    gathered tensor reaches every replica's own rows (TensorFlow sums the gradients of
    `all_gather`'s output across replicas and returns each its slice).
    """
    context = tf.distribute.get_replica_context()
    gathered = context.all_gather(x, axis=0)
    offset = tf.cast(context.replica_id_in_sync_group, tf.int32) * tf.shape(x)[0]
    return gathered, offset
