"""StopOnNaN: stops `fit` at the first non-finite loss, before anything saves NaN weights."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ssl
from keras_ssl import augment
from keras_ssl.callbacks import NaNLossError, StopOnNaN


def tiny_simclr():
    # No ReLU anywhere: TensorFlow's CPU kernels (oneDNN) map NaN to 0 there, and the
    # NaN batch would train on finite numbers.
    keras.utils.set_random_seed(0)
    encoder = keras.Sequential(
        [keras.Input((16, 16, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(8)]
    )
    model = keras_ssl.SimCLR(
        encoder,
        keras.layers.Dense(8),
        augment.simclr_augment(16, seed=0),
    )
    model.compile(optimizer="adam")
    return model


def images_with_nan_batch(bad_batch, batch_size=8, count=48):
    """Float images in [0, 255]; batch `bad_batch` (0-based, in order) is all NaN."""
    x = np.random.default_rng(0).uniform(0, 255, (count, 16, 16, 3)).astype("float32")
    x[bad_batch * batch_size : (bad_batch + 1) * batch_size] = np.nan
    return x


class EpochEnds(keras.callbacks.Callback):
    """Stands for an end-of-epoch checkpoint: records the epochs it would have saved."""

    def on_train_begin(self, logs=None):
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_stops_at_the_first_nan_batch_before_a_checkpoint_saves_it(tmp_path):
    model = tiny_simclr()
    path = tmp_path / "every_batch.weights.h5"
    checkpoint = keras.callbacks.ModelCheckpoint(path, save_weights_only=True, save_freq=1)
    epoch_ends = EpochEnds()
    with pytest.raises(
        NaNLossError, match=r"loss became nan at epoch 1, batch 4; training stopped\."
    ):
        model.fit(
            tf.data.Dataset.from_tensor_slices(images_with_nan_batch(3)).batch(8),
            shuffle=False,
            epochs=2,
            verbose=0,
            callbacks=[checkpoint, epoch_ends],
        )
    assert model.stop_training and epoch_ends.epochs == []
    # `fit` put the guard first: the checkpoint of batch 4 (NaN weights) was never written.
    assert not all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in model.weights)
    model.load_weights(path)
    assert all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in model.weights)


def test_without_raising_it_only_stops(capsys):
    model = tiny_simclr()
    history = model.fit(
        tf.data.Dataset.from_tensor_slices(images_with_nan_batch(1)).batch(8),
        shuffle=False,
        epochs=3,
        verbose=0,
        callbacks=[StopOnNaN(raise_error=False)],
    )
    assert "loss became nan at epoch 1, batch 2" in capsys.readouterr().out
    assert model.stop_training and len(history.history["loss"]) == 1


def test_config_round_trip():
    callback = StopOnNaN(**StopOnNaN(raise_error=False).get_config())
    assert callback.raise_error is False and StopOnNaN.async_safe
