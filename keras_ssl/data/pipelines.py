"""`tf.data` pipelines for pretraining (images only) and fine-tuning (image, label).

Images stay uint8 all the way to the device: augmentation and rescaling live in the
model, where they run batched on the accelerator. What the pipelines do, in order:

- images in memory: a seeded permutation per epoch, batches gathered with NumPy
  fancy indexing (no per-image work, no second copy of the array);
- image files: read and decoded in parallel (`num_parallel_calls=AUTOTUNE`), cached
  in memory after the first pass when they fit, then shuffled every epoch;
- optional resizing (`image_size`), batching, `prefetch(AUTOTUNE)`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_ssl.data.files import checked_image_size, resize_images
from keras_ssl.data.imageset import ImageSet
from keras_ssl.utils import dropped_remainder_message

# Cache decoded images in memory ("auto") when they take at most this share of free memory.
_CACHE_MEMORY_SHARE = 0.5


def pretraining_pipeline(
    imageset: ImageSet | np.ndarray,
    batch_size: int,
    *,
    image_size: Sequence[int] | None = None,
    shuffle: bool = True,
    seed: int = 0,
    cache: bool | str = "auto",
    repeat: bool = False,
) -> tf.data.Dataset:
    """Batches of uint8 images for self-supervised pretraining; labels are dropped.

    Batches always have exactly `batch_size` images (`drop_remainder=True`): a
    contrastive loss compares every image with the rest of its batch, so a short
    last batch would change the task. Resizing is explicit: by default the images
    keep their size and the model upsamples on the device (the Umeå recipe feeds
    32×32 CIFAR-10 and resizes to 96×96 inside the model).

    Args:
        imageset: the images: an `ImageSet`, or a uint8 array `[N, H, W, 3]` (float
            arrays are refused with how to convert them, NaN and [0, 1] values included).
        batch_size: images per batch; at most the number of images.
        image_size: `(height, width)` to resize to in the pipeline, or `None`.
        shuffle: reshuffle every epoch.
        seed: seed of the shuffling; the same seed gives the same batches.
        cache: keep decoded images in memory after the first pass: `True`, `False`,
            or `"auto"` (when they take at most half of the available memory).
            Images already in memory are never copied.
        repeat: repeat forever (for `steps_per_epoch`-style training).

    Returns:
        A `tf.data.Dataset` of uint8 tensors `[batch_size, H, W, 3]`.

    Example:

    >>> train = load("path/to/cifar10-train.zip")
    >>> dataset = pretraining_pipeline(train, 256, seed=0)
    >>> next(iter(dataset)).shape
    TensorShape([256, 32, 32, 3])
    """
    if isinstance(imageset, np.ndarray):
        imageset = ImageSet(images=imageset)
    _check_batch_size(batch_size, imageset, drop_remainder=True)
    if len(imageset) % batch_size:
        message = dropped_remainder_message(
            "pretraining_pipeline", len(imageset), batch_size, shuffle
        )
        warnings.warn(message, stacklevel=2)
    return _batches(imageset, batch_size, False, image_size, shuffle, seed, cache, repeat, True)


def finetuning_pipeline(
    imageset: ImageSet,
    batch_size: int,
    *,
    training: bool = True,
    augment: str | Callable | None = None,
    shuffle: bool | None = None,
    seed: int = 0,
    cache: bool | str = "auto",
    image_size: Sequence[int] | None = None,
    repeat: bool = False,
) -> tf.data.Dataset:
    """Batches of `(uint8 images, labels)` for fine-tuning and evaluation.

    Every example appears once per epoch; the last batch may be smaller.

    Args:
        imageset: labelled images.
        batch_size: examples per batch.
        training: shuffle and augment (`False`: keep the order, no augmentation).
        augment: applied to training batches only. `None`; `"light"`:
            `light_augment(seed)`, random horizontal flips and shifts by up to 1/8
            of the size, the classic CIFAR recipe; or a callable (e.g. a Keras
            preprocessing layer) taking and returning a batch of images in
            [0, 255]; its output is rounded and saturated to uint8.
        shuffle: reshuffle every epoch; `None` follows `training`.
        seed: seed of the shuffling and of `"light"` augmentation.
        cache: as in `pretraining_pipeline`.
        image_size: `(height, width)` to resize to in the pipeline, or `None`.
        repeat: repeat forever.

    Returns:
        A `tf.data.Dataset` of `(images [B, H, W, 3] uint8, labels [B] or [B, C] int64)`.

    Example:

    >>> train = load("path/to/cifar10-train.zip")
    >>> labelled = train.subset(label_fraction(train.labels, 0.01))
    >>> dataset = finetuning_pipeline(labelled, 64, augment="light")
    """
    if imageset.labels is None:
        raise ValueError(f"{imageset.name or 'The image set'} has no labels to fine-tune on.")
    if augment is not None and augment != "light" and not callable(augment):
        raise ValueError(f"`augment` must be None, 'light' or a callable; got {augment!r}.")
    _check_batch_size(batch_size, imageset, drop_remainder=False)
    shuffle = training if shuffle is None else shuffle
    dataset = _batches(imageset, batch_size, True, image_size, shuffle, seed, cache, repeat, False)
    if not training or augment is None:
        return dataset
    if augment == "light":
        augment = light_augment(seed)
    # One batch at a time: a Keras random layer keeps its random state in a variable,
    # and parallel calls would draw from it in a different order every run.
    dataset = dataset.map(lambda images, labels: (_to_uint8(augment(images)), labels))
    return dataset.prefetch(tf.data.AUTOTUNE)


def light_augment(seed: int | None = None) -> keras.layers.Pipeline:
    """The light augmentation of fine-tuning: random horizontal flips and small shifts.

    Each image is flipped with probability 1/2 and shifted by up to 1/8 of its
    height and width, by whole pixels, the border filled by reflection: the classic
    CIFAR recipe (4 pixels of 32). A Keras layer (`keras.layers.Pipeline` of
    `RandomFlip` and `RandomTranslation`), so it runs in a model on every backend
    (it is `finetune`'s default `augmenter`) and in a `tf.data` pipeline
    (`finetuning_pipeline(augment="light")`); it augments only when training.

    Args:
        seed: seed of the random draws; None draws from Keras' global seed.

    Returns:
        A layer from images `[B, H, W, 3]` in [0, 255] to float32 images of the same shape.

    Example:

    >>> dataset = finetuning_pipeline(labelled, 64, augment=light_augment(seed=0))
    >>> classifier = keras.Sequential([keras.Input((32, 32, 3)), light_augment(), encoder, head])
    """
    return keras.layers.Pipeline(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            # Another seed, so that flips and shifts are drawn independently.
            keras.layers.RandomTranslation(
                1 / 8,
                1 / 8,
                fill_mode="reflect",
                interpolation="nearest",  # whole-pixel shifts: no blur
                seed=None if seed is None else seed + 1,
            ),
        ],
        name="light_augment",
    )


def _to_uint8(images: tf.Tensor) -> tf.Tensor:
    images = tf.convert_to_tensor(images)
    if images.dtype == tf.uint8:
        return images
    return tf.cast(tf.clip_by_value(tf.round(tf.cast(images, tf.float32)), 0, 255), tf.uint8)


def _check_batch_size(batch_size, imageset: ImageSet, drop_remainder: bool) -> None:
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool):
        raise ValueError(f"`batch_size` must be a positive int; got {batch_size!r}.")
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive int; got {batch_size}.")
    if drop_remainder and batch_size > len(imageset):
        raise ValueError(
            f"`batch_size` {batch_size} is larger than the data set ({len(imageset)} images); "
            "with drop_remainder=True there would be no batch at all."
        )


def _batches(imageset, batch_size, labels, image_size, shuffle, seed, cache, repeat, drop):
    """The shared pipeline: images (and labels), shuffled, batched, resized, prefetched."""
    image_size = checked_image_size(image_size)
    cached = _use_cache(cache, imageset, image_size)
    if imageset.in_memory:
        dataset = _array_batches(imageset, batch_size, labels, shuffle, seed, drop)
        if repeat:
            dataset = dataset.repeat()
        if image_size is not None:
            dataset = dataset.map(
                lambda *batch: (resize_images(batch[0], image_size), *batch[1:]),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
    else:
        dataset = _file_examples(imageset, labels, image_size, shuffle, seed, cached)
        if repeat:
            dataset = dataset.repeat()
        dataset = dataset.batch(batch_size, drop_remainder=drop)
    if not labels:
        dataset = dataset.map(lambda *batch: batch[0])
    if not repeat and (imageset.in_memory or imageset.files.checked):
        # Known lengths let Keras show progress and skip its "ran out of data" warning.
        count = len(imageset) // batch_size if drop else -(-len(imageset) // batch_size)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(count))
    return dataset.prefetch(tf.data.AUTOTUNE)


class _ArrayBatches:
    """Generator of batches gathered from in-memory arrays, in a new seeded order per epoch."""

    def __init__(self, arrays, batch_size, seed, drop_remainder):
        self.arrays, self.batch_size, self.drop = arrays, batch_size, drop_remainder
        self.rng = None if seed is None else np.random.default_rng(seed)

    def __call__(self):
        count = len(self.arrays[0])
        order = np.arange(count) if self.rng is None else self.rng.permutation(count)
        stop = count - count % self.batch_size if self.drop else count
        for start in range(0, stop, self.batch_size):
            indices = order[start : start + self.batch_size]
            yield tuple(array[indices] for array in self.arrays)


def _array_batches(imageset, batch_size, labels, shuffle, seed, drop) -> tf.data.Dataset:
    arrays = (imageset.images,) + ((imageset.labels,) if labels else ())
    rows = batch_size if drop else None
    spec = tuple(tf.TensorSpec((rows, *a.shape[1:]), tf.as_dtype(a.dtype)) for a in arrays)
    generator = _ArrayBatches(arrays, batch_size, seed if shuffle else None, drop)
    return tf.data.Dataset.from_generator(generator, output_signature=spec)


def _file_examples(imageset, labels, image_size, shuffle, seed, cached) -> tf.data.Dataset:
    """Decoded `(image,)` or `(image, label)` examples of an image set stored as files."""
    files = imageset.files
    # Without a cache, shuffle the file references (cheap) before decoding; with one,
    # decode in order once and shuffle the cached images every epoch.
    dataset = files.decoded(shuffle_seed=seed if shuffle and not cached else None)
    label_table = tf.constant(imageset.labels) if labels else None

    def example(image, index):
        if image_size is not None:
            image = resize_images(image, image_size)
        if label_table is None:
            return (image,)
        return image, tf.gather(label_table, index)

    dataset = dataset.map(example, num_parallel_calls=tf.data.AUTOTUNE)
    if cached:
        dataset = dataset.cache()
        if shuffle:
            dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    return dataset


def _use_cache(cache, imageset: ImageSet, image_size) -> bool:
    """Whether to cache decoded files; images already in memory never are."""
    if cache not in (True, False, "auto"):
        raise ValueError(f"`cache` must be True, False or 'auto'; got {cache!r}.")
    if imageset.in_memory:
        return False
    if cache != "auto":
        return cache
    shape = (*image_size, 3) if image_size is not None else imageset.image_shape
    available = _available_memory()
    if shape is None or available is None:
        return False
    return len(imageset) * int(np.prod(shape)) <= _CACHE_MEMORY_SHARE * available


def _available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux: MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
