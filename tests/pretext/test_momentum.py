"""MomentumPretextModel: the EMA update, its cosine schedule, the step counter and saving."""

import math

import keras
import numpy as np
import pytest
from keras import ops

from keras_ssl.pretext.momentum import MomentumPretextModel, cosine_schedule


def cosine_schedule_reference(step, total_steps, start, end):
    """lightly's formula in plain Python, with the step clamped to [0, total_steps]."""
    step = min(max(step, 0), total_steps)
    return end - (end - start) * (math.cos(math.pi * step / total_steps) + 1) / 2


@keras.saving.register_keras_serializable(package="keras_ssl_tests")
class TinyMomentum(MomentumPretextModel):
    """Dense "encoder" with BatchNorm; the loss pulls online features towards target + 1."""

    def __init__(self, encoder, **kwargs):
        super().__init__(encoder, **kwargs)
        self.target_encoder = self.add_target(self.encoder)

    def call(self, images, training=False):
        if training:
            self.update_targets()
        images = ops.cast(images, "float32") / 255.0
        online = self._encode(images, training=training)
        target = self.target_forward(self.target_encoder, images, training=training)
        return {"online": online, "target": target}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        self.update_collapse_monitor(y_pred["online"])
        return ops.mean(ops.square(y_pred["online"] - y_pred["target"] - 1.0))


def tiny_encoder():
    return keras.Sequential(
        [
            keras.Input((4, 4, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
            keras.layers.BatchNormalization(),
        ]
    )


def tiny_model(**kwargs):
    keras.utils.set_random_seed(0)
    model = TinyMomentum(tiny_encoder(), **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    return model


IMAGES = np.random.default_rng(0).integers(0, 256, (12, 4, 4, 3)).astype("float32")


def weights(layer):
    return [ops.convert_to_numpy(w) for w in layer.weights]


@pytest.mark.parametrize("step", [0, 25, 50, 100, 150])
def test_cosine_schedule_matches_reference(step):
    expected = cosine_schedule_reference(step, 100, 0.996, 1.0)
    assert float(cosine_schedule(step, 100, 0.996, 1.0)) == pytest.approx(expected, abs=1e-7)


def test_cosine_schedule_values():
    assert cosine_schedule_reference(0, 100, 0.996, 1.0) == pytest.approx(0.996)
    assert cosine_schedule_reference(50, 100, 0.996, 1.0) == pytest.approx(0.998)
    assert cosine_schedule_reference(100, 100, 0.996, 1.0) == pytest.approx(1.0)
    assert float(cosine_schedule(250, 100, 0.996, 1.0)) == pytest.approx(1.0)


def test_ema_update_is_exact():
    model = tiny_model(total_steps=10)
    model(IMAGES[:2])
    rng = np.random.default_rng(1)
    online = [rng.normal(size=w.shape).astype("float32") for w in model.encoder.weights]
    target = [rng.normal(size=w.shape).astype("float32") for w in model.encoder.weights]
    model.encoder.set_weights(online)
    model.target_encoder.set_weights(target)
    model.momentum_step.assign(4)
    model.update_targets()
    m = cosine_schedule_reference(4, 10, 0.996, 1.0)
    for got, o, t in zip(weights(model.target_encoder), online, target):
        np.testing.assert_allclose(got, m * t + (1 - m) * o, rtol=1e-6, atol=1e-7)
    assert int(model.momentum_step) == 5


def test_first_update_copies_the_online_weights():
    model = tiny_model(total_steps=10)
    model(IMAGES[:2])
    model.update_targets()
    for got, online in zip(weights(model.target_encoder), weights(model.encoder)):
        np.testing.assert_array_equal(got, online)


def test_counter_counts_training_steps_only():
    model = tiny_model()
    model.fit(IMAGES, epochs=2, batch_size=4, verbose=0)  # 3 steps per epoch
    assert int(model.momentum_step) == 6
    assert int(model.momentum_total_steps) == 6  # set by fit: epochs * steps
    model.evaluate(IMAGES, batch_size=4, verbose=0)
    model.predict(IMAGES, batch_size=4, verbose=0)
    assert int(model.momentum_step) == 6


def test_targets_are_not_trainable_and_get_no_optimizer_update():
    # With m = 1 after the first (copying) step, only an optimizer could move the targets.
    model = tiny_model(momentum_start=1.0, momentum_end=1.0, total_steps=10)
    model(IMAGES[:2])
    initial_kernel = ops.convert_to_numpy(model.encoder.layers[1].kernel)
    history = model.fit(IMAGES, epochs=2, batch_size=4, verbose=0).history
    target_ids = {id(v) for v in model.target_encoder.weights}
    assert not target_ids & {id(v) for v in model.trainable_variables}
    assert target_ids <= {id(v) for v in model.non_trainable_variables}
    assert len(model.trainable_weights) == len(model.encoder.trainable_weights)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(model.target_encoder.layers[1].kernel), initial_kernel
    )
    assert not np.allclose(ops.convert_to_numpy(model.encoder.layers[1].kernel), initial_kernel)
    assert "representation_std" in history


def test_no_gradient_reaches_the_targets():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("uses tf.GradientTape")
    import tensorflow as tf

    model = tiny_model(total_steps=10)
    model(IMAGES[:2])
    with tf.GradientTape() as tape:
        loss = model.compute_loss(y_pred=model(IMAGES, training=True))
    grads = tape.gradient(loss, model.target_encoder.trainable_weights)
    assert all(g is None for g in grads)


def test_save_load_keeps_targets_and_counter_and_resumes_exactly(tmp_path):
    model = tiny_model(total_steps=10)
    model.fit(IMAGES, epochs=1, batch_size=4, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert int(loaded.momentum_step) == 3 and int(loaded.momentum_total_steps) == 10
    for a, b in zip(weights(model.target_encoder), weights(loaded.target_encoder)):
        np.testing.assert_array_equal(a, b)
    for m in (model, loaded):
        m.fit(IMAGES[:4], epochs=1, batch_size=4, shuffle=False, verbose=0)
    assert int(loaded.momentum_step) == 4
    for a, b in zip(weights(model), weights(loaded)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
