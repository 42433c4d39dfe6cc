"""Image folders and zip archives of them: the user's own data, and Tiny ImageNet.

`keras.utils.image_dataset_from_directory` is not used: it cannot read zip archives,
stops at the first corrupt file, and decodes into a `tf.data` pipeline only, where we
want one `ImageSet` that splits and label fractions can index.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Sequence

import numpy as np

from keras_ssl.data.files import (
    IMAGE_EXTENSIONS,
    FileTree,
    ImageFiles,
    SkippedFilesWarning,
    check_images,
    checked_image_size,
    is_image_file,
    list_names,
)
from keras_ssl.data.imageset import ImageSet


def load_image_folder(
    path: str | os.PathLike,
    labeled: bool = True,
    image_size: Sequence[int] | None = None,
    strict: bool = False,
    validate: bool = True,
    subfolder: str | None = None,
    class_names: Sequence[str] | None = None,
) -> ImageSet:
    """Loads a folder of images, or a `.zip` archive of one, without unpacking it.

    Labeled layout: `root/<class>/.../*.jpg|png|…`, one folder per class (class
    indices follow the sorted folder names, as in
    `keras.utils.image_dataset_from_directory`). Unlabeled: every image anywhere
    below `root`. In a zip archive whose entries all lie in one top folder (like
    `train/<class>/…`), that folder is the root.

    The images stay on disk as file references and are decoded when read. With
    `validate=True` every file is decoded once here, so a corrupt or truncated file
    is found now and not ten hours into a run: such files, and files that are not
    images, are skipped and counted with a `SkippedFilesWarning`, or raise with
    `strict=True`. Hidden files and `__MACOSX/` are ignored.

    Args:
        path: a folder, or a `.zip` archive of one.
        labeled: whether the first-level folders are classes.
        image_size: `(height, width)` to resize every image to when decoding;
            needed when the files differ in size. `None` keeps the stored size.
        strict: raise `ValueError` instead of skipping unreadable or non-image files.
        validate: decode every file once now (recommended). With `False`, loading
            is instant, the image shape is taken from `image_size` or the first
            file, and a bad file is only dropped (with a log line) when read.
        subfolder: load `root/<subfolder>` instead of `root` (e.g. `"test"` for
            `root/test/<class>/…`); in a zip it may also lie in the one top folder.
        class_names: the class list to label with, e.g. the training folder's
            `class_names` when loading its test folder, so that labels agree even
            if a class folder is missing here. Folders not in the list raise.

    Returns:
        An `ImageSet` of file references (`files`), with `labels` int64 `[N]` and
        `class_names` when `labeled`, else `labels=None`.

    Example:

    >>> imageset = load_image_folder("path/to/cifar10-train.zip")
    >>> imageset.num_examples, imageset.image_shape, imageset.class_names[:2]
    (50000, (32, 32, 3), ['airplane', 'automobile'])
    """
    image_size = checked_image_size(image_size)
    tree = FileTree.open(path)
    single_top = tree.archive is not None and not tree.top_files() and len(tree.top_dirs()) == 1
    if subfolder is not None:
        tree = _subfolder(tree, subfolder, single_top)
    elif single_top:
        tree = tree.subtree(tree.top_dirs()[0])
    if labeled:
        found = tree.top_dirs()
        if class_names is None:
            class_names = found
        else:
            class_names = list(class_names)
            unknown = sorted(set(found) - set(class_names))
            if unknown:
                raise ValueError(
                    f"{tree.describe()} has class folders that are not in `class_names`: "
                    f"{', '.join(unknown)}. Expected only: {', '.join(class_names)}."
                )
        if not found:
            raise ValueError(
                f"{tree.describe()} has no class folders (expected root/<class>/<image>); "
                "pass labeled=False to load all images without labels."
            )
        outside = tree.top_files()  # not in a class folder: no label
        if outside:
            _skip(f"{len(outside)} files lie outside the class folders", outside, tree, strict)
        index = {name: label for label, name in enumerate(class_names)}
        relative = [f for f in tree.files if "/" in f]
        labels = [index[f.split("/", 1)[0]] for f in relative]
    else:
        class_names, relative, labels, outside = [], list(tree.files), None, []
    imageset = _image_set(tree, relative, labels, class_names, image_size, strict, validate)
    skipped = tuple(tree.describe(f) for f in outside) + imageset.skipped_files
    return dataclasses.replace(imageset, skipped_files=skipped)


def load_tiny_imagenet(
    path: str | os.PathLike,
    split: str = "train",
    image_size: Sequence[int] | None = None,
    strict: bool = False,
    validate: bool = True,
) -> ImageSet:
    """Loads Tiny ImageNet from its official archive layout (a folder or the zip).

    The layout of `tiny-imagenet-200.zip`, which TFDS does not provide:
    `wnids.txt` (the class ids), `train/<wnid>/images/*.JPEG`, `val/images/*.JPEG`
    labelled by `val/val_annotations.txt` (file, wnid, box), and the unlabelled
    `test/images/*.JPEG`. `path` may point at the `tiny-imagenet-200` folder or at
    a folder or zip holding it. Grayscale images become 3-channel RGB.

    Args:
        path: the archive, or the folder it was unpacked to.
        split: `"train"`, `"val"` or `"test"` (unlabelled).
        image_size: `(height, width)` to resize to when decoding; `None` keeps 64×64.
        strict: raise instead of skipping unreadable files.
        validate: decode every file once now (see `load_image_folder`).

    Returns:
        An `ImageSet` of file references with `class_names` = the sorted WordNet ids.

    Example:

    >>> val = load_tiny_imagenet("path/to/tiny-imagenet-200-40class.zip", "val")
    >>> val.num_examples, val.image_shape
    (2000, (64, 64, 3))
    """
    if split not in ("train", "val", "test"):
        raise ValueError(f"Tiny ImageNet split must be 'train', 'val' or 'test'; got {split!r}.")
    image_size = checked_image_size(image_size)
    tree = find_tiny_imagenet(path)
    if tree is None:
        raise ValueError(
            f"{str(path)!r} is not a Tiny ImageNet archive: found no wnids.txt next to "
            "train/ and val/ (expected the layout of tiny-imagenet-200.zip)."
        )
    class_names = sorted(tree.read_bytes("wnids.txt").decode().split())
    index = {wnid: i for i, wnid in enumerate(class_names)}
    if split == "train":
        relative = [f for f in tree.files if f.startswith("train/") and "/images/" in f]
        labels = [index[f.split("/")[1]] for f in relative]
    elif split == "val":
        relative, labels = [], []
        for line in tree.read_bytes("val/val_annotations.txt").decode().splitlines():
            if line.strip():
                file_name, wnid = line.split("\t")[:2]
                relative.append(f"val/images/{file_name}")
                labels.append(index[wnid])
        missing = sorted(set(relative) - set(tree.files))
        if missing:
            raise ValueError(
                f"val/val_annotations.txt names {len(missing)} files missing from "
                f"{tree.describe()}: {list_names(missing)}."
            )
    else:
        relative, labels = [f for f in tree.files if f.startswith("test/images/")], None
    return _image_set(tree, relative, labels, class_names, image_size, strict, validate)


def find_tiny_imagenet(path: str | os.PathLike) -> FileTree | None:
    """The tree of a Tiny ImageNet layout at `path` or in its one top folder, else `None`."""
    if not os.path.exists(path):
        return None
    tree = FileTree.open(path)
    candidates = [tree] + [tree.subtree(name) for name in tree.top_dirs()[:1]]
    for candidate in candidates:
        files = set(candidate.files)
        if "wnids.txt" in files and "val/val_annotations.txt" in files:
            return candidate
    return None


def _subfolder(tree: FileTree, name: str, single_top: bool) -> FileTree:
    if name in tree.top_dirs():
        return tree.subtree(name)
    if single_top:
        inner = tree.subtree(tree.top_dirs()[0])
        if name in inner.top_dirs():
            return inner.subtree(name)
    raise ValueError(
        f"{tree.describe()} has no folder {name!r}; found: {', '.join(tree.top_dirs()) or 'none'}."
    )


def _skip(message: str, relative: Sequence[str], tree: FileTree, strict: bool) -> None:
    message = f"{message} in {tree.describe()}: {list_names(relative)}"
    if strict:
        raise ValueError(message + ".")
    warnings.warn(message + "; skipped them.", SkippedFilesWarning, stacklevel=4)


def _image_set(tree, relative, labels, class_names, image_size, strict, validate) -> ImageSet:
    """Keeps the image files among `relative`, checks them and wraps them in an ImageSet."""
    relative = np.asarray(relative, dtype=object)
    labels = None if labels is None else np.asarray(labels, dtype=np.int64)
    is_image = np.asarray([is_image_file(f) for f in relative], dtype=bool)
    others = relative[~is_image]
    if len(others):
        kinds = ", ".join(IMAGE_EXTENSIONS)
        _skip(f"{len(others)} files are not images ({kinds})", others, tree, strict)
    relative = relative[is_image]
    labels = None if labels is None else labels[is_image]
    if not len(relative):
        raise ValueError(
            f"Found no image files ({', '.join(IMAGE_EXTENSIONS)}) in {tree.describe()}."
        )
    locations = np.asarray([tree.location(f) for f in relative], dtype=object)
    files = ImageFiles(locations, tree.archive, image_size)
    if validate:
        ok, shape = check_images(files, strict)
        if not len(ok):
            raise ValueError(
                f"None of the {len(files)} image files in {tree.describe()} can be decoded."
            )
    else:
        ok = np.arange(len(files))
        shape = (*image_size, 3) if image_size else _first_shape(files)
    corrupt = relative[np.setdiff1d(np.arange(len(files)), ok)]
    labels = None if labels is None else labels[ok]
    if labels is not None and len(class_names):
        counts = np.bincount(labels, minlength=len(class_names))
        empty = [class_names[i] for i in np.flatnonzero(counts == 0)]
        if empty:
            warnings.warn(
                f"Class folders without readable images in {tree.describe()}: {', '.join(empty)}.",
                SkippedFilesWarning,
                stacklevel=3,
            )
    files = ImageFiles(files.locations[ok], tree.archive, image_size, shape, checked=validate)
    skipped = tuple(tree.describe(f) for f in np.concatenate([others, corrupt]))
    return ImageSet(
        files=files,
        labels=labels,
        class_names=class_names,
        name=tree.describe(),
        skipped_files=skipped,
    )


def _first_shape(files: ImageFiles) -> tuple[int, int, int] | None:
    """The decoded shape of the first file, taken to be everyone's when not validating."""
    _, shapes = files.subset(np.arange(1)).scan()
    return tuple(int(s) for s in shapes[0]) if len(shapes) else None
