"""A fine-tuning killed mid-way resumes with `backup_dir` and ends as an uninterrupted run."""

import csv

import keras
import numpy as np
import pytest

from keras_ssl import encoders, finetune


class KillAfterEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt("killed")


class EpochRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


class DivergeAfterEpoch(keras.callbacks.Callback):
    """Sets a learning rate that wrecks the model after epoch `epoch` (from 0), so that
    no later epoch beats the earlier ones, whatever the random draws after a resume."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.optimizer.learning_rate.assign(3.0)


def _split(cifar_small):
    images, labels, _ = cifar_small
    order = np.random.default_rng(0).permutation(len(images))
    images, labels = images[order], labels[order]
    return (images[:400], labels[:400]), (images[400:], labels[400:])


def _csv_epochs(path):
    with open(path, newline="") as file:
        return [int(row["epoch"]) for row in csv.DictReader(file)]


def test_killed_finetuning_resumes_from_the_last_finished_epoch(tmp_path, cifar_small):
    train, val = _split(cifar_small)
    encoder = encoders.small_cnn(width=8, depth=2)
    kwargs = dict(
        recipe="full",
        epochs=5,
        patience=None,
        reduce_lr_factor=None,
        batch_size=50,
        log_csv=str(tmp_path / "log.csv"),
        backup_dir=str(tmp_path / "backup"),
        seed=0,
        verbose=0,
    )
    with pytest.raises(KeyboardInterrupt):
        finetune.finetune(encoder, train, val, 10, callbacks=[KillAfterEpoch(2)], **kwargs)
    assert (tmp_path / "backup").is_dir()
    assert _csv_epochs(tmp_path / "log.csv") == [0, 1]  # epoch 3 was never committed

    recorder = EpochRecorder()
    result = finetune.finetune(encoder, train, val, 10, callbacks=[recorder], **kwargs)
    # Backups are written after the user's callbacks: epoch 3 (index 2) was lost, no more.
    assert recorder.epochs == [2, 3, 4]
    assert result.epochs_run == 5 and len(result.history["loss"]) == 5
    assert _csv_epochs(tmp_path / "log.csv") == [0, 1, 2, 3, 4]
    assert int(result.model.optimizer.iterations) == 5 * 8  # optimizer state came back too
    assert not (tmp_path / "backup").exists()  # removed once training ended
    assert np.isfinite(result.accuracy)


def test_a_resumed_finetuning_keeps_the_best_epoch_of_the_whole_run(tmp_path, cifar_small):
    # The best epoch is among the first 3; the run is killed after epoch 4 (before its
    # backup) and resumed. It must end as the uninterrupted run does: stopped after
    # the same epoch (patience counted from the true best), with the best epoch's
    # weights and metrics, although the epochs after the resume differ (other
    # shuffling and dropout draws).
    train, val = _split(cifar_small)
    encoder = encoders.small_cnn(width=8, depth=2)
    kwargs = dict(
        recipe="full", epochs=12, monitor="val_loss", patience=3, learning_rate=3e-3,
        batch_size=50, seed=0, verbose=0,
    )  # fmt: skip
    plain = finetune.finetune(encoder, train, val, 10, callbacks=[DivergeAfterEpoch(2)], **kwargs)
    assert plain.best_epoch <= 3 and plain.epochs_run == plain.best_epoch + 3

    backup = {"backup_dir": str(tmp_path / "backup"), "log_csv": str(tmp_path / "log.csv")}
    with pytest.raises(KeyboardInterrupt):
        finetune.finetune(
            encoder, train, val, 10, callbacks=[DivergeAfterEpoch(2), KillAfterEpoch(3)],
            **kwargs, **backup,
        )  # fmt: skip
    recorder = EpochRecorder()
    resumed = finetune.finetune(
        encoder, train, val, 10, callbacks=[DivergeAfterEpoch(2), recorder], **kwargs, **backup
    )
    assert recorder.epochs[0] == 3
    assert (resumed.best_epoch, resumed.epochs_run) == (plain.best_epoch, plain.epochs_run)
    best = slice(0, plain.best_epoch)
    np.testing.assert_allclose(resumed.history["val_loss"][best], plain.history["val_loss"][best])
    assert resumed.val_metrics == pytest.approx(plain.val_metrics, rel=1e-5)
    assert resumed.val_metrics["loss"] == pytest.approx(min(plain.history["val_loss"]), rel=1e-5)
    for got, expected in zip(resumed.model.get_weights(), plain.model.get_weights(), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert _csv_epochs(tmp_path / "log.csv") == list(range(plain.epochs_run))
