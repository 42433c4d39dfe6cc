import re

import keras
import numpy as np
import pytest
from keras import ops

from keras_ssl import encoders, pretext
from keras_ssl.pretext import registry

# As a YAML `method_args:` mapping gives them: plain values, lists rather than tuples.
METHOD_ARGS = {
    "simclr": {"temperature": 0.2, "projection_dims": [16, 8], "view_batching": "joint"},
    "rotation": {"mode": "random", "seed": 3, "head_units": 8},
}


def _encoder():
    return encoders.get("small_cnn", width=4, depth=2)


def _images(count=8):
    return np.random.default_rng(0).integers(0, 256, (count, 32, 32, 3)).astype("uint8")


def test_available_describe_and_method_arguments():
    assert {"rotation", "simclr"} <= set(pretext.available())
    assert pretext.available() == sorted(pretext.available())
    assert pretext.describe("simclr").startswith("SimCLR pretraining model")
    assert pretext.method_arguments("simclr") == {
        "temperature": 0.5,
        "view_batching": "separate",
        "projection_dims": (256, 128),
    }
    assert pretext.method_arguments("rotation") == {"mode": "all", "seed": None, "head_units": 128}
    assert (pretext.SimCLR.monitor, pretext.SimCLR.monitor_mode) == ("contrastive_accuracy", "max")
    assert pretext.RotationPrediction.monitor == "rotation_accuracy"
    assert pretext.SimCLR.loss_name == "NT-Xent loss"
    assert pretext.RotationPrediction.loss_name == "rotation cross-entropy"


@pytest.mark.parametrize("name", sorted(METHOD_ARGS))
def test_get_builds_from_plain_values_and_trains(name):
    model = pretext.get(name, _encoder(), **METHOD_ARGS[name])
    assert isinstance(model, pretext.PretextModel)
    model.compile(keras.optimizers.Adam(1e-2))
    model(_images(4))
    before = [w.copy() for w in model.encoder.get_weights()]
    history = model.fit(_images(), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    assert model.monitor in history.history
    after = model.encoder.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))


def test_simclr_projection_dims_build_the_head_and_projection_head_still_wins():
    model = pretext.get("simclr", _encoder(), projection_dims=[16, 8])
    assert model(_images(4)).shape == (8, 8)
    head = keras.Sequential([keras.layers.Dense(5)])
    assert pretext.SimCLR(_encoder(), projection_head=head)(_images(4)).shape == (8, 5)
    with pytest.raises(ValueError, match=r"`projection_dims` must be \(hidden_dim, output_dim\)"):
        pretext.get("simclr", _encoder(), projection_dims=[16])


def test_unknown_method_and_unknown_argument():
    with pytest.raises(ValueError, match=re.escape("Unknown pretext method 'x'; available: ")):
        pretext.get("x", _encoder())
    message = (
        "Unknown argument(s) for pretext method 'simclr': bogus, temprature. "
        "It accepts: temperature, view_batching, projection_dims."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        pretext.get("simclr", "not built", temprature=0.1, bogus=1)  # checked before building


def test_a_method_is_one_registered_class(monkeypatch):
    monkeypatch.setattr(registry, "METHODS", registry.METHODS.copy())  # undone after the test

    @pretext.register("mean_feature")
    class MeanFeature(pretext.PretextModel):
        """Pulls every feature towards a target value (a test method)."""

        def __init__(self, encoder, augment=None, target: float = 1.0, **kwargs):
            super().__init__(encoder, **kwargs)
            self.target = target

        def call(self, images, training=False):
            return self._encode(self._prepare_images(images), training=training)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            return ops.mean(ops.square(y_pred - self.target))

    assert "mean_feature" in pretext.available()
    assert pretext.method_arguments("mean_feature") == {"target": 1.0}
    assert (
        pretext.describe("mean_feature")
        == "Pulls every feature towards a target value (a test method)."
    )
    model = pretext.get("mean_feature", _encoder(), target=2.0)
    assert isinstance(model, MeanFeature) and model.monitor == "loss"
    model.compile("adam")
    assert np.isfinite(model.fit(_images(), batch_size=4, verbose=0).history["loss"][-1])
    with pytest.raises(ValueError, match="already registered"):
        pretext.register("mean_feature")(pretext.SimCLR)


@pytest.mark.parametrize("name", sorted(METHOD_ARGS))
def test_config_round_trip_through_keras_saving(name, tmp_path):
    model = pretext.get(name, _encoder(), **METHOD_ARGS[name])
    model(_images(4))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    config, loaded_config = model.get_config(), loaded.get_config()
    for key, value in METHOD_ARGS[name].items():
        assert loaded_config[key] == config[key] == value, key
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    clone = type(model).from_config(model.get_config())
    assert {key: clone.get_config()[key] for key in METHOD_ARGS[name]} == METHOD_ARGS[name]
