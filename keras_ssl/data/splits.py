"""Seeded, class-balanced label fractions and train / validation / test splits.

Everything here works on label arrays and returns index arrays, so it applies to any
`ImageSet` through `imageset.subset(indices)`.
"""

from __future__ import annotations

import json
import numbers
import os
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import Field, Strict

from keras_ssl.config import PositiveIntLike, check

# The label fractions of the Umeå report (Nilsson 2025), 1 % … 100 %.
# A paper's setting, not a library default: no function here defaults to it. Kept
# importable for `keras_ssl.experiments`, which moves it into its YAML configs.
UMEA_FRACTIONS = (0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)

_SPLIT_FORMAT = "keras_ssl.split/1"

# A count of examples per class; NumPy integers too (a count read off an array).
_Fraction = Annotated[float, Strict(), Field(gt=0, le=1)]


def _checked_labels(labels) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"`labels` must be a 1-D array of integer class indices; got {labels.dtype} "
            f"{labels.shape}. For multi-hot labels, pass one class per example (or zeros)."
        )
    if not len(labels):
        raise ValueError("`labels` is empty.")
    return labels


def _class_permutations(labels: np.ndarray, seed: int) -> dict[int, np.ndarray]:
    """One seeded random order of the indices of every class.

    Every selection in this module takes prefixes of these orders, which is what
    makes smaller fractions subsets of larger ones for the same seed.
    """
    rng = np.random.default_rng(seed)
    return {int(c): rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)}


def _round_half_up(value: float) -> int:
    # Plain round() rounds half to even; half-up is easier to state. The epsilon keeps
    # products like 0.29 * 100 = 28.999999999999996 from dropping a whole example.
    return int(np.floor(value + 0.5 + 1e-9))


def label_fraction(
    labels,
    fraction: float | None = None,
    per_class: int | None = None,
    seed: int = 0,
    equal_per_class: bool = False,
    class_names=None,
) -> np.ndarray:
    """Indices of a seeded, class-balanced subset of labelled examples.

    Counts per class:
    - `fraction`: `max(1, round_half_up(fraction * n_c))` from a class with `n_c`
      examples, i.e. the same fraction of every class (exactly equal counts on a
      balanced set such as CIFAR-10: 1 % of 40,000 is 40 a class);
    - `fraction` with `equal_per_class=True`: `max(1, round_half_up(fraction * N / C))`
      from every one of the `C` classes, the same count for all;
    - `per_class`: exactly that many from every class.

    For one seed the subsets are nested: every class is put in one seeded random
    order and the subset takes a prefix of it, so the 1 % subset lies inside the 5 %
    one, the 5 % inside the 10 % one, and so on.

    Args:
        labels: int class indices `[N]`.
        fraction: in (0, 1]; exclusive with `per_class`.
        per_class: a positive count per class; exclusive with `fraction`.
        seed: the seed of the per-class orders.
        equal_per_class: with `fraction`, take the same count from every class.
        class_names: names of the classes, used in error messages.

    Returns:
        Sorted int64 indices into `labels`.

    Example:

    >>> labels = np.repeat(np.arange(10), 5000)
    >>> one = label_fraction(labels, 0.01, seed=0)
    >>> five = label_fraction(labels, 0.05, seed=0)
    >>> len(one), len(five), bool(np.isin(one, five).all())
    (500, 2500, True)
    """
    labels = _checked_labels(labels)
    if (fraction is None) == (per_class is None):
        raise ValueError("Pass exactly one of `fraction` (in (0, 1]) and `per_class` (a count).")
    orders = _class_permutations(labels, seed)
    if per_class is not None:
        wanted = dict.fromkeys(orders, check(per_class, PositiveIntLike, "per_class"))
    else:
        fraction = check(fraction, _Fraction, "fraction")
        if equal_per_class:
            count = max(1, _round_half_up(fraction * len(labels) / len(orders)))
            wanted = dict.fromkeys(orders, count)
        else:
            wanted = {c: max(1, _round_half_up(fraction * len(o))) for c, o in orders.items()}
    short = [c for c in orders if len(orders[c]) < wanted[c]]
    if short:
        details = "; ".join(
            f"class {_class_name(c, class_names)} has {len(orders[c])} examples, {wanted[c]} wanted"
            for c in short
        )
        raise ValueError(f"Too few examples in {len(short)} of {len(orders)} classes: {details}.")
    return np.sort(np.concatenate([orders[c][: wanted[c]] for c in orders])).astype(np.int64)


def _class_name(label: int, class_names) -> str:
    if class_names is not None and 0 <= label < len(class_names):
        return f"{label} ({class_names[label]!r})"
    return str(label)


