"""The one TensorFlow-specific piece of the pretext models: a run-time batch-size check.

Under the TensorFlow backend `fit` traces `train_step` once for batches of any size
(the batch dimension is `None`), so the Python check in `PretextModel` cannot see a
short batch there; this graph assertion stops the step when one arrives. JAX traces
once per shape and PyTorch runs eagerly, so the Python check covers them.
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
