"""Image files in a folder or inside a zip archive, read and decoded with `tf.io`.

Two small pieces: `FileTree` lists the files below a folder (on disk or in a zip,
never unpacked), and `ImageFiles` holds references to image files and turns them
into a `tf.data.Dataset` of decoded uint8 images. Decoding is always
`tf.io.decode_image(..., channels=3)`, so grayscale, palette and RGBA files come out
as RGB.
"""

from __future__ import annotations

import dataclasses
import heapq
import os
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

# The formats `tf.io.decode_image` reads (the list `image_dataset_from_directory` uses, plus WebP).
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".webp")

# Zip archives are read by a Python generator; one call reads this many members, because
# crossing from tf.data into Python once per file costs ~250 us, once per chunk next to nothing.
_ZIP_CHUNK = 256


class SkippedFilesWarning(UserWarning):
    """Warned when files are left out: undecodable images, or files that are no images."""


def is_image_file(name: str) -> bool:
    """Whether `name` has one of the `IMAGE_EXTENSIONS` (case-insensitive)."""
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _is_hidden(relative_path: str) -> bool:
    # `.DS_Store`, `._foo.jpg` and `__MACOSX/` are litter from file managers, not data.
    return any(part.startswith(".") or part == "__MACOSX" for part in relative_path.split("/"))


def _list_folder(root: Path) -> list[str]:
    """The relative paths of the files below `root`, every real folder and file once.

    Links are followed, but a folder reached again (a loop such as `cat/up -> ..`, or a
    second link to one folder) is not read again, and a file reached by two paths is
    listed once: else one file lands in train and test, and a loop multiplies the data.
    Paths without links win over paths through links, then shorter paths, so a file's
    label is the folder it really lies in. What was left out is named in one warning.
    """
    queue = [(False, 0, "")]  # (reached through a link, depth, relative folder path)
    folders_read, candidates, skipped = set(), [], []
    while queue:
        linked, depth, relative = heapq.heappop(queue)
        folder = os.path.join(root, relative)
        real_folder = os.path.realpath(folder)
        if real_folder in folders_read:
            skipped.append(f"{folder.rstrip('/')} -> {real_folder}")
            continue
        folders_read.add(real_folder)
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:  # unreadable, as `os.walk` leaves it
            continue
        for entry in entries:
            if _is_hidden(entry.name):
                continue
            through_link = linked or entry.is_symlink()
            if entry.is_dir():
                heapq.heappush(queue, (through_link, depth + 1, relative + entry.name + "/"))
            else:
                real = (
                    os.path.realpath(entry.path)
                    if entry.is_symlink()
                    else os.path.join(real_folder, entry.name)
                )
                candidates.append((through_link, depth, relative + entry.name, real))
    files, first_path = [], {}
    for _, _, relative, real in sorted(candidates):
        if real in first_path:
            skipped.append(f"{os.path.join(root, relative)} -> {first_path[real]}")
        else:
            first_path[real] = os.path.join(root, relative)
            files.append(relative)
    if skipped:
        warnings.warn(
            f"Skipped {len(skipped)} of the paths below {str(root)!r} that reach a folder or "
            f"file already read (a link loop, or two links to one place): {list_names(skipped)}.",
            SkippedFilesWarning,
            stacklevel=4,
        )
    return files


def _check_member_names(archive: Path, names: Sequence[str]) -> None:
    """Refuses member names that are absolute or contain `..`.

    `/train/cat/1.png` would make `""` a class folder and `../cat/1.png` would be
    taken for a hidden file, so such an archive would load with wrong labels or
    silently lose files.
    """
    unsafe = [
        name
        for name in names
        if name.startswith(("/", "\\"))
        or (name[:1].isalpha() and name[1:3] in (":/", ":\\"))  # a drive, `C:/train/…`
        or ".." in name.replace("\\", "/").split("/")
    ]
    if unsafe:
        raise ValueError(
            f"Zip archive {str(archive)!r} has {len(unsafe)} members with an absolute path "
            f"or '..' (the first: {unsafe[0]!r}); re-create it with relative paths, e.g. "
            f"`cd <folder above the data> && zip -r {archive.name} <data folder>`."
        )


