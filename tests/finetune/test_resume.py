"""A fine-tuning killed mid-way resumes from its last finished epoch with `backup_dir`."""

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


def test_killed_finetuning_resumes_from_the_last_finished_epoch(tmp_path, cifar_small):
    images, labels, _ = cifar_small
    order = np.random.default_rng(0).permutation(len(images))
    images, labels = images[order], labels[order]
    train, val = (images[:400], labels[:400]), (images[400:], labels[400:])
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

    recorder = EpochRecorder()
    result = finetune.finetune(encoder, train, val, 10, callbacks=[recorder], **kwargs)
    # Backups are written after the user's callbacks: epoch 3 (index 2) was lost, no more.
    assert recorder.epochs == [2, 3, 4]
    assert result.epochs_run == 5 and len(result.history["loss"]) == 5
    with open(tmp_path / "log.csv", newline="") as file:
        assert [int(row["epoch"]) for row in csv.DictReader(file)] == [0, 1, 2, 2, 3, 4]
    assert int(result.model.optimizer.iterations) == 5 * 8  # optimizer state came back too
    assert not (tmp_path / "backup").exists()  # removed once training ended
    assert np.isfinite(result.accuracy)
