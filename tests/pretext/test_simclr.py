import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ssl
from keras_ssl import augment, encoders, heads
from keras_ssl.callbacks import NaNLossError


def tiny_simclr(image_size=32, temperature=0.2, seed=0):
    return keras_ssl.SimCLR(
        encoders.small_cnn(input_shape=(image_size, image_size, 3), width=16, depth=3),
        heads.projection_head(hidden_dim=64, output_dim=32),
        augment.simclr_augment(image_size, seed=seed),
        temperature=temperature,
    )


def test_simclr_learns_on_real_images(cifar_medium):
    images, labels, _ = cifar_medium
    keras.utils.set_random_seed(0)
    model = tiny_simclr()
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    dataset = (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(2000, seed=0)
        .batch(64, drop_remainder=True)
    )
    before = model.evaluate(dataset.take(8), verbose=0, return_dict=True)
    history = model.fit(dataset, epochs=3, verbose=0).history  # 93 steps
    after = model.evaluate(dataset.take(8), verbose=0, return_dict=True)
    chance = 1 / (2 * 64 - 1)
    assert history["loss"][-1] < history["loss"][0] - 0.3
    assert after["loss"] < before["loss"] - 0.3
    assert after["contrastive_accuracy"] > 10 * chance
    assert after["contrastive_top5_accuracy"] > after["contrastive_accuracy"]


def test_gradients_reach_encoder_and_head():
    model = tiny_simclr()
    images = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3)).astype("uint8")
    with tf.GradientTape() as tape:
        loss = model.compute_loss(y_pred=model(images, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    assert len(model.trainable_variables) == len(model.encoder.trainable_variables) + len(
        model.projection_head.trainable_variables
    )
    for variable, grad in zip(model.trainable_variables, grads):
        assert grad is not None, variable.path
        assert float(tf.reduce_max(tf.abs(grad))) > 0, variable.path


def test_views_differ_and_match_the_encoder_size():
    model = keras_ssl.SimCLR(
        encoders.small_cnn(input_shape=(48, 48, 3), width=8, depth=2),
        augment=augment.simclr_augment(48),
    )
    images = np.repeat(np.random.default_rng(0).integers(0, 256, (1, 32, 32, 3)), 4, axis=0).astype(
        "uint8"
    )
    views = keras.ops.convert_to_numpy(model.make_views(images))
    assert views.shape == (8, 48, 48, 3)
    assert not np.allclose(views[0], views[4]) and not np.allclose(views[0], views[1])


def test_save_and_load_round_trip(tmp_path):
    model = tiny_simclr(temperature=0.3)
    model.compile(optimizer="adam")
    images = np.random.default_rng(1).integers(0, 256, (16, 32, 32, 3)).astype("uint8")
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "simclr.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, keras_ssl.SimCLR) and loaded.temperature == 0.3
    np.testing.assert_allclose(
        loaded.encoder.predict(images, verbose=0),
        model.encoder.predict(images, verbose=0),
        atol=1e-6,
    )
    features = model.encoder.predict(images, verbose=0)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded.projection_head(features)),
        keras.ops.convert_to_numpy(model.projection_head(features)),
        atol=1e-6,
    )
    assert json.dumps(loaded.augment.get_config(), default=list) == json.dumps(
        model.augment.get_config(), default=list
    )
    # The optimizer state comes back too, so training resumes where it stopped.
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 2
    loaded.fit(images, batch_size=8, epochs=1, verbose=0)
    assert int(loaded.optimizer.iterations) == 4


def test_standard_callbacks(tmp_path, cifar_small):
    images = cifar_small[0][:128]
    model = tiny_simclr()
    model.compile(optimizer="adam")
    callbacks = [
        keras.callbacks.ModelCheckpoint(tmp_path / "ckpt.keras"),
        keras.callbacks.EarlyStopping(monitor="loss", patience=5),
        keras.callbacks.CSVLogger(tmp_path / "log.csv"),
        keras.callbacks.TensorBoard(tmp_path / "tb"),
    ]
    model.fit(images, batch_size=32, epochs=2, callbacks=callbacks, verbose=0)
    header = (tmp_path / "log.csv").read_text().splitlines()[0].split(",")
    assert {"epoch", "loss", "contrastive_accuracy", "contrastive_top5_accuracy"} <= set(header)
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 3
    assert isinstance(keras.models.load_model(tmp_path / "ckpt.keras"), keras_ssl.SimCLR)
    assert any((tmp_path / "tb").rglob("events.out.tfevents.*"))


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((4, 32, 32), "uint8"), r"rank 3"),
        (np.zeros((4, 32, 32, 1), "uint8"), r"1 channels\. Convert grayscale"),
        (np.zeros((4, 32, 32, 4), "uint8"), r"4 channels\. Drop the alpha"),
        (tf.fill((4, 32, 32, 3), "x"), r"numeric dtype"),
        (
            np.zeros((1, 32, 32, 3), "uint8"),
            r"at least 2 images per batch \(each view .*\); got a batch of 1\.",
        ),
    ],
)
def test_bad_input_is_rejected(images, message):
    with pytest.raises(ValueError, match=message):
        tiny_simclr()(images)


