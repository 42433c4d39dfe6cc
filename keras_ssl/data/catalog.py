"""The catalogue of named data sets, and `load`, which also takes folders and zips.

Every entry returns an `ImageSet`. The TFDS and `keras.datasets` entries download on
first use (where the machine has internet) and hold the decoded images in memory.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from keras_ssl.config import PositiveInt, check
from keras_ssl.data.files import checked_image_size, resize_images
from keras_ssl.data.folders import (
    find_tiny_imagenet,
    load_image_folder,
    load_tiny_imagenet,
)
from keras_ssl.data.imageset import ImageSet
from keras_ssl.registry import Registry

CIFAR10_CLASS_NAMES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


# The loaders, with their `splits` and `multi_label` flag as metadata.
DATASETS = Registry("data set", unknown="Unknown data set {name}; the catalogue has: {names}.")


def register_dataset(name: str, splits: Sequence[str], multi_label: bool = False):
    """Adds a loader `loader(split, data_dir=None, **kwargs) -> ImageSet` to the catalogue.

    Args:
        name: the name `load_dataset` and `load` accept.
        splits: the split names the loader accepts (TFDS slices like
            `"train[:10%]"` are checked by their base name).
        multi_label: whether its labels are multi-hot rows (several attributes per
            image), which experiments check against their recipes before loading.

    Returns:
        A decorator that registers the function and returns it unchanged.

    Raises:
        ValueError: if another loader is already registered as `name`.

    Example:

    >>> @register_dataset("noise", splits=["train"])
    ... def load_noise(split, data_dir=None):
    ...     return ImageSet(images=np.zeros((8, 4, 4, 3), np.uint8))
    """

    return DATASETS.register(name, splits=tuple(splits), multi_label=multi_label)


def available_datasets() -> list[str]:
    """The names `load_dataset` accepts, sorted."""
    return DATASETS.available()


def is_multi_label_dataset(name: str) -> bool:
    """Whether the catalogue data set `name` has multi-hot labels (False for any other name)."""
    return name in DATASETS and DATASETS.entry(name)["multi_label"]


def load_dataset(
    name: str, split: str = "train", data_dir: str | None = None, **kwargs
) -> ImageSet:
    """Loads one split of a named data set as an `ImageSet`.

    | name | source | splits | labels |
    | --- | --- | --- | --- |
    | `cifar10` | TFDS | train, test | 10 classes |
    | `cifar10_keras` | `keras.datasets.cifar10` | train, test | 10 classes |
    | `stl10` | TFDS | unlabelled (100k), train (5k), test (8k) | 10 classes; none for unlabelled |
    | `oxford_iiit_pet` | TFDS | train, test | 37 breeds; needs `image_size` |
    | `celeb_a` | TFDS | train, validation, test | 40 binary attributes, multi-hot |
    | `tiny_imagenet` | official archive at `data_dir` | train, val, test | 200 classes |
    | `gaussian_noise` | generated (`gaussian_noise`; `count`, `seed`) | train | none |

    The TFDS and `keras.datasets` entries hold the decoded images in memory: CelebA's
    162,770 training images at 218×178 take 19 GB, so pass `image_size` or a slice.

    Args:
        name: one of `available_datasets()`.
        split: the split; TFDS entries also take slices such as `"train[:10%]"`.
        data_dir: where TFDS keeps its data (`None`: its default), or for
            `tiny_imagenet` the archive or folder.
        **kwargs: passed to the loader: `image_size=(h, w)` to resize in memory,
            `download=False` for TFDS to use only local files.

    Returns:
        The `ImageSet`.

    Example:

    >>> train = load_dataset("cifar10", split="train")
    >>> train.image_shape, train.num_classes
    ((32, 32, 3), 10)
    """
    loader, splits = DATASETS.get(name), DATASETS.entry(name)["splits"]
    if split.split("[", 1)[0] not in splits:
        raise ValueError(f"{name} has no split {split!r}; expected one of: {', '.join(splits)}.")
    return loader(split, data_dir=data_dir, **kwargs)


def load(source: str | os.PathLike, split: str | None = None, **kwargs) -> ImageSet:
    """Loads a catalogue data set by name, or the images at a path.

    What `source` may be, checked in this order:
    1. a name from `available_datasets()`: `load_dataset(source, split or "train")`;
    2. a Tiny ImageNet archive or folder: `load_tiny_imagenet(source, split or "train")`;
    3. a folder of images or a `.zip` of one: `load_image_folder(source)`; with
       `split`, the subfolder of that name (`root/<split>/<class>/…`) is loaded.

    Args:
        source: a catalogue name, or a path to a folder or a zip archive.
        split: the split or subfolder; `None` takes `"train"` for named data sets
            and the whole folder for paths.
        **kwargs: passed on to the loader (e.g. `image_size`, `labeled`, `strict`).

    Returns:
        The `ImageSet`.

    Example:

    >>> imageset = load("path/to/cifar10-train.zip", split="train")
    >>> len(imageset)
    50000
    """
    if str(source) in DATASETS:
        return load_dataset(str(source), split=split or "train", **kwargs)
    if not os.path.exists(source):
        raise ValueError(
            f"Unknown data set {str(source)!r}: it is neither a catalogue name "
            f"({', '.join(available_datasets())}) nor an existing folder or zip file."
        )
    if find_tiny_imagenet(source) is not None:
        return load_tiny_imagenet(source, split=split or "train", **kwargs)
    return load_image_folder(source, subfolder=split, **kwargs)


# TFDS downloads from several hosts; this one answers whenever the internet does.
_PROBE_HOST = ("storage.googleapis.com", 443)


def _internet_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to `_PROBE_HOST` opens within `timeout` seconds."""
    try:
        socket.create_connection(_PROBE_HOST, timeout=timeout).close()
        return True
    except OSError:
        return False


