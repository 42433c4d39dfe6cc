import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ssl
from keras_ssl import encoders


def tiny_rotation(mode="all", seed=0, image_size=32):
    return keras_ssl.RotationPrediction(
        encoders.small_cnn(input_shape=(image_size, image_size, 3), width=16, depth=3),
        mode=mode,
        seed=seed,
    )


def test_all_mode_makes_the_four_rotations():
    images = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3)).astype("uint8")
    model = keras_ssl.RotationPrediction(
        encoders.small_cnn(input_shape=(8, 8, 3), width=4, depth=2)
    )
    rotated, labels = model.make_rotations(images)
    rotated = keras.ops.convert_to_numpy(rotated)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(labels), np.repeat(np.arange(4), 3))
    for k in range(4):
        expected = np.stack([np.rot90(image, k) for image in images])  # counter-clockwise
        np.testing.assert_array_equal(rotated[3 * k : 3 * k + 3], expected)


def test_random_mode_rotates_each_image_by_its_label():
    images = np.random.default_rng(1).integers(0, 256, (64, 8, 8, 3)).astype("uint8")
    model = keras_ssl.RotationPrediction(
        encoders.small_cnn(input_shape=(8, 8, 3), width=4, depth=2), mode="random", seed=3
    )
    rotated, labels = model.make_rotations(images)
    rotated, labels = keras.ops.convert_to_numpy(rotated), keras.ops.convert_to_numpy(labels)
    assert rotated.shape == images.shape and set(labels) == {0, 1, 2, 3}
    for image, out, k in zip(images, rotated, labels):
        np.testing.assert_array_equal(out, np.rot90(image, k))
    _, labels_again = model.make_rotations(images)
    assert not np.array_equal(labels, keras.ops.convert_to_numpy(labels_again))


@pytest.mark.parametrize("mode", ["all", "random"])
def test_rotation_model_beats_chance(cifar_medium, mode):
    images, labels, _ = cifar_medium
    keras.utils.set_random_seed(0)
    model = tiny_rotation(mode=mode)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    train = (
        tf.data.Dataset.from_tensor_slices(images[:1600])
        .shuffle(1600, seed=0)
        .batch(64, drop_remainder=True)
    )
    held_out = tf.data.Dataset.from_tensor_slices(images[1600:]).batch(100)
    epochs = 3 if mode == "all" else 6
    history = model.fit(train, epochs=epochs, verbose=0).history
    result = model.evaluate(held_out, verbose=0, return_dict=True)
    assert history["loss"][-1] < history["loss"][0]
    assert result["rotation_accuracy"] > 0.45  # chance is 0.25


def test_save_and_load_round_trip(tmp_path):
    model = tiny_rotation(mode="random", seed=7)
    model.compile(optimizer="adam")
    images = np.random.default_rng(2).integers(0, 256, (16, 32, 32, 3)).astype("uint8")
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "rotation.keras")
    loaded = keras.models.load_model(tmp_path / "rotation.keras")
    assert isinstance(loaded, keras_ssl.RotationPrediction)
    assert (loaded.mode, loaded.seed) == ("random", 7)
    features = model.encoder.predict(images, verbose=0)
    np.testing.assert_allclose(loaded.encoder.predict(images, verbose=0), features, atol=1e-6)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded.head(features)),
        keras.ops.convert_to_numpy(model.head(features)),
        atol=1e-6,
    )


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="square images"):
        keras_ssl.RotationPrediction(encoders.small_cnn(input_shape=(32, 48, 3), width=4, depth=2))(
            np.zeros((2, 32, 48, 3), "uint8")
        )
    with pytest.raises(ValueError, match="`mode` must be one of"):
        tiny_rotation(mode="some")
    with pytest.raises(ValueError, match="3 channels"):
        tiny_rotation()(np.zeros((2, 32, 32, 1), "uint8"))
