"""ResumableTraining: a killed `fit` resumes to exactly what an uninterrupted one gives."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_ssl.resume import STATE_FILE, ResumableTraining

ROOT = Path(__file__).resolve().parents[1]
# The monitored metric, scripted so that the best epoch (2) comes before the kill (3)
# and early stopping (patience 2) stops after epoch 4 of 8.
SCORES = [0.1, 0.5, 0.3, 0.2, 0.9, 0.9, 0.9, 0.9]


class Scripted(keras.callbacks.Callback):
    """Logs `val_score` = SCORES[epoch], as KNNMonitor logs `knn_accuracy`."""

    def on_epoch_end(self, epoch, logs=None):
        logs["val_score"] = SCORES[epoch]


class KillAt(keras.callbacks.Callback):
    """Raises at the end of epoch `epoch` (from 0), or of training when `epoch` is None."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt("killed")

    def on_train_end(self, logs=None):
        if self.epoch is None:
            raise KeyboardInterrupt("killed")


class Record(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs, self.weights = [], {}

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)
        self.weights[epoch + 1] = self.model.get_weights()


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype("float32")
    return x, x @ rng.normal(size=(5, 1)).astype("float32")


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.05), "mse")
    return model


def _train(folder, *extra, log_csv=None):
    """Full-batch, unshuffled training: every run of it does the same arithmetic."""
    model = _model()
    plateau = [
        keras.callbacks.EarlyStopping("val_score", mode="max", patience=2),
        keras.callbacks.ReduceLROnPlateau("val_score", mode="max", patience=1, factor=0.5),
    ]
    training = ResumableTraining(
        folder,
        monitor="val_score",
        restore_best=True,
        log_csv=log_csv,
        stateful_callbacks=plateau,
    )
    record = Record()
    x, y = _data()
    model.fit(
        x, y, batch_size=64, shuffle=False, verbose=0,
        callbacks=[Scripted(), *plateau, record, *extra, training],
        **training.fit_epochs(len(SCORES)),
    )  # fmt: skip
    return model, training, record


def test_a_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    model, training, record = _train(None)
    assert training.best_epoch == 2 and record.epochs == [0, 1, 2, 3]  # stopped after epoch 4
    for got, best in zip(model.get_weights(), record.weights[2], strict=True):
        np.testing.assert_array_equal(got, best)  # the best epoch's weights, not the last

    folder, log = tmp_path / "backup", tmp_path / "log.csv"
    with pytest.raises(KeyboardInterrupt):
        _train(folder, KillAt(2), log_csv=log)  # after the best epoch, before its backup
    assert json.loads((folder / STATE_FILE).read_text())["epochs_done"] == 2
    resumed, again, again_record = _train(folder, log_csv=log)

    # Epoch 3 was lost and redone; the counters came back, so patience counted from
    # epoch 2 and training stopped after epoch 4, as without the kill.
    assert again_record.epochs == [2, 3]
    assert again.initial_epoch == 4 and again.best_epoch == 2 and again.best_value == 0.5
    for name, values in training.history.items():
        np.testing.assert_allclose(again.history[name], values, rtol=1e-6, err_msg=name)
    assert again.history["learning_rate"] == pytest.approx([0.05, 0.05, 0.05, 0.025])
    for got, expected in zip(resumed.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert int(resumed.optimizer.iterations) == int(model.optimizer.iterations) == 4
    rows = log.read_text().splitlines()
    assert rows[0].startswith("epoch,") and [r.split(",")[0] for r in rows[1:]] == list("0123")
    assert sorted(p.name for p in folder.iterdir()) == [
        "best-epoch0002.weights.npz",
        "checkpoint-epoch0004.weights.h5",
        STATE_FILE,
    ]


def test_a_run_killed_after_early_stopping_trains_no_more(tmp_path):
    folder = tmp_path / "backup"
    with pytest.raises(KeyboardInterrupt):
        _train(folder, KillAt(None))  # after the backup of epoch 4, where training stopped
    model, training, record = _train(folder)
    assert training.stopped and record.epochs == []
    assert training.best_epoch == 2 and len(training.history["loss"]) == 4
    reference, _, _ = _train(None)
    for got, expected in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_files_of_an_uncommitted_epoch_are_removed(tmp_path):
    folder = tmp_path / "backup"
    folder.mkdir()
    (folder / "checkpoint-epoch0007.weights.h5").write_text("half written")  # killed mid-epoch
    (folder / "notes.txt").write_text("not a backup")
    x, y = _data()
    model = _model()
    training = ResumableTraining(folder)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[training])
    assert sorted(p.name for p in folder.iterdir()) == [
        "checkpoint-epoch0001.weights.h5",
        "notes.txt",
        STATE_FILE,
    ]
    assert training.history.keys() == {"loss"} and training.best_epoch is None
    training = ResumableTraining(folder, keep_folder=False)
    model.fit(x, y, epochs=2, initial_epoch=1, verbose=0, callbacks=[training])
    assert not folder.exists() and len(training.history["loss"]) == 2


def test_resuming_needs_the_initial_epoch_and_the_same_callbacks(tmp_path):
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[ResumableTraining(tmp_path)])
    with pytest.raises(ValueError, match=r"1 epochs are already done in .*; pass `\*\*training"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[ResumableTraining(tmp_path)])
    stop = keras.callbacks.EarlyStopping("loss")
    training = ResumableTraining(tmp_path, stateful_callbacks=[stop])
    with pytest.raises(ValueError, match=r"made with the callbacks \[\], this run has \['Early"):
        model.fit(x, y, epochs=2, initial_epoch=1, verbose=0, callbacks=[stop, training])


def test_bad_arguments():
    with pytest.raises(ValueError, match="`restore_best=True` needs a `monitor`"):
        ResumableTraining(restore_best=True)
    with pytest.raises(ValueError, match="`mode` must be 'auto', 'min' or 'max'; got 'up'"):
        ResumableTraining(monitor="loss", mode="up")


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_resume_under_jax(tmp_path):
    # Loading weights in `on_train_begin` and saving them in `on_epoch_end` must also
    # reach the JAX trainer's state.
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import keras, numpy as np
        from tests.test_resumable_training import KillAt, _train
        reference, _, _ = _train(None)
        try:
            _train({str(tmp_path)!r}, KillAt(2))
        except KeyboardInterrupt:
            pass
        model, training, record = _train({str(tmp_path)!r})
        assert keras.backend.backend() == "jax" and record.epochs == [2, 3]
        for a, b in zip(model.get_weights(), reference.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-6)
        print("ok", training.best_epoch)
        """
    )
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-2:] == ["ok", "2"]


def test_resuming_a_model_that_is_not_built_says_how_to_build_it(tmp_path):
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__(name="subclassed")
            self.dense = keras.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    x, y = _data()
    model = Subclassed()
    model.compile("adam", "mse")
    model.fit(x, y, epochs=1, verbose=0, callbacks=[ResumableTraining(tmp_path)])
    model = Subclassed()
    model.compile("adam", "mse")
    training = ResumableTraining(tmp_path)
    with pytest.raises(ValueError, match=r"needs a built model: 'subclassed' is not\. Call it"):
        model.fit(x, y, verbose=0, callbacks=[training], **training.fit_epochs(2))
    model(keras.KerasTensor((None, 5)))
    model.fit(x, y, verbose=0, callbacks=[training], **training.fit_epochs(2))
    assert int(model.optimizer.iterations) == 4
