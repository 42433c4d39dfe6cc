"""Label fractions and train / val / test splits: exact counts, nesting, seeds, index files."""

import json
import re

import numpy as np
import pytest

from keras_ssl.data import (
    UMEA_FRACTIONS,
    label_fraction,
    load_split,
    save_split,
    train_val_test_split,
)

BALANCED = np.repeat(np.arange(10), 400)  # 4,000 labels, 400 a class
IMBALANCED = np.repeat(np.arange(4), [300, 120, 33, 3])


def per_class(labels, indices):
    return np.bincount(labels[indices], minlength=labels.max() + 1).tolist()


@pytest.mark.parametrize("fraction", UMEA_FRACTIONS)
def test_fractions_are_exactly_balanced(fraction):
    indices = label_fraction(BALANCED, fraction, seed=3)
    assert per_class(BALANCED, indices) == [round(fraction * 400)] * 10
    assert indices.dtype == np.int64
    assert np.all(np.diff(indices) > 0)  # sorted, no repeats


def test_fractions_are_nested_and_seeded():
    subsets = [set(label_fraction(BALANCED, f, seed=7).tolist()) for f in UMEA_FRACTIONS]
    for small, large in zip(subsets, subsets[1:], strict=False):
        assert small < large
    assert subsets[-1] == set(range(len(BALANCED)))
    again = label_fraction(BALANCED, 0.05, seed=7)
    np.testing.assert_array_equal(again, sorted(subsets[1]))
    other = label_fraction(BALANCED, 0.05, seed=8)
    assert per_class(BALANCED, other) == per_class(BALANCED, again)
    assert set(other.tolist()) != subsets[1]
    counts = [label_fraction(BALANCED, per_class=k, seed=7) for k in (1, 4, 20)]
    assert set(counts[0]) < set(counts[1]) < set(counts[2])
    assert set(counts[1]) == subsets[0]  # 1 % of 400 is 4 a class: the same prefix


def test_fraction_rounding_on_imbalanced_classes():
    # round half up, at least one example per class
    indices = label_fraction(IMBALANCED, 0.05, seed=0)
    assert per_class(IMBALANCED, indices) == [15, 6, 2, 1]
    indices = label_fraction(IMBALANCED, 0.01, seed=0)
    assert per_class(IMBALANCED, indices) == [3, 1, 1, 1]
    assert per_class(IMBALANCED, label_fraction(IMBALANCED, 0.5, seed=0)) == [150, 60, 17, 2]
    equal = label_fraction(IMBALANCED, 0.02, seed=0, equal_per_class=True)
    assert per_class(IMBALANCED, equal) == [2, 2, 2, 2]  # 2 % of 456 over 4 classes: 2.28


def test_equal_per_class_names_the_short_class():
    # 5 % of 456 over 4 classes is 5.7, rounded to 6 a class; the rare class has 3.
    with pytest.raises(
        ValueError,
        match=r"Too few examples in 1 of 4 classes: class 3 \('rare'\) has 3 examples, 6 wanted",
    ):
        label_fraction(
            IMBALANCED, 0.05, seed=0, equal_per_class=True, class_names=["a", "b", "c", "rare"]
        )


def test_per_class_counts_and_shortages():
    indices = label_fraction(IMBALANCED, per_class=3, seed=1)
    assert per_class(IMBALANCED, indices) == [3, 3, 3, 3]
    np.testing.assert_array_equal(
        label_fraction(IMBALANCED, per_class=np.int64(3), seed=1), indices
    )
    with pytest.raises(
        ValueError,
        match=r"Too few examples in 2 of 4 classes: class 2 has 33 examples, 50 wanted; "
        r"class 3 has 3 examples, 50 wanted",
    ):
        label_fraction(IMBALANCED, per_class=50)


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, float("nan")])
def test_fraction_outside_unit_interval(fraction):
    with pytest.raises(
        ValueError,
        match=rf"`fraction` must be a number in \(0, 1\]; got {re.escape(repr(fraction))}\.",
    ):
        label_fraction(BALANCED, fraction)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"exactly one of `fraction`"):
        label_fraction(BALANCED)
    with pytest.raises(ValueError, match=r"exactly one of `fraction`"):
        label_fraction(BALANCED, 0.1, per_class=3)
    with pytest.raises(ValueError, match=r"`per_class` must be an integer >= 1; got 0"):
        label_fraction(BALANCED, per_class=0)
    with pytest.raises(ValueError, match=r"1-D array of integer class indices; got float64"):
        label_fraction(np.eye(3), 0.5)
    with pytest.raises(ValueError, match=r"`labels` is empty"):
        label_fraction(np.zeros(0, int), 0.5)


