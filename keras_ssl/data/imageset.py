"""`ImageSet`: the one result every data source returns."""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_ssl.data.files import ImageFiles


def _float_hint(images: np.ndarray) -> str:
    """How to turn float images into uint8: NaN/inf first, [0, 1] scaled to [0, 255]."""
    if images.dtype.kind != "f":
        return ""
    finite = np.isfinite(images)
    non_finite = images.size - int(np.count_nonzero(finite))
    hint = ""
    if non_finite:
        hint += (
            f" They hold {non_finite} non-finite values (NaN or infinite): replace or drop "
            "them first, e.g. `np.nan_to_num(images, nan=0.0, posinf=255.0, neginf=0.0)`."
        )
    if finite.any() and images[finite].max() <= 1.0:
        hint += " Their values lie in [0, 1], and keras_ssl expects [0, 255]: multiply them by 255 first."
    return hint + " Convert with `np.clip(images, 0, 255).round().astype(np.uint8)`."


@dataclasses.dataclass(frozen=True, eq=False)
class ImageSet:
    """The images (and labels) of one split of one data set.

    The images are uint8 H×W×3, grayscale and RGBA sources already turned into RGB.
    They are either held in memory (`images`) or referenced as files in a folder or
    a zip archive (`files`) and decoded only when read, so a large folder does not
    have to fit in memory.

    Args:
        images: uint8 array `[N, H, W, 3]`, or `None` when `files` is given.
        files: `ImageFiles` references, or `None` when `images` is given.
        labels: int64 class indices `[N]`, 0/1 multi-hot `[N, C]` for multi-label
            data (CelebA attributes), or `None` for unlabeled images.
        class_names: names of the classes (or attributes), index `i` for label `i`.
        name: where the images come from, for messages and reports.
        skipped_files: readable names of files left out because they could not be
            decoded.

    Example:

    >>> images = np.zeros((4, 32, 32, 3), np.uint8)
    >>> imageset = ImageSet(images=images, labels=np.array([0, 1, 0, 1]),
    ...                     class_names=["cat", "dog"])
    >>> len(imageset.subset([0, 2])), imageset.image_shape
    (2, (32, 32, 3))
    """

    images: np.ndarray | None = None
    files: ImageFiles | None = None
    labels: np.ndarray | None = None
    class_names: list[str] = dataclasses.field(default_factory=list)
    name: str = ""
    skipped_files: tuple[str, ...] = ()

    def __post_init__(self):
        if (self.images is None) == (self.files is None):
            raise ValueError("Pass exactly one of `images` (a uint8 array) and `files`.")
        if self.images is not None:
            images = np.asarray(self.images)
            if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
                raise ValueError(
                    f"`images` must be uint8 [N, H, W, 3]; got {images.dtype} {images.shape}."
                    + _float_hint(images)
                )
            object.__setattr__(self, "images", images)
        object.__setattr__(self, "class_names", [str(c) for c in self.class_names])
        if self.labels is not None:
            object.__setattr__(self, "labels", self._checked_labels(self.labels))

    def _checked_labels(self, labels) -> np.ndarray:
        labels = np.asarray(labels)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]  # keras.datasets gives [N, 1]
        if labels.ndim not in (1, 2) or len(labels) != self.num_examples:
            raise ValueError(
                f"`labels` must have shape [{self.num_examples}] or [{self.num_examples}, C]; "
                f"got {labels.shape}."
            )
        if labels.size and not np.all(labels == np.round(labels)):
            raise ValueError("`labels` must be integer class indices or 0/1 multi-hot rows.")
        labels = labels.astype(np.int64)
        if labels.ndim == 2 and not np.isin(labels, (0, 1)).all():
            raise ValueError("Multi-hot `labels` [N, C] must hold only 0 and 1.")
        classes = labels.shape[1] if labels.ndim == 2 else (labels.max() + 1 if labels.size else 0)
        if labels.size and (
            labels.min() < 0 or (self.class_names and classes > len(self.class_names))
        ):
            raise ValueError(
                f"`labels` must lie in [0, {len(self.class_names)}) to match `class_names`; "
                f"got values in [{labels.min()}, {labels.max()}] ({classes} classes)."
            )
        return labels

    @property
    def num_examples(self) -> int:
        """The number of images."""
        return len(self.images) if self.images is not None else len(self.files)

    def __len__(self) -> int:
        return self.num_examples

    @property
    def num_classes(self) -> int:
        """The number of classes (or attributes)."""
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """`(height, width, 3)` of every image, or `None` where not known."""
        if self.images is not None:
            return tuple(int(s) for s in self.images.shape[1:])
        return self.files.image_shape

    @property
    def in_memory(self) -> bool:
        """Whether the images are held decoded in memory."""
        return self.images is not None

    @property
    def is_labeled(self) -> bool:
        """Whether the images have labels."""
        return self.labels is not None

    @property
    def is_multi_label(self) -> bool:
        """Whether the labels are multi-hot rows `[N, C]`."""
        return self.labels is not None and self.labels.ndim == 2

    def subset(self, indices) -> ImageSet:
        """The examples at `indices` (in that order), as a new `ImageSet`.

        Args:
            indices: integer indices in `[0, N)` (or a boolean mask of length N).

        Returns:
            An `ImageSet` with the same class names.
        """
        indices = np.asarray(indices)
        if indices.dtype == bool:
            if indices.shape != (self.num_examples,):
                raise ValueError(
                    f"A boolean mask must have shape ({self.num_examples},); got {indices.shape}."
                )
            indices = np.flatnonzero(indices)
        if indices.ndim != 1 or (indices.size and not np.issubdtype(indices.dtype, np.integer)):
            raise ValueError(f"`indices` must be a 1-D array of integers; got {indices!r}.")
        indices = indices.astype(np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_examples):
            raise ValueError(
                f"`indices` must lie in [0, {self.num_examples}); "
                f"got values in [{indices.min()}, {indices.max()}]."
            )
        return dataclasses.replace(
            self,
            images=None if self.images is None else self.images[indices],
            files=None if self.files is None else self.files.subset(indices),
            labels=None if self.labels is None else self.labels[indices],
        )

    def numpy_images(self) -> np.ndarray:
        """All images as one uint8 array `[N, H, W, 3]`, decoding files if needed."""
        if self.images is not None:
            return self.images
        return self.files.numpy_images()

    def to_memory(self) -> ImageSet:
        """This set with every image decoded and held in memory."""
        if self.images is not None:
            return self
        return dataclasses.replace(self, images=self.numpy_images(), files=None)

    def class_counts(self) -> np.ndarray:
        """Examples per class (`[num_classes]` int64); for multi-hot labels, per attribute."""
        if self.labels is None:
            raise ValueError(f"{self.name or 'This image set'} has no labels.")
        if self.labels.ndim == 2:
            return self.labels.sum(axis=0)
        return np.bincount(self.labels, minlength=self.num_classes).astype(np.int64)

    def __repr__(self) -> str:
        storage = "in memory" if self.in_memory else "as files"
        labels = "unlabeled" if self.labels is None else f"{self.num_classes} classes"
        if self.is_multi_label:
            labels = f"{self.num_classes} binary attributes"
        return (
            f"ImageSet({self.name!r}: {self.num_examples} images {self.image_shape} "
            f"{storage}, {labels})"
        )
