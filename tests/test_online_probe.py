"""OnlineLinearProbe: logs a linear probe's validation accuracy during training, encoder untouched."""

import keras
import numpy as np
import pytest

from keras_ssl.evaluate import OnlineLinearProbe


@pytest.fixture(scope="module")
def blobs():
    """Four separated Gaussian classes in 16-D: 200 train, 80 validation points."""
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(4, 16)) * 3

    def draw(n):
        labels = np.arange(n) % 4
        return (centers[labels] + rng.normal(size=(n, 16))).astype("float32"), labels

    return draw(200), draw(80)


class AutoEncoderish(keras.Model):
    """A model with an `encoder`, trained on unlabelled inputs like a pretext model."""

    def __init__(self):
        super().__init__()
        self.encoder = keras.Sequential([keras.Input((16,)), keras.layers.Dense(8)])
        self.decoder = keras.layers.Dense(16)

    def call(self, x, training=False):
        return self.decoder(self.encoder(x, training=training))


def test_logs_accuracy_above_chance_into_history_and_csv(blobs, tmp_path):
    (x_train, y_train), (x_val, y_val) = blobs
    keras.utils.set_random_seed(0)
    model = AutoEncoderish()
    model.compile("adam", "mse")
    probe = OnlineLinearProbe(
        (x_train, y_train), (x_val, y_val), every_n_epochs=2, batch_size=32, verbose=0
    )
    csv_path = tmp_path / "log.csv"
    history = model.fit(
        x_train,
        x_train,
        epochs=3,
        verbose=0,
        callbacks=[probe, keras.callbacks.CSVLogger(str(csv_path))],
    ).history
    logged = history["online_probe_accuracy"]  # measured after epochs 1 and 2
    assert len(logged) == 2
    assert logged[-1] > 0.8  # chance is 0.25
    header = csv_path.read_text().splitlines()[0].split(",")
    assert "online_probe_accuracy" in header


def test_probe_training_leaves_the_encoder_unchanged(blobs):
    (x_train, y_train), (x_val, y_val) = blobs
    model = AutoEncoderish()
    model(x_train[:2])
    probe = OnlineLinearProbe((x_train, y_train), (x_val, y_val), verbose=0)
    probe.set_model(model)
    before = [w.copy() for w in model.get_weights()]
    logs = {}
    probe.on_epoch_end(0, logs)
    probe.on_epoch_end(1, logs)  # continues from the probe's previous weights
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert 0.0 <= logs["online_probe_accuracy"] <= 1.0
    assert len(probe.probe.trainable_weights) == 2


def test_rejects_bad_arguments(blobs):
    (x_train, y_train), _ = blobs
    with pytest.raises(ValueError, match="`probe_epochs` must be an integer >= 1; got 0"):
        OnlineLinearProbe((x_train, y_train), (x_train, y_train), probe_epochs=0)
