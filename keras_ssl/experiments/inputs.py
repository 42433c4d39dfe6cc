"""Loading the experiment's images with errors that say what to do, and its splits."""

from __future__ import annotations

import os

import numpy as np

from keras_ssl.experiments.config import ConfigError, DataSettings


class DataSourceError(ConfigError):
    """The data source cannot be used: missing, wrong layout, or unreachable."""


def check_source(source: str) -> None:
    """Cheap early check of a data source, before anything heavy runs.

    A catalogue name passes (whether it can be downloaded shows when loading); a
    path must exist and be a folder or a `.zip` file.

    Raises:
        DataSourceError: for a path that does not exist or is neither a folder nor
            a zip archive.
    """
    from keras_ssl.data import available_datasets

    if source in available_datasets():
        return
    if not os.path.exists(source):
        raise DataSourceError(
            f"Data path {source!r} does not exist. Pass a folder or .zip of "
            f"<class>/<image> files, or a catalogue name ({', '.join(available_datasets())})."
        )
    if not os.path.isdir(source) and not source.lower().endswith(".zip"):
        raise DataSourceError(
            f"Data path {source!r} is a file but not a .zip archive; expected a folder or a "
            ".zip of <class>/<image> files."
        )


def load_images(source: str, split: str | None = None, image_size: int | None = None, labeled=True):
    """Loads a catalogue data set or an image folder / zip as an `ImageSet`.

    Args:
        source: a catalogue name or a path (see `DataSettings.source`).
        split: the split or subfolder (see `keras_ssl.data.load`).
        image_size: resize to this side when loading, or None.
        labeled: require labels (every image in a `<class>/` folder); with False, a
            folder's images are loaded without labels, wherever they lie.

    Returns:
        The `ImageSet`.

    Raises:
        DataSourceError: for a missing path, a folder without the expected layout,
            or a catalogue data set that cannot be fetched (no internet): the
            message suggests `--data PATH`.
    """
    from keras_ssl import data
    from keras_ssl.data.folders import find_tiny_imagenet

    check_source(source)
    kwargs = {} if image_size is None else {"image_size": (image_size, image_size)}
    named = source in data.available_datasets()
    try:
        if labeled or named or find_tiny_imagenet(source) is not None:
            imageset = data.load(source, split=split, **kwargs)
        else:  # every image below the folder, in class folders or not
            imageset = data.load_image_folder(source, labeled=False, subfolder=split, **kwargs)
    except ValueError as error:
        raise DataSourceError(f"Cannot use data {source!r}: {error}") from None
    except Exception as error:  # downloads fail in many ways (DNS, SSL, missing modules)
        if not named:
            raise
        raise DataSourceError(
            f"Could not load {source!r} ({type(error).__name__}: {error}). Downloading needs "
            "internet (and TFDS's own dependencies); pass --data PATH with a folder or .zip of "
            "<class>/<image> files instead, e.g. --data ../shared/data/cifar10-train.zip."
        ) from None
    if labeled and not imageset.is_labeled:
        raise DataSourceError(
            f"{source!r} has no labels: expected one folder per class (<class>/<image>)."
        )
    if labeled and imageset.num_classes < 2:
        raise DataSourceError(
            f"{source!r} has {imageset.num_classes} class; expected at least 2 class folders "
            f"(<class>/<image>), found: {imageset.class_names}."
        )
    return imageset


def experiment_split(labels: np.ndarray, config: DataSettings, seed: int) -> dict[str, np.ndarray]:
    """Indices (into `labels`) of the images used, split into train / val / test.

    First a seeded, class-balanced subset of `config.max_images` (if set), then
    `keras_ssl.data.train_val_test_split` of it with `config.test` and `config.val`.

    Returns:
        `{"train", "val", "test"}` sorted int64 indices into `labels`.

    Raises:
        ConfigError: if the sizes do not fit the data.
    """
    from keras_ssl.data import label_fraction, train_val_test_split

    labels = np.asarray(labels)
    used = np.arange(len(labels))
    if config.max_images is not None and config.max_images < len(labels):
        used = label_fraction(labels, config.max_images / len(labels), seed=seed)
    try:
        split = train_val_test_split(labels[used], val=config.val, test=config.test, seed=seed)
    except ValueError as error:
        raise ConfigError(
            f"`data.test` / `data.val` do not fit the {len(used)} images used: {error}"
        ) from None
    return {name: used[indices] for name, indices in split.items()}


def subsample(imageset, max_images: int | None, seed: int):
    """A seeded subset of about `max_images` images, class-balanced when labeled.

    Example:

    >>> len(subsample(imageset, 1000, seed=0))
    1000
    """
    from keras_ssl.data import label_fraction

    if max_images is None or max_images >= len(imageset):
        return imageset
    if imageset.is_labeled and not imageset.is_multi_label:
        return imageset.subset(
            label_fraction(imageset.labels, max_images / len(imageset), seed=seed)
        )
    order = np.random.default_rng(seed).permutation(len(imageset))
    return imageset.subset(np.sort(order[:max_images]))