def test_bad_arguments():
    encoder = encoders.small_cnn(width=4, depth=2)
    with pytest.raises(ValueError, match="`temperature` must be a positive number"):
        keras_ssl.SimCLR(encoder, temperature=0.0)
    with pytest.raises(ValueError, match="`encoder` must be a keras.Model"):
        keras_ssl.SimCLR("mobilenet")
    with pytest.raises(ValueError, match="defines its own loss and metrics; remove `loss=`"):
        keras_ssl.SimCLR(encoder, augment=augment.simclr_augment(32)).compile("adam", loss="mse")


def test_encoder_without_pooling_is_explained():
    inputs = keras.Input((32, 32, 3))
    feature_map = keras.layers.Conv2D(4, 3)(inputs)
    model = keras_ssl.SimCLR(keras.Model(inputs, feature_map), augment=augment.simclr_augment(32))
    with pytest.raises(ValueError, match=r"one feature vector per image.*GlobalAveragePooling2D"):
        model(np.zeros((4, 32, 32, 3), "uint8"))


def test_nan_loss_stops_training_with_a_clear_message():
    model = tiny_simclr()
    model.compile(optimizer=keras.optimizers.SGD(1e30))  # diverges within a few steps
    images = np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3)).astype("uint8")
    with pytest.raises(
        NaNLossError,
        match=r"loss became nan at epoch 1, batch \d+; training stopped.*learning rate",
    ):
        model.fit(images, batch_size=8, epochs=3, verbose=0)
    assert model.stop_training


def test_user_keras_model_works_as_encoder(cifar_small):
    """Any keras.Model from images to vectors is an encoder, e.g. a keras.applications one."""
    encoder = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(8, 3, strides=2),
            keras.layers.GlobalMaxPooling2D(),
        ]
    )
    model = keras_ssl.SimCLR(encoder, augment=augment.simclr_augment(32))
    model.compile(optimizer="adam")
    history = model.fit(cifar_small[0][:32], batch_size=16, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])


JAX_SCRIPT = textwrap.dedent(
    """
    import numpy as np, keras, keras_ssl
    assert keras.backend.backend() == "jax"
    # Training under JAX: tests/pretext/test_methods.py, for every registered method.
    images = np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3)).astype("uint8")

    # The guards of `fit` under JAX, where every batch shape is traced on its own.
    import warnings
    from keras_ssl.callbacks import NaNLossError, StopOnNaN
    simclr = keras_ssl.SimCLR(keras_ssl.encoders.small_cnn((16, 16, 3), 4, 2), augment="simclr")
    simclr.compile(optimizer="adam")
    small = images[:, :16, :16]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        simclr.fit(small[:33], batch_size=16, epochs=1, verbose=0)
    assert int(simclr.optimizer.iterations) == 2
    assert any("the 1 left over" in str(w.message) for w in caught)

    class ShortLast(keras.utils.PyDataset):
        def __len__(self):
            return 2
        def __getitem__(self, index):
            return small[: 8 if index == 0 else 1]

    try:
        simclr.fit(ShortLast(), epochs=1, verbose=0)
        raise AssertionError("a batch of 1 trained")
    except ValueError as error:
        assert "needs at least 2 images per batch" in str(error), error

    class EpochEnds(keras.callbacks.Callback):
        epochs = []
        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append(epoch)

    # StopOnNaN lets Keras dispatch batch ends asynchronously, and still names the batch.
    # A fresh model: Keras' JAX trainer does not give a model its variables back after
    # an error inside `fit` (as the short batch above raised).
    assert keras.callbacks.CallbackList([StopOnNaN(), EpochEnds()])._async_train
    simclr = keras_ssl.SimCLR(keras_ssl.encoders.small_cnn((16, 16, 3), 4, 2), augment="simclr")
    simclr.compile(optimizer="adam")
    import tensorflow as tf
    x = small[:48].astype("float32")
    x[24:32] = np.nan
    try:
        simclr.fit(tf.data.Dataset.from_tensor_slices(x).batch(8), epochs=2, verbose=0, callbacks=[EpochEnds()])
        raise AssertionError("NaN loss not stopped")
    except NaNLossError as error:
        assert "loss became nan at epoch 1, batch 4" in str(error), error
    assert EpochEnds.epochs == [], EpochEnds.epochs
    print("guards ok")
    """
)


def test_fit_guards_hold_under_jax():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "guards ok" in result.stdout


def test_subclassed_encoder_works_with_an_explicit_augment(subclassed_encoder):
    with pytest.raises(
        ValueError, match=r"preset 'simclr' needs an image size.*augment=keras_ssl.augment.get"
    ):
        keras_ssl.SimCLR(subclassed_encoder())
    model = keras_ssl.SimCLR(subclassed_encoder(), augment=augment.get("simclr", image_size=32))
    model.compile(optimizer="adam")
    images = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3)).astype("uint8")
    assert np.isfinite(model.fit(images, batch_size=8, epochs=1, verbose=0).history["loss"][0])


def test_mixed_precision_training(cifar_small):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = tiny_simclr()
        model.compile(optimizer="adam")
        assert model.encoder.layers[2].compute_dtype == "float16"
        history = model.fit(cifar_small[0][:128], batch_size=32, epochs=2, verbose=0).history
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert all(np.isfinite(history["loss"])) and history["loss"][1] < history["loss"][0]