def _from_tfds(
    name: str,
    split: str,
    data_dir: str | None,
    image_size: Sequence[int] | None,
    labels: Callable[[dict], tf.Tensor] | None,
    class_names: Callable[[object], list[str]],
    download: bool = True,
) -> ImageSet:
    """Reads one TFDS split into memory: uint8 images and the labels `labels(example)` gives."""
    import tensorflow_datasets as tfds

    image_size = checked_image_size(image_size)
    builder = tfds.builder(name, data_dir=data_dir)
    stored = builder.info.features["image"].shape
    if image_size is None and None in stored[:2]:
        raise ValueError(
            f"{name} images differ in size; pass image_size=(height, width) to resize them."
        )
    if download and not builder.is_prepared():
        # TFDS retries a failed download for minutes; without internet, say so at once.
        if not _internet_reachable():
            raise ValueError(
                f"{name} is not prepared in the TFDS data directory ({builder.data_dir}) and "
                "the internet cannot be reached to download it. Pass a local folder or .zip of "
                "<class>/<image> files instead (e.g. `load('path/to/cifar10-train.zip')`), or "
                "`data_dir=` where the data set was prepared."
            )
        builder.download_and_prepare()
    dataset = builder.as_dataset(split=split, shuffle_files=False)

    def convert(example):
        image = example["image"]
        if image_size is not None:
            image = resize_images(image, image_size)
        if image.shape[-1] == 1:
            image = tf.image.grayscale_to_rgb(image)
        label = labels(example) if labels is not None else tf.zeros((), tf.int64)
        return image, label

    images, targets = [], []
    dataset = dataset.map(convert, num_parallel_calls=tf.data.AUTOTUNE).batch(1024)
    for batch_images, batch_labels in dataset.prefetch(tf.data.AUTOTUNE):
        images.append(batch_images.numpy())
        targets.append(batch_labels.numpy())
    if not images:
        raise ValueError(f"TFDS split {name}/{split} is empty.")
    return ImageSet(
        images=np.concatenate(images),
        labels=np.concatenate(targets) if labels is not None else None,
        class_names=class_names(builder.info),
        name=f"{name}:{split}",
    )


def _class_label(example):
    return example["label"]


def _label_names(info) -> list[str]:
    return list(info.features["label"].names)


@register_dataset("cifar10", ["train", "test"])
def _cifar10(split, data_dir=None, image_size=None, download=True):
    # The names are fixed (and the same as keras.datasets'); TFDS only knows them once
    # the data set has been prepared.
    return _from_tfds(
        "cifar10",
        split,
        data_dir,
        image_size,
        _class_label,
        lambda info: CIFAR10_CLASS_NAMES,
        download,
    )


