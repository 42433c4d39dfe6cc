"""DINO: the centre follows the teacher, the teacher temperature warms up, crops of two sizes."""

import keras
import numpy as np

from keras_ssl import encoders, losses, pretext


def _dino(**kwargs):
    keras.utils.set_random_seed(0)
    args = {"output_dim": 16, "hidden_dim": 16, "bottleneck_dim": 8, "local_views": 2}
    return pretext.get("dino", encoders.small_cnn((32, 32, 3), 8, 2), **{**args, **kwargs})


def test_centre_update_and_temperature_warm_up():
    model = _dino(total_steps=10, teacher_temperature_warmup=0.5)
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)).astype("uint8")
    outputs = model(images)
    teacher = [outputs["teacher"][0], outputs["teacher"][1]]
    expected = losses.dino_center_update(np.zeros(16, "float32"), teacher, 0.9)
    model.compute_loss(y_pred=outputs, training=True)
    np.testing.assert_allclose(np.array(model.center), np.array(expected), rtol=1e-5, atol=1e-7)
    temperatures = []
    for step in (0, 2, 5, 9):
        model.momentum_step.assign(step)
        temperatures.append(float(model.current_teacher_temperature()))
    np.testing.assert_allclose(temperatures, [0.04, 0.052, 0.07, 0.07], rtol=1e-5)


def test_local_crops_keep_their_size_with_an_encoder_that_takes_any_size():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 3))
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(8, 3)(inputs))
    encoder = keras.Model(inputs, features)
    model = pretext.get(
        "dino", encoder, augment=keras_ssl_views(), output_dim=16, hidden_dim=16, bottleneck_dim=8
    )
    seen = []
    call = model.encoder.call

    def spy(inputs, *args, **kwargs):
        seen.append(tuple(inputs.shape[1:3]))
        return call(inputs, *args, **kwargs)

    model.encoder.call = spy
    outputs = model(np.zeros((2, 32, 32, 3), "uint8"))
    assert outputs["student"].shape == (4, 2, 16) and outputs["teacher"].shape == (2, 2, 16)
    assert (16, 16) in seen and (32, 32) in seen  # one student pass per crop size


def keras_ssl_views():
    from keras_ssl import augment

    return augment.dino_views(global_size=32, local_size=16, n_local=2, seed=0)
