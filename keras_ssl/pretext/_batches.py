"""Full batches for the pretext models whose task depends on the batch (SimCLR).

A contrastive loss compares every image with the rest of its batch: a short last
batch of 36 after batches of 256 trains an easier task, and one of a single image has
no negatives at all (loss 0, no gradient). `PretextModel.fit` and `evaluate` pass
their data through `full_batches`, which applies one rule to arrays and datasets:
every batch of an epoch is as large as the first, a shorter one is dropped, and a
warning says so once. `keras_ssl.data.pretraining_pipeline` follows the same rule.
"""

from __future__ import annotations

import sys
import warnings

import keras
import numpy as np

from keras_ssl.utils import dropped_remainder_message


class ArrayBatches(keras.utils.PyDataset):
    """Full batches of in-memory arrays, in a new order every epoch when shuffling.

    The `len(arrays[0]) % batch_size` rows left over are not used in that epoch;
    with `shuffle=True` they are different rows every epoch.

    Args:
        arrays: NumPy arrays with the same first dimension (images, and the labels
            or sample weights if given).
        batch_size: rows per batch, at most the number of rows.
        shuffle: draw a new order at the start and after every epoch (from NumPy's
            global generator, as Keras shuffles arrays, so `keras.utils.set_random_seed`
            makes it repeatable).
    """

    def __init__(self, arrays, batch_size: int, shuffle: bool):
        super().__init__()
        self.arrays, self.batch_size, self.shuffle = arrays, batch_size, shuffle
        self.order = np.arange(len(arrays[0]))
        self.on_epoch_end()

    def __len__(self):
        return len(self.order) // self.batch_size

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        batch = tuple(array[rows] for array in self.arrays)
        return batch if len(batch) > 1 else batch[0]

    def on_epoch_end(self):
        if self.shuffle:
            self.order = np.random.permutation(len(self.order))


def full_batches(model, x, y=None, sample_weight=None, batch_size=None, shuffle=True) -> dict:
    """The data arguments of `fit` / `evaluate`, changed so that no batch is short.

    Arrays (NumPy or backend tensors) become an `ArrayBatches` of full batches; a
    `tf.data.Dataset` whose batch size is not fixed skips the batches smaller than the
    first of each epoch. Other inputs (`PyDataset`, generators) are left as they are.
    A warning says what is dropped, once per call.

    Args:
        model: the `PretextModel`: its class name goes into the warnings, and arrays
            smaller than its `min_batch_size` raise.
        x, y, sample_weight, batch_size, shuffle: as given to `fit` or `evaluate`.

    Returns:
        A dict with the keys `x`, `y`, `sample_weight`, `batch_size`, `shuffle`.

    Raises:
        ValueError: if arrays hold fewer images than `model.min_batch_size`.
    """
    model_name = model.__class__.__name__
    if is_array(x):
        arrays = [keras.ops.convert_to_numpy(a) for a in (x, y, sample_weight) if a is not None]
        count = len(arrays[0])
        batch_size = min(batch_size or 32, count)  # 32: Keras' default batch size
        if batch_size < model.min_batch_size:
            raise ValueError(model._batch_too_small(f"{count} image(s) in all"))
        if count % batch_size:
            warnings.warn(
                dropped_remainder_message(model_name, count, batch_size, bool(shuffle)),
                stacklevel=3,
            )
        batches = ArrayBatches(arrays, batch_size, bool(shuffle))
        return dict(x=batches, y=None, sample_weight=None, batch_size=None, shuffle=False)
    data = dict(x=x, y=y, sample_weight=sample_weight, batch_size=batch_size, shuffle=shuffle)
    if "tensorflow" in sys.modules:  # a tf.data.Dataset cannot exist before TF is imported
        from keras_ssl.pretext import _tensorflow

        if _tensorflow.is_dataset(x) and not _tensorflow.has_fixed_batch_size(x):
            warnings.warn(
                f"{model_name} uses only full batches, but this dataset's batch size is not "
                "fixed, so its last batch may be short: batches smaller than the first of an "
                "epoch are skipped. Batch with `drop_remainder=True` to fix the batch size and "
                "silence this warning.",
                stacklevel=3,
            )
            data["x"] = _tensorflow.drop_short_batches(x)
    return data


def first_float_batch(x):
    """The images of the first batch of a `tf.data.Dataset` of float images, else None.

    What `PretextModel.fit` checks the values of when the images are not arrays. A
    dataset of integer images (keras_ssl's pipelines give uint8) is not read; one of
    float images is read for one batch more, which repeats its start-up (a shuffle
    buffer fills twice). Generators and `PyDataset`s are not read: their first batch
    would be lost.
    """
    if "tensorflow" not in sys.modules:
        return None
    from keras_ssl.pretext import _tensorflow

    if not _tensorflow.is_dataset(x):
        return None
    spec = x.element_spec
    spec = spec[0] if isinstance(spec, tuple) else spec
    if not getattr(getattr(spec, "dtype", None), "is_floating", False):
        return None
    for batch in x.take(1):
        return batch[0] if isinstance(batch, tuple) else batch
    return None


def is_array(x) -> bool:
    """Whether `x` is an array that Keras would batch itself (NumPy or a backend tensor)."""
    return isinstance(x, np.ndarray) or keras.ops.is_tensor(x)