@register_dataset("stl10", ["unlabelled", "train", "test"])
def _stl10(split, data_dir=None, image_size=None, download=True):
    # The unlabelled split stores label -1; it gets labels=None, like every unlabeled set.
    labels = None if split.startswith("unlabelled") else _class_label
    return _from_tfds("stl10", split, data_dir, image_size, labels, _label_names, download)


@register_dataset("oxford_iiit_pet", ["train", "test"])
def _oxford_iiit_pet(split, data_dir=None, image_size=None, download=True):
    return _from_tfds(
        "oxford_iiit_pet", split, data_dir, image_size, _class_label, _label_names, download
    )


def _celeb_a_attributes(info) -> list[str]:
    return list(info.features["attributes"].keys())


@register_dataset("celeb_a", ["train", "validation", "test"], multi_label=True)
def _celeb_a(split, data_dir=None, image_size=None, download=True):
    def attributes(example):
        values = example["attributes"]
        return tf.stack([tf.cast(values[key], tf.int64) for key in sorted(values)])

    # Both the label columns and `class_names` follow the sorted attribute names.
    def names(info):
        return sorted(_celeb_a_attributes(info))

    return _from_tfds("celeb_a", split, data_dir, image_size, attributes, names, download)


@register_dataset("cifar10_keras", ["train", "test"])
def _cifar10_keras(split, data_dir=None, image_size=None):
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    images, labels = (x_train, y_train) if split == "train" else (x_test, y_test)
    if image_size is not None:
        images = resize_images(images, checked_image_size(image_size)).numpy()
    return ImageSet(
        images=images,
        labels=np.asarray(labels).reshape(-1),
        class_names=CIFAR10_CLASS_NAMES,
        name=f"cifar10_keras:{split}",
    )


@register_dataset("tiny_imagenet", ["train", "val", "test"])
def _tiny_imagenet(split, data_dir=None, **kwargs):
    if data_dir is None:
        raise ValueError(
            "tiny_imagenet is not in TFDS: pass data_dir= the tiny-imagenet-200 zip or "
            "folder, or call load(path)."
        )
    return load_tiny_imagenet(data_dir, split=split, **kwargs)


def gaussian_noise(
    count: int,
    image_size: int | tuple[int, int] = 32,
    seed: int = 0,
    mean: float = 127.5,
    std: float = 64.0,
) -> ImageSet:
    """Images of independent Gaussian pixel noise, unlabelled: a pretraining source with no content.

    SimSiam 004 (Table 1) pretrains ResNet-18 on "random images from a gaussian
    distribution" and still gains 8 points over random weights on CIFAR-10. The paper
    gives no mean or spread; we draw every channel of every pixel from N(`mean`, `std`²)
    on the 0-255 scale (by default centred, with ±2 std covering the range) and clip
    to [0, 255]. The same `seed` gives the same images at any `count`: images are drawn
    in blocks of 1,024, each from its own generator.

    Args:
        count: number of images.
        image_size: the side of square images, or (height, width).
        seed: the generator seed.
        mean: the pixel mean, on the 0-255 scale.
        std: the pixel standard deviation, on the 0-255 scale.

    Returns:
        An unlabelled `ImageSet` of uint8 `(count, height, width, 3)` images.

    Example:

    >>> gaussian_noise(4, image_size=8).images.shape
    (4, 8, 8, 3)
    """
    check(count, PositiveInt, "count")
    if not std > 0:
        raise ValueError(f"`std` must be positive; got {std!r}.")
    height, width = checked_image_size(image_size)
    block = 1024
    images = np.empty((count, height, width, 3), np.uint8)
    for start in range(0, count, block):
        rng = np.random.default_rng([seed, start // block])
        shape = (min(block, count - start), height, width, 3)
        pixels = rng.normal(mean, std, size=shape).astype(np.float32)
        images[start : start + shape[0]] = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    return ImageSet(images=images)


# CIFAR-10's training-set size and image size by default: the noise stand-in for it.
@register_dataset("gaussian_noise", ["train"])
def _gaussian_noise(split, data_dir=None, image_size=None, count=50_000, seed=0):
    return gaussian_noise(count, image_size=32 if image_size is None else image_size, seed=seed)
