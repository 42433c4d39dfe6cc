"""Pretext models create their variables before `fit` traces the training step.

Keras' TensorFlow trainer otherwise builds the model and the optimizer inside the first
trace, and `tf.function` then traces the whole step a second time
(`benchmarks/startup.py` measures what that costs for MobileNetV2).
"""

import keras
import numpy as np
import pytest

import keras_ssl
from keras_ssl import augment, encoders, heads


def simclr():
    return keras_ssl.SimCLR(
        encoders.small_cnn(input_shape=(32, 32, 3), width=8, depth=2),
        heads.projection_head(hidden_dim=16, output_dim=8),
        augment.simclr_augment(32, seed=3),
    )


def rotation():
    return keras_ssl.RotationPrediction(
        encoders.small_cnn(input_shape=(32, 32, 3), width=8, depth=2), mode="random", seed=1
    )


def count_traces(model):
    traces = []
    step = model.train_step

    def counted(data):
        traces.append(1)  # in graph mode, Python runs once per trace
        return step(data)

    model.train_step = counted
    return traces


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.function retracing")
@pytest.mark.parametrize("make", [simclr, rotation], ids=["simclr", "rotation"])
def test_training_step_is_traced_once(make):
    model = make()
    model.compile(optimizer="adam")
    traces = count_traces(model)
    images = np.random.default_rng(0).integers(0, 256, (32, 32, 32, 3)).astype("uint8")
    history = model.fit(images, batch_size=8, epochs=2, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
    assert len(traces) == 1
    assert model.optimizer.iterations.numpy() == 8


def test_building_draws_no_random_numbers():
    """The build is symbolic: the views after it are those of a model never built."""
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)).astype("uint8")
    built, fresh = simclr(), simclr()
    built.compile(optimizer="adam")
    built._create_variables()
    assert built.built and built.optimizer.built
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(built.make_views(images)),
        keras.ops.convert_to_numpy(fresh.make_views(images)),
    )
