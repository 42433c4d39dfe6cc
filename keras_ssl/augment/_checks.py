"""Argument validation shared by the augmentation layers (images: `keras_ssl.utils`).

Each message names the layer or preset first (`where`), then the argument:
"RandomResizedCrop: `height` must be an integer >= 1; got 0."
"""

import functools
import math
from typing import Annotated

from pydantic import Field, Strict

from keras_ssl.config import ConfigError, PositiveIntLike, check

# A `PositiveInt` that also takes NumPy integers (a size read off an array's shape).


def check_argument(name: str, value, kind, where: str):
    """`check(value, kind, name)` (e.g. `kind=Count`), its message led by `where`."""
    try:
        return check(value, kind, name)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None


@functools.cache
def _number(low: float, high: float):
    # Finite: `high=inf` means no upper bound, not that inf itself is allowed.
    return Annotated[float, Strict(), Field(ge=low, le=high, allow_inf_nan=False)]


def check_number(name: str, value, low: float, high: float, where: str) -> float:
    """Returns `value` as a float, or raises ValueError unless it is finite and in [low, high]."""
    return check_argument(name, value, _number(low, high), where)


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
    return check_argument(name, value, PositiveIntLike, where)
