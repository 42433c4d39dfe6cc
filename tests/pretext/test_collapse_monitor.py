"""The `representation_std` collapse gauge every pretext model logs."""

import numpy as np
import pytest

import keras_ssl
from keras_ssl import augment, encoders, heads
from keras_ssl.pretext.base import representation_std


def reference(z):
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    return z.std(axis=0).mean()


def test_matches_numpy():
    z = np.random.default_rng(0).normal(size=(32, 8)).astype("float32") * 3 + 1
    assert float(representation_std(z)) == pytest.approx(reference(z), rel=1e-5)


def test_collapsed_batch_gives_zero():
    z = np.tile(np.arange(1, 9, dtype="float32"), (16, 1))
    assert float(representation_std(z)) == pytest.approx(0.0, abs=1e-6)


def test_gaussian_rows_give_one_over_sqrt_dim():
    dim = 64
    z = np.random.default_rng(0).normal(size=(4096, dim)).astype("float32")
    assert float(representation_std(z)) == pytest.approx(1 / np.sqrt(dim), rel=0.02)


def fit_logs(model):
    images = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3)).astype("uint8")
    model.compile(optimizer="adam")
    return model.fit(images, epochs=1, batch_size=4, verbose=0).history


def test_simclr_and_rotation_log_representation_std():
    encoder = encoders.small_cnn(input_shape=(32, 32, 3), width=8, depth=2)
    simclr = keras_ssl.SimCLR(
        encoder, heads.projection_head(16, 8), augment.simclr_augment(32, seed=0)
    )
    rotation = keras_ssl.RotationPrediction(
        encoders.small_cnn(input_shape=(32, 32, 3), width=8, depth=2), head_units=None
    )
    for model in (simclr, rotation):
        value = fit_logs(model)["representation_std"][0]
        assert 0.0 < value <= 1.0, type(model).__name__