def test_umea_split_of_cifar10():
    labels = np.repeat(np.arange(10), 5000)
    split = train_val_test_split(labels, test=10_000, seed=0)
    assert {k: len(v) for k, v in split.items()} == {"train": 40_000, "val": 0, "test": 10_000}
    assert per_class(labels, split["test"]) == [1000] * 10
    assert per_class(labels, split["train"]) == [4000] * 10
    as_fraction = train_val_test_split(labels, test=0.2, seed=0)
    np.testing.assert_array_equal(as_fraction["test"], split["test"])


def test_splits_are_disjoint_cover_and_balanced():
    split = train_val_test_split(IMBALANCED, val=0.1, test=50, seed=5)
    parts = [set(split[k].tolist()) for k in ("train", "val", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert set.union(*parts) == set(range(len(IMBALANCED)))
    assert len(split["test"]) == 50 and len(split["val"]) == round(0.1 * 456)
    # proportional to class sizes (300:120:33:3), largest remainder
    assert per_class(IMBALANCED, split["test"]) == [33, 13, 4, 0]
    same = train_val_test_split(IMBALANCED, val=0.1, test=50, seed=5)
    other = train_val_test_split(IMBALANCED, val=0.1, test=50, seed=6)
    np.testing.assert_array_equal(same["val"], split["val"])
    assert not np.array_equal(other["val"], split["val"])


def test_split_on_real_labels(cifar_small):
    _, labels, _ = cifar_small
    split = train_val_test_split(labels, val=50, test=100, seed=0)
    assert per_class(labels, split["val"]) == [5] * 10
    assert per_class(labels, split["test"]) == [10] * 10
    fraction = label_fraction(labels[split["train"]], 0.1, seed=0)
    assert per_class(labels[split["train"]], fraction) == [4] * 10  # 10 % of 35, half up


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"test": 1.0},
            r"`test` must be a fraction in \[0, 1\) or a count in \[0, 4000\); got 1.0",
        ),
        ({"val": 4000}, r"`val` as a count must lie in \[0, 4000\); got 4000"),
        ({"val": 0.5, "test": 0.5}, r"val \(2000\) and test \(2000\) leave no training examples"),
        ({"test": "10%"}, r"`test` must be a fraction"),
    ],
)
def test_bad_split_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        train_val_test_split(BALANCED, **kwargs)


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_split_files_round_trip(tmp_path, suffix):
    split = train_val_test_split(BALANCED, val=0.1, test=0.2, seed=1)
    path = tmp_path / "runs" / f"split{suffix}"
    save_split(path, split, seed=1, source="test")
    loaded = load_split(path)
    assert sorted(loaded) == ["test", "train", "val"]
    for name in split:
        np.testing.assert_array_equal(loaded[name], split[name])
        assert loaded[name].dtype == np.int64
    if suffix == ".json":
        assert json.loads(path.read_text())["metadata"] == {"seed": 1, "source": "test"}


def test_bad_split_files(tmp_path):
    with pytest.raises(ValueError, match=r"end in .json or .npz; got"):
        save_split(tmp_path / "split.csv", {"train": [1]})
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"train": [1, 2]}))
    with pytest.raises(ValueError, match=r"is not a split file"):
        load_split(other)
