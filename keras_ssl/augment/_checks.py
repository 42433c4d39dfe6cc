"""Argument and input validation shared by the augmentation layers."""

import math
from numbers import Real

import numpy as np

_NUMERIC_PREFIXES = ("uint", "int", "float", "bfloat")
IMAGE_FORM = "[batch, height, width, 3] with values in [0, 255]"


def dtype_name(x) -> str:
    """The dtype of `x` as a plain string ('uint8', 'float32', 'string', ...)."""
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        dtype = np.asarray(x).dtype
    return str(getattr(dtype, "name", dtype))


def check_image_shape(shape, where: str) -> None:
    """Raises ValueError unless `shape` is [batch, height, width, 3]."""
    shape = tuple(shape)
    if len(shape) != 4:
        raise ValueError(
            f"{where} expects a batch of images of rank 4, {IMAGE_FORM}. "
            f"Received an input of rank {len(shape)} with shape {shape}."
        )
    if shape[-1] is not None and shape[-1] != 3:
        raise ValueError(
            f"{where} expects RGB images with 3 channels in the last axis, {IMAGE_FORM}. "
            f"Received shape {shape} with {shape[-1]} channels; convert grayscale "
            "or RGBA images to RGB first."
        )


def check_images(images, where: str) -> None:
    """Raises ValueError unless `images` is a numeric [batch, height, width, 3] tensor."""
    dtype = dtype_name(images)
    if not dtype.startswith(_NUMERIC_PREFIXES):
        raise ValueError(
            f"{where} expects a numeric (integer or float) image tensor, {IMAGE_FORM}. "
            f"Received dtype {dtype}."
        )
    shape = getattr(images, "shape", None)
    check_image_shape(np.shape(images) if shape is None else shape, where)


def check_number(name: str, value, low: float, high: float, where: str) -> float:
    """Returns `value` as a float, or raises ValueError unless low <= value <= high."""
    if (
        isinstance(value, bool)
        or not isinstance(value, Real)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise ValueError(
            f"{where}: `{name}` must be a number in [{low}, {high}]. Received: {name}={value!r}."
        )
    return float(value)


def check_range(name: str, value, low: float, high: float, where: str) -> tuple:
    """Returns `value` as a (min, max) tuple of floats with low < min <= max <= high.

    `low` itself is excluded: a crop area or aspect ratio of 0 makes no box.
    """
    expected = f"a (min, max) pair with {low} < min <= max <= {high}"
    try:
        lower, upper = (float(v) for v in value)
        valid = not isinstance(value, str) and low < lower <= upper <= high and math.isfinite(lower)
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(f"{where}: `{name}` must be {expected}. Received: {name}={value!r}.")
    return lower, upper


def check_size(name: str, value, where: str) -> int:
    """Returns `value` as an int, or raises ValueError unless it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(
            f"{where}: `{name}` must be a positive integer. Received: {name}={value!r}."
        )
    return int(value)
