"""The label-efficiency sweep: subsets, exports, resuming and bad input."""

import io
import json

import keras
import numpy as np
import pandas as pd
import pytest

from keras_ssl import encoders, finetune
from keras_ssl.data import label_fraction
from keras_ssl.finetune import SweepResult, label_efficiency_sweep
from keras_ssl.finetune.sweep import COLUMNS


def _tiny():
    return encoders.small_cnn(input_shape=(32, 32, 3), width=8, depth=2)


@pytest.fixture(scope="module")
def split(cifar_small):
    """40 training and 10 validation images of each class."""
    images, labels, _ = cifar_small
    train = np.concatenate([np.flatnonzero(labels == c)[:40] for c in range(10)])
    val = np.setdiff1d(np.arange(len(labels)), train)
    return images[train], labels[train], (images[val], labels[val])


@pytest.fixture(scope="module")
def sweep(split):
    calls = []
    result = label_efficiency_sweep(
        _tiny(), *split, 10, fractions=(1.0, 0.05, 0.25), recipe="full", epochs=1, seed=0,
        on_result=lambda row, result: calls.append((row, result)),
    )  # fmt: skip
    return result, calls


def test_fractions_use_the_exact_class_balanced_label_counts(sweep):
    result, calls = sweep
    table = result.table
    assert list(table.columns) == list(COLUMNS)
    # 5 %, 25 % and 100 % of 40 images a class, 10 classes, in ascending order.
    assert table["fraction"].tolist() == [0.05, 0.25, 1.0]
    assert table["labels_used"].tolist() == [20, 100, 400]
    assert table["epochs_run"].tolist() == [1, 1, 1] and table["best_epoch"].tolist() == [1, 1, 1]
    assert table["recipe"].tolist() == ["full"] * 3 and table["seed"].tolist() == [0] * 3
    assert ((table["accuracy"] >= 0) & (table["accuracy"] <= table["top3_accuracy"])).all()
    # Runs went in the order asked for; each row is the one handed to `on_result`.
    assert [row["fraction"] for row, _ in calls] == [0.05, 0.25, 1.0]
    for (row, run), (_, expected) in zip(calls, table.iterrows()):
        assert row["accuracy"] == expected["accuracy"] == run.accuracy
        assert result.histories[row["fraction"]] == run.history
    assert result.models == {}


def test_exports_parse_back(sweep, tmp_path):
    result, _ = sweep
    csv = result.to_csv(tmp_path / "sweep.csv")
    assert (tmp_path / "sweep.csv").read_text() == csv
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(csv)), result.table)

    markdown = result.to_markdown(tmp_path / "sweep.md", float_format=".3f").splitlines()
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in markdown]
    assert cells[0] == list(COLUMNS)
    assert set(cells[1]) <= {"---", "---:"} and len(cells) == 2 + 3
    assert [row[1] for row in cells[2:]] == ["20", "100", "400"]
    assert [float(row[2]) for row in cells[2:]] == pytest.approx(result.table["accuracy"], abs=5e-4)

    text = result.to_json(tmp_path / "sweep.json")
    content = json.loads(text)
    assert [row["labels_used"] for row in content["rows"]] == [20, 100, 400]
    assert content["recipe"]["name"] == "full" and content["recipe"]["epochs"] == 1
    restored = SweepResult.from_json(tmp_path / "sweep.json")
    pd.testing.assert_frame_equal(restored.table, result.table)
    assert restored.histories == result.histories and restored.recipe == result.recipe


def test_skip_resumes_a_sweep(split, sweep):
    done, _ = sweep
    previous = SweepResult.from_json(done.to_json())
    previous.table = previous.table[previous.table["fraction"] != 0.25]
    rerun = label_efficiency_sweep(
        _tiny(), *split, 10, fractions=(0.05, 0.25, 1.0), recipe="full", epochs=1,
        skip=previous.fractions, keep_models=True,
    )  # fmt: skip
    assert rerun.fractions == [0.25] and list(rerun.models) == [0.25]
    merged = previous.merge(rerun)
    assert merged.fractions == [0.05, 0.25, 1.0]
    assert merged.table["labels_used"].tolist() == [20, 100, 400]
    all_skipped = label_efficiency_sweep(_tiny(), *split, 10, (0.05,), "full", skip=(0.05,))
    assert all_skipped.table.empty and list(all_skipped.table.columns) == list(COLUMNS)