@dataclasses.dataclass(frozen=True)
class FileTree:
    """The files below one folder, on disk or inside a zip archive.

    Args:
        archive: path of the zip archive, or `None` for a folder on disk.
        root: the folder on disk, or the member prefix inside the archive
            (`""` or ending in `/`).
        files: sorted relative POSIX paths of the files below `root`; hidden files
            and `__MACOSX/` are left out.

    Example:

    >>> tree = FileTree.open("path/to/cifar10-train.zip")
    >>> tree.top_dirs()
    ['train']
    """

    archive: str | None
    root: str
    files: tuple[str, ...]

    @classmethod
    def open(cls, path: str | os.PathLike) -> FileTree:
        """Lists a folder (recursively, following links, each folder and file once) or a `.zip`.

        Raises:
            ValueError: for a missing path, a file that is no zip archive, or an archive
                with absolute or `..` member names.
        """
        path = Path(path)
        if not path.exists():
            raise ValueError(
                f"Path {str(path)!r} does not exist; expected a folder or a .zip file."
            )
        if path.is_dir():
            return cls(None, str(path), tuple(sorted(_list_folder(path))))
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{str(path)!r} is neither a folder nor a zip archive.")
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
        _check_member_names(path, [info.filename for info in infos])
        names = [info.filename for info in infos if not info.is_dir()]
        return cls(str(path), "", tuple(sorted(n for n in names if not _is_hidden(n))))

    def describe(self, relative: str = "") -> str:
        """A readable location for messages, e.g. `data.zip:train/cat/1.jpg`."""
        if self.archive is None:
            return os.path.join(self.root, relative) if relative else self.root
        return f"{self.archive}:{self.root}{relative}"

    def location(self, relative: str) -> str:
        """The file path on disk, or the member name inside the archive."""
        if self.archive is None:
            return os.path.join(self.root, relative)
        return self.root + relative

    def top_dirs(self) -> list[str]:
        """Names of the folders directly below `root`, sorted."""
        return sorted({f.split("/", 1)[0] for f in self.files if "/" in f})

    def top_files(self) -> list[str]:
        """Names of the files directly below `root`, sorted."""
        return [f for f in self.files if "/" not in f]

    def subtree(self, name: str) -> FileTree:
        """The tree below the folder `name` (a relative POSIX path)."""
        prefix = name.strip("/") + "/"
        files = tuple(f[len(prefix) :] for f in self.files if f.startswith(prefix))
        if self.archive is None:
            return FileTree(None, os.path.join(self.root, *prefix.strip("/").split("/")), files)
        return FileTree(self.archive, self.root + prefix, files)

    def read_bytes(self, relative: str) -> bytes:
        """The content of one file."""
        if self.archive is None:
            return Path(self.location(relative)).read_bytes()
        with zipfile.ZipFile(self.archive) as archive:
            return archive.read(self.location(relative))


def checked_image_size(image_size) -> tuple[int, int] | None:
    """`(height, width)` from a pair or one int; `None` stays `None`."""
    if image_size is None:
        return None
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    size = tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in size):
        raise ValueError(
            f"`image_size` must be (height, width) of positive ints, or one int; got {image_size!r}."
        )
    return (int(size[0]), int(size[1]))


def resize_images(images: tf.Tensor, size: Sequence[int]) -> tf.Tensor:
    """Resizes uint8 images (one or a batch) to `size`, keeping uint8.

    Bilinear with antialiasing, so shrinking does not alias; the result is rounded
    and saturated back to uint8.
    """
    resized = tf.image.resize(images, size, method="bilinear", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)


def decode_image(data: tf.Tensor, size: Sequence[int] | None = None) -> tf.Tensor:
    """Decodes one encoded image (JPEG, PNG, GIF, BMP, WebP) to uint8 H×W×3.

    Grayscale, palette and RGBA files are converted to RGB (alpha dropped); an
    animated GIF gives its first frame. With `size`, the image is resized to it.
    """
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    if size is not None:
        image = resize_images(image, size)
    return image


class _ZipReader:
    """Generator of `(bytes, index)` chunks read from zip members, in order or shuffled.

    One instance belongs to one pipeline; every new pass over the dataset (epoch) calls
    it again and, when shuffling, draws the next permutation from its seeded generator.
    """

    def __init__(self, archive: str, members: np.ndarray, seed: int | None):
        self.archive = archive
        self.members = members
        self.rng = None if seed is None else np.random.default_rng(seed)

    def __call__(self):
        count = len(self.members)
        order = np.arange(count) if self.rng is None else self.rng.permutation(count)
        with zipfile.ZipFile(self.archive) as archive:
            for start in range(0, count, _ZIP_CHUNK):
                chunk = order[start : start + _ZIP_CHUNK]
                data = np.array([archive.read(self.members[i]) for i in chunk], dtype=object)
                yield data, chunk.astype(np.int64)


