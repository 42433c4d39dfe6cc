"""Loading a data source as an `ImageSet`, with errors that name the setting and the fix.

The functions the experiment runner and the `keras-ssl` command use on users' data:
`check_source` and `load_images` (a catalogue name or a folder / `.zip`),
`subsample` (a seeded, class-balanced subset), `attributes_from_classes`
(multi-hot labels from class folders), `class_indices`, `strata`.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from keras_ssl.config import ConfigError, DataSourceError


def check_source(source: str, key: str = "data.source") -> None:
    """A catalogue name, or a path that exists and is a folder or a `.zip` file.

    Raises:
        DataSourceError: for a path that does not exist or is neither a folder nor
            a zip archive.
    """
    from keras_ssl.data import available_datasets

    if source in available_datasets():
        return
    if not os.path.exists(source):
        raise DataSourceError(
            f"Data path {source!r} (`{key}`) does not exist. Give a folder or .zip of "
            f"<class>/<image> files, or a catalogue name ({', '.join(available_datasets())})."
        )
    if not os.path.isdir(source) and not source.lower().endswith(".zip"):
        raise DataSourceError(
            f"Data path {source!r} (`{key}`) is a file but not a .zip archive; expected "
            "a folder or a .zip of <class>/<image> files."
        )
    if not os.path.isdir(source):  # an archive's index is cheap to read: refuse it now
        from keras_ssl.data.files import FileTree

        try:
            FileTree.open(source)
        except ValueError as error:
            raise DataSourceError(f"{error} (`{key}`)") from None


def load_images(
    source: str, split: str | None = None, image_size=None, labeled=True, key="data.source"
):
    """Loads a catalogue data set or an image folder / zip as an `ImageSet`.

    Args:
        source: a catalogue name or a path (see `DataSettings.source`).
        split: the split or subfolder (see `keras_ssl.data.load`).
        image_size: resize to this side (or `(height, width)`) when loading, or None.
        labeled: require labels (every image in a `<class>/` folder); with False, a
            folder's images are loaded without labels, wherever they lie.
        key: the setting that named `source`, for error messages.

    Returns:
        The `ImageSet`.

    Raises:
        DataSourceError: for a missing path, a folder without the expected layout,
            or a catalogue data set that cannot be fetched (no internet): the
            message suggests `data.source=PATH`.
    """
    from keras_ssl import data
    from keras_ssl.data.folders import find_tiny_imagenet

    check_source(source, key)
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    kwargs = {} if image_size is None else {"image_size": tuple(image_size)}
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
            f"internet (and TFDS's own dependencies); give `{key}` a folder or .zip of "
            "<class>/<image> files instead, e.g. path/to/cifar10-train.zip."
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


def strata(labels) -> np.ndarray:
    """What splits and label fractions balance over: the class ids, or one stratum.

    Multi-hot rows (several attributes per image) have no single class to balance,
    so their splits and fractions are plain seeded random draws (one stratum).
    """
    labels = np.asarray(labels)
    return labels if labels.ndim == 1 else np.zeros(len(labels), dtype=np.int64)


def class_indices(wanted, class_names, key: str) -> list[int]:
    """The indices of the class names `wanted` among the data's `class_names`.

    Raises:
        ConfigError: naming `key` and the classes the data lack, and listing its classes.
    """
    missing = [c for c in wanted if c not in class_names]
    if missing:
        raise ConfigError(
            f"`{key}` names {missing}, which the data lack; "
            f"its classes are: {', '.join(class_names)}."
        )
    return [class_names.index(c) for c in wanted]


def attributes_from_classes(imageset, attributes: dict):
    """The images with multi-hot labels: an attribute is present where the class is listed.

    Args:
        imageset: a labelled `ImageSet` with one class per image.
        attributes: `{attribute: [class names]}` (`DataSpec.attributes`).

    Returns:
        An `ImageSet` of the same images, `labels` `[N, len(attributes)]` in {0, 1},
        `class_names` the attribute names.

    Raises:
        ConfigError: for a class the data lack.

    Example:

    >>> animals = attributes_from_classes(cifar, {"animal": ["cat", "dog"], "pet": ["cat"]})
    >>> animals.labels[:2]  # a cat, then a truck
    array([[1, 1], [0, 0]])
    """
    names = list(imageset.class_names or [])
    columns = [
        np.isin(imageset.labels, class_indices(classes, names, f"data.attributes.{attribute}"))
        for attribute, classes in attributes.items()
    ]
    labels = np.stack(columns, axis=1).astype(np.int64)
    return dataclasses.replace(imageset, labels=labels, class_names=list(attributes))


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