def test_linear_probe_sweep_embeds_once_and_matches_single_runs(split, monkeypatch):
    images, labels, val = split
    encoder = _tiny()
    calls = []
    original = keras.Model.predict
    monkeypatch.setattr(keras.Model, "predict", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))  # fmt: skip
    result = label_efficiency_sweep(
        encoder, images, labels, val, 10, fractions=(0.25, 1.0), recipe="linear_probe",
        epochs=3, seed=5,
    )  # fmt: skip
    assert len(calls) == 2  # the training and validation images, once for all fractions
    indices = label_fraction(labels, 0.25, seed=5)
    single = finetune.linear_probe_features(
        encoder, (images[indices], labels[indices]), val, 10, epochs=3, verbose=0, seed=5
    )
    assert result.table["accuracy"][0] == pytest.approx(single.accuracy, abs=1e-6)
    assert result.histories[0.25]["loss"] == pytest.approx(single.history["loss"], rel=1e-5)


@pytest.fixture
def no_training(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("training started before the bad input was reported")

    for method in ("fit", "predict"):
        monkeypatch.setattr(keras.Model, method, fail)


_IMAGES = np.zeros((40, 32, 32, 3), "uint8")
_LABELS = np.arange(40) % 4


@pytest.mark.parametrize(
    "labels, num_classes, kwargs, message",
    [
        (_LABELS, 4, {"fractions": ()}, r"`fractions` is empty"),
        (_LABELS, 4, {"fractions": (0.5, 0.0)}, r"Every fraction must be a number in \(0, 1\]; got 0.0"),
        (_LABELS, 4, {"fractions": (0.5, 1.5)}, r"got 1.5"),
        (_LABELS, 4, {"fractions": (0.5, 0.5)}, r"`fractions` has duplicates"),
        (_LABELS, 5, {}, r"`train_data` has no example of class\(es\) \[4\] of num_classes=5"),
        (_LABELS, 3, {}, r"labels must be class ids in \[0, 3\) .* found \[3\]"),
        (_LABELS, 4, {"multi_label": True}, r"needs integer class labels"),
        (_LABELS, 4, {"recipe": "nope"}, r"Unknown recipe 'nope'"),
        (_LABELS[:30], 4, {}, r"has 40 images but 30 labels"),
    ],
)  # fmt: skip
def test_bad_sweep_input_fails_before_training(no_training, labels, num_classes, kwargs, message):
    with pytest.raises(ValueError, match=message):
        kwargs = {"recipe": "full", **kwargs}
        label_efficiency_sweep(_tiny(), _IMAGES, labels, (_IMAGES, _LABELS), num_classes, **kwargs)


def test_a_fraction_leaving_a_class_empty_fails_before_training(no_training, monkeypatch):
    from keras_ssl.finetune import sweep as sweep_module

    # A subset without class 2 at 10 % (label_fraction itself keeps >= 1 a class).
    def without_class_2(labels, fraction, seed=0):
        indices = label_fraction(labels, fraction, seed=seed)
        return indices[labels[indices] != 2] if fraction < 0.5 else indices

    monkeypatch.setattr(sweep_module, "label_fraction", without_class_2)
    with pytest.raises(
        ValueError, match=r"`train_data at fraction 0.1` has no example of class\(es\) \[2\]"
    ):
        label_efficiency_sweep(
            _tiny(), _IMAGES, _LABELS, (_IMAGES, _LABELS), 4, fractions=(1.0, 0.1), recipe="full"
        )


def test_default_validation_is_carved_from_training_and_test_is_scored_once(
    cifar_small, monkeypatch
):
    """Without `val_data`, selection watches 10 % of the training images, never the test set."""
    images, labels, _ = cifar_small
    train = np.concatenate([np.flatnonzero(labels == c)[:40] for c in range(10)])
    test = np.setdiff1d(np.arange(len(labels)), train)
    seen = []
    fit = keras.Model.fit

    def recording_fit(model, x=None, y=None, validation_data=None, **kwargs):
        seen.append((np.asarray(x), np.asarray(validation_data[0])))
        return fit(model, x, y, validation_data=validation_data, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", recording_fit)
    result = label_efficiency_sweep(
        _tiny(), images[train], labels[train], fractions=(1.0,), recipe="full", epochs=1,
        test_data=(images[test], labels[test]), keep_models=True,
    )  # fmt: skip
    (x, x_val), row = seen[0], result.table.iloc[0]
    assert len(x) == 360 and len(x_val) == 40 and row["labels_used"] == 360
    test_bytes = {image.tobytes() for image in images[test]}
    assert not test_bytes & {image.tobytes() for image in np.concatenate([x, x_val])}
    predicted = result.models[1.0].predict(images[test], verbose=0).argmax(axis=1)
    assert row["test_accuracy"] == pytest.approx(np.mean(predicted == labels[test]))
    with pytest.raises(ValueError, match=r"`val_data=0` carves no validation images"):
        label_efficiency_sweep(_tiny(), images[train], labels[train], val_data=0)