@dataclasses.dataclass(frozen=True, eq=False)
class ImageFiles:
    """References to image files, decoded only when a pipeline reads them.

    Args:
        locations: file paths on disk, or member names inside `archive`.
        archive: path of the zip archive holding the members, or `None`.
        resize_to: `(height, width)` every image is resized to when decoded, or `None`.
        image_shape: `(height, width, 3)` of every decoded image where known.
        checked: whether every file was decoded once when loading (`check_images`),
            so that none will be dropped when read.
    """

    locations: np.ndarray
    archive: str | None = None
    resize_to: tuple[int, int] | None = None
    image_shape: tuple[int, int, int] | None = None
    checked: bool = False

    def __len__(self) -> int:
        return len(self.locations)

    def subset(self, indices: np.ndarray) -> ImageFiles:
        """The files at `indices`, in that order."""
        return dataclasses.replace(self, locations=self.locations[indices])

    def encoded(self, shuffle_seed: int | None = None) -> tf.data.Dataset:
        """`(bytes, index)` pairs; with a seed, in a new seeded order every pass."""
        count = len(self.locations)
        if self.archive is not None:
            reader = _ZipReader(self.archive, self.locations, shuffle_seed)
            spec = (tf.TensorSpec((None,), tf.string), tf.TensorSpec((None,), tf.int64))
            return tf.data.Dataset.from_generator(reader, output_signature=spec).unbatch()
        indices = tf.data.Dataset.range(count)
        if shuffle_seed is not None:
            indices = indices.shuffle(count, seed=shuffle_seed, reshuffle_each_iteration=True)
        paths = tf.constant(self.locations.tolist(), dtype=tf.string)
        return indices.map(
            lambda i: (tf.io.read_file(tf.gather(paths, i)), i),
            num_parallel_calls=tf.data.AUTOTUNE,
        )

    def decoded(self, shuffle_seed: int | None = None) -> tf.data.Dataset:
        """`(image, index)` pairs of decoded uint8 images.

        Files that fail to decode, or decode to another shape than `image_shape`,
        are dropped (with a TensorFlow log line), so one bad file found mid-run
        does not end it; `scan` finds them beforehand.
        """
        shape = self.image_shape

        def decode(data, index):
            image = decode_image(data, self.resize_to)
            if shape is not None:
                image = tf.ensure_shape(image, shape)
            return image, index

        dataset = self.encoded(shuffle_seed).map(decode, num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.ignore_errors(log_warning=True)

    def scan(self) -> tuple[np.ndarray, np.ndarray]:
        """Decodes every file once: indices of the readable ones and their shapes.

        Returns:
            `(ok, shapes)`: sorted int64 indices of the files that decode, and an int64
            array `[len(ok), 3]` of their decoded (and resized) shapes.
        """

        def shape_of(data, index):
            return tf.shape(decode_image(data, self.resize_to)), index

        dataset = self.encoded().map(shape_of, num_parallel_calls=tf.data.AUTOTUNE)
        ok, shapes = [np.zeros((0,), np.int64)], [np.zeros((0, 3), np.int64)]
        for batch_shapes, batch_indices in dataset.ignore_errors().batch(1024):
            shapes.append(batch_shapes.numpy().astype(np.int64))
            ok.append(batch_indices.numpy())
        return np.concatenate(ok), np.concatenate(shapes)

    def numpy_images(self, batch_size: int = 1024) -> np.ndarray:
        """All images decoded into one uint8 array `[N, H, W, 3]`, in order."""
        if self.image_shape is None:
            raise ValueError(
                "The image files have no common shape; load them with image_size=(height, width)."
            )
        batches = [np.zeros((0, *self.image_shape), np.uint8)]
        for images, _ in self.decoded().batch(batch_size).prefetch(tf.data.AUTOTUNE):
            batches.append(images.numpy())
        images = np.concatenate(batches)
        if len(images) != len(self):
            raise ValueError(
                f"Only {len(images)} of {len(self)} image files could be decoded; "
                "the files changed since they were loaded."
            )
        return images


def check_images(files: ImageFiles, strict: bool) -> tuple[np.ndarray, tuple | None]:
    """Decodes every file once to find the unreadable ones and the common shape.

    Args:
        files: the files to check.
        strict: raise instead of warning when files cannot be decoded.

    Returns:
        `(ok, image_shape)`: sorted indices of the files that decode, and the
        `(height, width, 3)` they all decode to (`None` when none decodes).
    """
    ok, shapes = files.scan()
    if len(ok) < len(files):
        bad = files.locations[np.setdiff1d(np.arange(len(files)), ok)]
        message = f"{len(bad)} of {len(files)} image files cannot be decoded: {list_names(bad, files.archive)}"
        if strict:
            raise ValueError(message + ".")
        warnings.warn(message + "; skipped them.", SkippedFilesWarning, stacklevel=3)
    distinct = np.unique(shapes, axis=0)
    if len(distinct) > 1:
        examples = ", ".join(f"{h}x{w}" for h, w, _ in distinct[:4])
        raise ValueError(
            f"The images differ in size ({len(distinct)} sizes, e.g. {examples}); "
            "pass image_size=(height, width) to resize them when decoding."
        )
    return ok, (tuple(int(s) for s in distinct[0]) if len(distinct) else None)


def list_names(locations: Sequence[str], archive: str | None = None, limit: int = 5) -> str:
    """A short readable list of file locations for messages: the first `limit`, then a count."""
    prefix = f"{archive}:" if archive else ""
    names = ", ".join(prefix + str(name) for name in locations[:limit])
    return names + (f" and {len(locations) - limit} more" if len(locations) > limit else "")
