"""Resumable training: one callback for every stage that must survive a kill.

`ResumableTraining` keeps what a run needs beyond the model: the metrics of every
epoch, the best epoch of a monitored metric with its weights, and the counters of
callbacks such as `EarlyStopping` and `ReduceLROnPlateau`. Given a folder, it backs
all of it up after every epoch, with the model and optimizer state, and the same
call started again continues after the last finished epoch as if never stopped:
the history spans both runs, the best epoch is the best of the whole history, and
patience counts from it. Pretraining and fine-tuning both resume this way.

The folder holds:

- `checkpoint-epochNNNN.weights.h5`: the model and optimizer state after epoch
  NNNN (`keras.Model.save_weights`, as `keras.callbacks.BackupAndRestore` does);
- `best-epochNNNN.weights.npz`: the weights of the best epoch so far, when they are
  to be restored at the end;
- `state.json`, written last: the epochs done, the two files above, one row of
  metrics per epoch, the best epoch and value, and the callbacks' counters.

Every file is written under a temporary name and renamed into place (`os.replace`
is atomic), so a run killed at any point leaves whole files; `state.json` is the
commit point, and files it does not name are leftovers of an epoch that was not
committed. A killed run therefore loses at most the epoch it was in.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from keras_ssl._files import atomic_write, read_json, write_csv, write_json

STATE_FILE = "state.json"
# Counters that Keras' plateau callbacks reset in `on_train_begin` and that decide
# when they act: `EarlyStopping` (wait, best, best_epoch) and `ReduceLROnPlateau`
# (wait, best, cooldown_counter).
_COUNTERS = ("wait", "best", "best_epoch", "cooldown_counter")
_NOT_METRICS = ("epoch", "seconds")


def _plain(value):
    """A NumPy or backend scalar as a Python number, for JSON."""
    return value.item() if hasattr(value, "item") else value


def _counters_of(callback: keras.callbacks.Callback) -> dict:
    counters = {
        name: _plain(getattr(callback, name)) for name in _COUNTERS if hasattr(callback, name)
    }
    return {"callback": type(callback).__name__, **counters}


# -- the callback ---------------------------------------------------------------------


class ResumableTraining(keras.callbacks.Callback):
    """Keeps a run's history and best epoch and, given a folder, resumes it after a kill.

    After every epoch it records the epoch's metrics (and wall time), tracks the
    best value of `monitor` over the whole history and, with `restore_best`, the
    weights of that epoch; at the end of training it puts those weights back, like
    `EarlyStopping(restore_best_weights=True)` but over every epoch, resumed ones
    included. With a `folder`, it also backs up the model, the optimizer, the best
    weights and the counters of `stateful_callbacks` after every epoch (see the
    module docstring); the same training started again loads them and continues.

    Pass `**training.fit_epochs(epochs)` to `fit` (it continues after the epochs
    done), and put this callback after the callbacks that should act on an epoch
    before it is backed up. Resuming loads weights into the model, so it must be
    built before `fit` (functional models are; call a subclassed one once on a
    `keras.KerasTensor` batch).

    Args:
        folder: where the backup lives; None keeps everything in memory.
        monitor: a logged metric whose best epoch is kept, e.g. "val_accuracy";
            None keeps none. Epochs that do not log it are skipped.
        mode: "min", "max", or "auto" (min for names ending in "loss").
        restore_best: load the best epoch's weights when training ends (needs
            `monitor`).
        log_csv: a path rewritten after every epoch with one row per epoch of the
            whole history (`epoch` from 0, the metrics, `seconds`).
        stateful_callbacks: callbacks whose counters (`wait`, `best`, `best_epoch`,
            `cooldown_counter`: those of `EarlyStopping` and `ReduceLROnPlateau`)
            are backed up and put back on resume, so patience counts from the true
            best epoch.
        keep_folder: keep the folder when training ends (False deletes it).

    Example:

    ```python
    stop = keras.callbacks.EarlyStopping("val_loss", patience=3)
    training = ResumableTraining(
        "runs/backup", monitor="val_loss", restore_best=True, stateful_callbacks=[stop]
    )
    model.fit(x, y, validation_split=0.1, callbacks=[stop, training],
              **training.fit_epochs(50))
    print(training.best_epoch, training.history["val_loss"])
    ```
    """

    def __init__(
        self,
        folder: str | os.PathLike | None = None,
        *,
        monitor: str | None = None,
        mode: str = "auto",
        restore_best: bool = False,
        log_csv: str | os.PathLike | None = None,
        stateful_callbacks: Sequence[keras.callbacks.Callback] = (),
        keep_folder: bool = True,
    ):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"`mode` must be 'auto', 'min' or 'max'; got {mode!r}.")
        if restore_best and monitor is None:
            raise ValueError("`restore_best=True` needs a `monitor` to tell the best epoch.")
        self.folder = None if folder is None else Path(folder)
        self.monitor = monitor
        self.minimize = mode == "min" or (mode == "auto" and str(monitor).endswith("loss"))
        self.restore_best = restore_best
        self.log_csv = None if log_csv is None else Path(log_csv)
        self.stateful_callbacks = list(stateful_callbacks)
        self.keep_folder = keep_folder
        self._state = self._read_state()
        self._best_weights = None  # in memory when there is no folder
        self._first_epoch = True
        self._start = time.perf_counter()

    # -- what a caller reads ------------------------------------------------------------

    @property
    def initial_epoch(self) -> int:
        """Epochs finished before this run: what `fit(initial_epoch=...)` takes."""
        return self._state["epochs_done"]

    @property
    def stopped(self) -> bool:
        """Whether a callback stopped training early in the epochs backed up."""
        return self._state["stopped"]

    @property
    def checkpoint(self) -> str | None:
        """The file name of the last backup in `folder`, or None."""
        return self._state["checkpoint"]

    @property
    def rows(self) -> list[dict]:
        """One dict per epoch: `epoch` (from 0), the logged metrics and `seconds`."""
        return self._state["history"]

    @property
    def history(self) -> dict[str, list[float]]:
        """Metric name -> one value per epoch of the whole history (NaN where not logged)."""
        names = [k for row in self.rows for k in row if k not in _NOT_METRICS]
        names = list(dict.fromkeys(names))
        return {name: [row.get(name, math.nan) for row in self.rows] for name in names}

    @property
    def best_epoch(self) -> int | None:
        """The epoch (from 1) with the best value of `monitor`, or None."""
        return self._state["best"]["epoch"]

    @property
    def best_value(self) -> float | None:
        return self._state["best"]["value"]

    def fit_epochs(self, epochs: int) -> dict[str, int]:
        """The `initial_epoch` and `epochs` arguments of `fit` that continue this run.

        Training starts after the epochs done; none is trained when the run was
        stopped early (e.g. killed between early stopping and the end of `fit`).

        Args:
            epochs: the epochs of the whole run.

        Returns:
            `{"initial_epoch": ..., "epochs": ...}`.
        """
        return {
            "initial_epoch": self.initial_epoch,
            "epochs": self.initial_epoch if self.stopped else epochs,
        }

    # -- Keras hooks --------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._first_epoch = True
        if self.checkpoint is not None:
            if not self.model.built:  # Keras' TensorFlow trainer builds a subclassed model late
                raise ValueError(
                    f"Resuming from {self.folder / self.checkpoint} needs a built model: "
                    f"{self.model.name!r} is not. Call it once on a symbolic batch before "
                    "`fit`, e.g. `model(keras.KerasTensor((None, 32, 32, 3), 'uint8'))`."
                )
            if self.model.optimizer is not None and not self.model.optimizer.built:
                self.model.optimizer.build(self.model.trainable_variables)
            self.model.load_weights(self.folder / self.checkpoint)
        if self.log_csv is not None and self.rows:
            write_csv(self.log_csv, self.rows)  # drops a row written after the last commit

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch:
            self._first_epoch = False
            if epoch != self.initial_epoch:
                raise ValueError(
                    f"Training starts at epoch {epoch + 1} but {self.initial_epoch} epochs "
                    f"are already done in {self.folder}; pass "
                    "`**training.fit_epochs(epochs)` to `fit`."
                )
            self._restore_counters()
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = {name: float(value) for name, value in (logs or {}).items()}
        seconds = round(time.perf_counter() - self._start, 3)
        state = dict(self._state)
        state["history"] = [*self.rows, {"epoch": epoch, **logs, "seconds": seconds}]
        state["epochs_done"] = epoch + 1
        state["stopped"] = bool(self.model.stop_training)
        state["counters"] = self._counters()
        value = logs.get(self.monitor) if self.monitor is not None else None
        improved = value is not None and self._improves(value)
        if improved:
            state["best"] = {"epoch": epoch + 1, "value": value, "weights": None}
        if self.folder is None:
            if improved and self.restore_best:
                self._best_weights = self.model.get_weights()
        else:
            state["checkpoint"] = f"checkpoint-epoch{epoch + 1:04d}.weights.h5"
            atomic_write(self.folder / state["checkpoint"], self.model.save_weights)
            if improved and self.restore_best:
                state["best"]["weights"] = f"best-epoch{epoch + 1:04d}.weights.npz"
                weights = self.model.get_weights()
                atomic_write(
                    self.folder / state["best"]["weights"], lambda p: np.savez(p, *weights)
                )
            write_json(self.folder / STATE_FILE, state)  # the commit point
        self._state = state
        if self.folder is not None:
            self._remove_leftovers()
        if self.log_csv is not None:
            write_csv(self.log_csv, self.rows)

    def on_train_end(self, logs=None):
        best_weights = self._load_best_weights() if self.restore_best else None
        if best_weights is not None:
            self.model.set_weights(best_weights)
        if self.folder is not None and not self.keep_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- helpers ------------------------------------------------------------------------

    def _read_state(self) -> dict:
        state = {
            "epochs_done": 0,
            "checkpoint": None,
            "stopped": False,
            "history": [],
            "best": {"epoch": None, "value": None, "weights": None},
            "counters": [],
        }
        if self.folder is not None and (self.folder / STATE_FILE).is_file():
            state.update(read_json(self.folder / STATE_FILE))
        return state

    def _improves(self, value: float) -> bool:
        best = self.best_value
        if best is None or math.isnan(best):
            return True
        return value < best if self.minimize else value > best

    def _counters(self) -> list[dict]:
        return [_counters_of(callback) for callback in self.stateful_callbacks]

    def _restore_counters(self) -> None:
        saved = self._state["counters"]
        if not self.initial_epoch:
            return
        names = [type(callback).__name__ for callback in self.stateful_callbacks]
        if [counters["callback"] for counters in saved] != names:
            raise ValueError(
                f"The backup in {self.folder} was made with the callbacks "
                f"{[counters['callback'] for counters in saved]}, this run has {names}. "
                "Resume with the same settings, or delete the folder to start over."
            )
        # Here, not in `on_train_begin`: the callbacks reset these there, maybe after us.
        for callback, counters in zip(self.stateful_callbacks, saved, strict=True):
            for name, value in counters.items():
                if name != "callback":
                    setattr(callback, name, value)

    def _load_best_weights(self) -> list[np.ndarray] | None:
        if self.folder is None:
            return self._best_weights
        if self._state["best"]["weights"] is None:
            return None
        with np.load(self.folder / self._state["best"]["weights"]) as arrays:
            return [arrays[f"arr_{index}"] for index in range(len(arrays.files))]

    def _remove_leftovers(self) -> None:
        """Deletes backups that `state.json` does not name: written by an uncommitted epoch."""
        keep = {self.checkpoint, self._state["best"]["weights"]}
        for pattern in ("checkpoint-epoch*.weights.h5", "best-epoch*.weights.npz"):
            for path in self.folder.glob(pattern):
                if path.name not in keep:
                    path.unlink()
