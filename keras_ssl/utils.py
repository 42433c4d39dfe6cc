"""Small checks shared by the augmentation layers, pretext models and fine-tuning."""

from __future__ import annotations

import keras
import numpy as np

IMAGE_FORM = "(batch, height, width, 3) with values in [0, 255]"
_NUMERIC_PREFIXES = ("uint", "int", "float", "bfloat")
# Values per chunk of `check_image_values`: 64 MiB of float32, whatever the array size.
_CHUNK_VALUES = 1 << 24


def check_image_shape(shape, where: str = "check_image_batch") -> tuple:
    """Checks that `shape` is the shape of a batch of RGB images, `(batch, height, width, 3)`.

    The part of `check_image_batch` that a layer's `build` and `compute_output_shape`
    need; unknown (None) dimensions pass.

    Args:
        shape: the shape, a tuple or a `TensorShape`.
        where: who expects the images (a layer or model name), first word of the error.

    Returns:
        `shape` as a tuple.

    Raises:
        ValueError: if the rank is not 4 or the channel axis is not 3.

    Example:

    >>> check_image_shape((None, 32, 32, 3))
    (None, 32, 32, 3)
    """
    shape = tuple(shape)
    if len(shape) != 4:
        raise ValueError(
            f"{where} expects a batch of images of rank 4, {IMAGE_FORM}; got shape {shape} "
            f"(rank {len(shape)}). Add a batch axis for a single image (`images[None]`)."
        )
    if shape[-1] is not None and shape[-1] != 3:
        hint = {
            1: "Convert grayscale images to RGB, e.g. `np.repeat(images, 3, axis=-1)`.",
            4: "Drop the alpha channel, e.g. `images[..., :3]`.",
        }.get(shape[-1], "Images must be RGB.")
        raise ValueError(
            f"{where} expects RGB images, channels last: they must have 3 channels; got "
            f"shape {shape} with {shape[-1]} channels. {hint}"
        )
    return shape


def _dtype_name(x) -> str:
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        dtype = np.asarray(x).dtype
    try:
        return keras.backend.standardize_dtype(dtype)
    except ValueError:  # NumPy strings and other dtypes Keras has no name for
        return str(getattr(dtype, "name", dtype))


def check_image_batch(images, where: str = "check_image_batch"):
    """Checks that `images` is a batch of RGB images with a numeric dtype.

    The one input check of keras_ssl's augmentation layers, pretext models and
    fine-tuning inputs. Works on NumPy arrays, backend tensors and symbolic
    `keras.KerasTensor`s: only static shape and dtype are inspected, so it is safe
    inside a traced `train_step`.

    Args:
        images: the batch, expected shape `(batch, height, width, 3)`.
        where: who expects the images (a layer or model name), first word of the error.

    Returns:
        `images`, unchanged.

    Raises:
        ValueError: if the rank is not 4, the channel axis is not 3, or the
            dtype is not numeric.

    Example:

    >>> check_image_batch(np.zeros((2, 32, 32, 3), "uint8")).shape
    (2, 32, 32, 3)
    """
    shape = getattr(images, "shape", None)
    check_image_shape(np.shape(images) if shape is None else shape, where)
    dtype = _dtype_name(images)
    if not dtype.startswith(_NUMERIC_PREFIXES):
        raise ValueError(
            f"{where} expects a numeric dtype (uint8, or float with values in [0, 255]); "
            f"got dtype {dtype}. Decode image files before passing them on."
        )
    return images


def check_image_values(images, where: str = "check_image_values") -> bool:
    """Refuses float images with NaN or infinite values; says whether they look like [0, 1].

    The value check of images held in memory (NumPy arrays or backend tensors), where
    they enter (`PretextModel.fit`, `ImageSet`): a single NaN pixel makes every
    weight NaN in one step, and the loss need not show it. Integer images are
    always finite and pass at no cost. The array is read in chunks of rows, so the
    check needs little memory besides it.

    Args:
        images: the images, `(batch, height, width, 3)`.
        where: who takes the images, first word of the error.

    Returns:
        Whether the images are float with no value above 1.0 (`unit_range_message`
        says why that is probably a mistake).

    Raises:
        ValueError: if float images hold NaN or infinite values.

    Example:

    >>> check_image_values(np.full((2, 8, 8, 3), 0.5, "float32"))
    True
    """
    if not _dtype_name(images).startswith(("float", "bfloat")):
        return False
    images = images if isinstance(images, np.ndarray) else keras.ops.convert_to_numpy(images)
    non_finite, largest = 0, -np.inf
    rows = max(1, _CHUNK_VALUES // max(1, int(np.prod(images.shape[1:]))))
    for start in range(0, len(images), rows):
        chunk = images[start : start + rows]
        finite = np.isfinite(chunk)
        non_finite += chunk.size - int(np.count_nonzero(finite))
        if not non_finite and chunk.size:
            largest = max(largest, float(chunk.max()))
    if non_finite:
        raise ValueError(
            f"{where} got images with {non_finite} non-finite values (NaN or infinite) out of "
            f"{images.size}; one is enough to make every weight NaN. Replace or drop them "
            "first, e.g. `images = np.nan_to_num(images, nan=0.0, posinf=255.0, neginf=0.0)`, "
            "or find them with `np.argwhere(~np.isfinite(images))`."
        )
    return bool(images.size) and largest <= 1.0


def unit_range_message(where: str) -> str:
    """The warning for float images whose values all lie in [0, 1].

    Args:
        where: who takes the images.

    Returns:
        The message.
    """
    return (
        f"{where} got float images with no value above 1.0, as if scaled to [0, 1]; "
        f"keras_ssl's encoders and augmentations expect {IMAGE_FORM}, and on [0, 1] their "
        "features are nearly constant. Multiply the images by 255 (`images * 255.0`), or pass "
        "them as uint8."
    )


def dropped_remainder_message(what: str, count: int, batch_size: int, shuffle: bool) -> str:
    """The warning for images that do not fill a last batch and are left out.

    Shared by `keras_ssl.data.pretraining_pipeline` and the pretext models' `fit`, so
    that both say the same thing about the same rule.

    Args:
        what: who drops them (a class or function name).
        count: the number of images.
        batch_size: the batch size.
        shuffle: whether the order (hence the images left out) changes every epoch.

    Returns:
        The message.
    """
    left_over = count % batch_size
    which = "different ones every epoch" if shuffle else "the last ones, in order"
    return (
        f"{what} uses only full batches: {count} images make {count // batch_size} batches of "
        f"{batch_size}, and the {left_over} left over are not used in an epoch ({which}), "
        f"since a short batch would change a contrastive task. Use a batch size that divides "
        f"{count} to use every image."
    )
