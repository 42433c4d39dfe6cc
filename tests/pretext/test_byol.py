"""BYOL: the targets start as copies and then trail the online weights by the EMA."""

import keras
import numpy as np

from keras_ssl import encoders, pretext


def test_targets_copy_then_trail_the_online_network():
    keras.utils.set_random_seed(0)
    model = pretext.get(
        "byol", encoders.small_cnn((32, 32, 3), 8, 2), augment="none",
        output_dim=8, hidden_dim=16, momentum_start=0.9, momentum_end=0.9, total_steps=10,
    )  # fmt: skip
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    images = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3)).astype("uint8")
    model.fit(images, batch_size=8, epochs=1, verbose=0, shuffle=False)  # 2 steps
    online = [np.array(v) for v in model.encoder.trainable_weights]
    targets_before = [np.array(v) for v in model.target_encoder.trainable_weights]
    model.fit(images[:8], batch_size=8, epochs=1, verbose=0)  # one more step
    targets_after = [np.array(v) for v in model.target_encoder.trainable_weights]
    # The update at the start of the step uses the online weights after the last one.
    for o, before, after in zip(online, targets_before, targets_after):
        np.testing.assert_allclose(after, 0.9 * before + 0.1 * o, rtol=1e-5, atol=1e-6)
    assert int(model.momentum_step) == 3
    assert not set(map(id, model.target_encoder.weights)) & set(map(id, model.trainable_variables))
