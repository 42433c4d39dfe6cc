"""MoCo: the queue is a FIFO of keys, saved with the model."""

import keras
import numpy as np

from keras_ssl import encoders, pretext


def test_queue_is_first_in_first_out_with_wrap_around():
    model = pretext.get("moco", encoders.small_cnn((32, 32, 3), 8, 2), output_dim=4, queue_size=5)
    initial = np.array(model.queue)
    batches = [np.full((2, 4), value, "float32") for value in (1.0, 2.0, 3.0)]
    for batch in batches:
        model.enqueue(batch)
    queue = np.array(model.queue)
    # Newest first; the 6 keys pushed the 5 initial rows and the oldest key out.
    np.testing.assert_array_equal(queue[:, 0], [3, 3, 2, 2, 1])
    model.enqueue(np.full((2, 4), 4.0, "float32"))
    np.testing.assert_array_equal(np.array(model.queue)[:, 0], [4, 4, 3, 3, 2])
    assert not np.allclose(initial[:, 0], 1.0)


def test_a_training_step_enqueues_both_views_keys(tmp_path):
    keras.utils.set_random_seed(0)
    model = pretext.get(
        "moco", encoders.small_cnn((32, 32, 3), 8, 2), augment="none", output_dim=8,
        hidden_dim=16, queue_size=32,
    )  # fmt: skip
    model.compile(optimizer="adam")
    images = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3)).astype("uint8")
    before = np.array(model.queue)
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    queue = np.array(model.queue)
    np.testing.assert_allclose(queue[16:], before[:16])  # 2 x 8 keys in front
    assert not np.allclose(queue[:16], before[:16])
    model.save(tmp_path / "moco.keras")
    np.testing.assert_allclose(
        np.array(keras.models.load_model(tmp_path / "moco.keras").queue), queue
    )
