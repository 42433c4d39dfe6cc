"""Argument validation shared by the augmentation layers (images: `keras_ssl.utils`)."""

import math
from numbers import Real

import numpy as np


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