def _apportion(class_sizes: np.ndarray, total: int) -> np.ndarray:
    """Splits `total` over classes in proportion to their sizes, summing to `total` exactly.

    Largest remainder method: floor of the proportional shares, then one more to the
    classes with the largest remainders (ties to the lower class index).
    """
    shares = class_sizes * total / class_sizes.sum()
    counts = np.floor(shares + 1e-9).astype(np.int64)
    remainder = total - counts.sum()
    order = np.argsort(-(shares - counts), kind="stable")
    counts[order[:remainder]] += 1
    return counts


def _split_size(value, name: str, total: int) -> int:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if not 0 <= value < total:
            raise ValueError(f"`{name}` as a count must lie in [0, {total}); got {value}.")
        return int(value)
    if isinstance(value, numbers.Real) and 0 <= value < 1:
        return _round_half_up(value * total)
    raise ValueError(
        f"`{name}` must be a fraction in [0, 1) or a count in [0, {total}); got {value!r}."
    )


def train_val_test_split(labels, val=0.0, test=0.0, seed: int = 0) -> dict[str, np.ndarray]:
    """Carves seeded, class-balanced, disjoint train / val / test index sets.

    Each size is a fraction of all examples (float in [0, 1)) or a count (int). The
    count is shared over the classes in proportion to their sizes (largest remainder,
    so it is met exactly); within every class a seeded random order gives `test`
    first, then `val`, and the rest is `train`. The three sets are disjoint and
    together cover every index.

    Args:
        labels: int class indices `[N]` (for unlabeled data, `np.zeros(N, int)`).
        val: size of the validation set.
        test: size of the test set.
        seed: the seed of the per-class orders.

    Returns:
        `{"train": ..., "val": ..., "test": ...}`, sorted int64 indices (possibly empty).

    Example (Umeå: 40,000 / 10,000 from CIFAR-10's 50,000 training images):

    >>> labels = np.repeat(np.arange(10), 5000)
    >>> split = train_val_test_split(labels, test=10_000, seed=0)
    >>> {name: len(indices) for name, indices in split.items()}
    {'train': 40000, 'val': 0, 'test': 10000}
    """
    labels = _checked_labels(labels)
    total = len(labels)
    sizes = {"test": _split_size(test, "test", total), "val": _split_size(val, "val", total)}
    if sizes["test"] + sizes["val"] >= total:
        raise ValueError(
            f"val ({sizes['val']}) and test ({sizes['test']}) leave no training examples "
            f"out of {total}."
        )
    orders = _class_permutations(labels, seed)
    class_sizes = np.array([len(o) for o in orders.values()])
    test_counts = _apportion(class_sizes, sizes["test"])
    val_counts = _apportion(class_sizes - test_counts, sizes["val"])
    parts = {"train": [], "val": [], "test": []}
    for order, n_test, n_val in zip(orders.values(), test_counts, val_counts, strict=True):
        parts["test"].append(order[:n_test])
        parts["val"].append(order[n_test : n_test + n_val])
        parts["train"].append(order[n_test + n_val :])
    return {name: np.sort(np.concatenate(p)).astype(np.int64) for name, p in parts.items()}


def save_split(path: str | os.PathLike, split: dict[str, np.ndarray], **metadata) -> None:
    """Writes named index arrays to a `.json` or `.npz` file, so a run can repeat exactly.

    Args:
        path: the file; its suffix (`.json` or `.npz`) picks the format.
        split: name -> int indices, e.g. from `train_val_test_split`.
        **metadata: JSON-serializable facts kept with the indices in `.json` files
            (seed, source, …).

    Example:

    >>> save_split("runs/umea/split.json", split, seed=0, source="cifar10-train.zip")
    >>> load_split("runs/umea/split.json")["test"][:3]
    """
    path = Path(path)
    arrays = {name: np.asarray(indices, dtype=np.int64) for name, indices in split.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        content = {
            "format": _SPLIT_FORMAT,
            "metadata": metadata,
            "splits": {name: a.tolist() for name, a in arrays.items()},
        }
        path.write_text(json.dumps(content))
    elif path.suffix == ".npz":
        np.savez(path, **arrays)
    else:
        raise ValueError(f"Split files end in .json or .npz; got {str(path)!r}.")


def load_split(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Reads index arrays written by `save_split`.

    Returns:
        name -> int64 index array.
    """
    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path) as arrays:
            return {name: arrays[name].astype(np.int64) for name in arrays.files}
    if path.suffix != ".json":
        raise ValueError(f"Split files end in .json or .npz; got {str(path)!r}.")
    content = json.loads(path.read_text())
    if not isinstance(content, dict) or content.get("format") != _SPLIT_FORMAT:
        raise ValueError(f"{str(path)!r} is not a split file (expected format {_SPLIT_FORMAT}).")
    return {name: np.asarray(v, dtype=np.int64) for name, v in content["splits"].items()}
