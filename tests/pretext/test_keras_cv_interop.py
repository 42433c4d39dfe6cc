"""keras_cv's augmentation layers as the views of a pretext model (the `keras-cv` extra).

keras_cv (0.9, no longer developed) layers take images in a `value_range`; with (0, 255)
they fit keras_ssl's contract, alone or inside an `AugmentPipeline`. They run TensorFlow
ops inside `call`, so they work under the TensorFlow backend only, and a pretext model
refuses them under another backend before training.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ssl
from keras_ssl import augment, encoders, heads

keras_cv = pytest.importorskip("keras_cv")

needs_tensorflow = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="keras_cv layers need TensorFlow"
)


def keras_cv_views(seed=0):
    """SimCLR-like views: keras_ssl's crop, then keras_cv's flip and colour jitter."""
    return augment.AugmentPipeline(
        [
            augment.RandomResizedCrop(32, 32, scale=(0.2, 1.0), seed=seed),
            keras_cv.layers.RandomFlip("horizontal", seed=seed + 1),
            keras_cv.layers.RandomColorJitter(
                value_range=(0, 255),
                brightness_factor=0.4,
                contrast_factor=0.4,
                saturation_factor=(0.3, 0.7),
                hue_factor=0.1,
                seed=seed + 2,
            ),
        ]
    )


def tiny_simclr(views):
    return keras_ssl.SimCLR(
        encoders.small_cnn(input_shape=(32, 32, 3), width=16, depth=3),
        heads.projection_head(hidden_dim=64, output_dim=32),
        views,
        temperature=0.2,
    )


@needs_tensorflow
def test_keras_cv_views_are_random_per_image_in_0_255():
    images = np.repeat(np.random.default_rng(0).integers(0, 256, (1, 32, 32, 3)), 4, axis=0)
    jitter_only = keras_ssl.SimCLR(
        encoders.small_cnn(input_shape=(32, 32, 3), width=8, depth=2),
        augment=keras_cv.layers.RandomColorJitter(
            value_range=(0, 255),
            brightness_factor=0.4,
            contrast_factor=0.4,
            saturation_factor=(0.3, 0.7),
            hue_factor=0.1,
            seed=1,
        ),
    )
    views = keras.ops.convert_to_numpy(jitter_only.make_views(images.astype("uint8")))
    assert views.shape == (8, 32, 32, 3) and views.min() >= 0 and views.max() <= 255
    # Same image, eight views: every one different (drawn per image and per view).
    flat = views.reshape(8, -1)
    assert min(np.abs(a - b).mean() for i, a in enumerate(flat) for b in flat[i + 1 :]) > 1


@needs_tensorflow
def test_simclr_learns_with_keras_cv_views(cifar_medium):
    images, _, _ = cifar_medium
    keras.utils.set_random_seed(0)
    model = tiny_simclr(keras_cv_views())
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    dataset = tf.data.Dataset.from_tensor_slices(images[:1024]).shuffle(1024, seed=0)
    dataset = dataset.batch(64, drop_remainder=True)
    before = [v.numpy().copy() for v in model.encoder.trainable_variables]
    history = model.fit(dataset, epochs=3, verbose=0).history  # graph mode, 48 steps
    chance = 1 / (2 * 64 - 1)
    print(history)
    assert history["loss"][-1] < history["loss"][0] - 0.2
    assert history["contrastive_accuracy"][-1] > 5 * chance
    changed = [
        not np.allclose(a, b.numpy()) for a, b in zip(before, model.encoder.trainable_variables)
    ]
    assert all(changed)


@needs_tensorflow
def test_keras_cv_views_survive_save_and_load(tmp_path):
    model = tiny_simclr(keras_cv_views(seed=5))
    model.compile(optimizer="adam")
    images = np.random.default_rng(1).integers(0, 256, (16, 32, 32, 3)).astype("uint8")
    model.fit(images, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "simclr.keras")
    loaded = keras.models.load_model(tmp_path / "simclr.keras")
    assert [type(layer) for layer in loaded.augment.layers] == [
        type(layer) for layer in model.augment.layers
    ]
    # Tuples come back from the .keras file as lists.
    as_lists = json.loads(json.dumps(model.augment.layers[2].get_config()))
    assert loaded.augment.layers[2].get_config() == as_lists
    for a, b in zip(model.encoder.weights, loaded.encoder.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    loaded.fit(images, batch_size=8, epochs=1, verbose=0)  # resumes with its optimizer
    assert loaded.optimizer.iterations.numpy() == 4


JAX_SCRIPT = textwrap.dedent(
    """
    import keras, keras_cv, keras_ssl
    assert keras.backend.backend() == "jax"
    try:
        keras_ssl.SimCLR(
            keras_ssl.encoders.small_cnn(width=8, depth=2),
            augment=keras.Sequential([keras_cv.layers.RandomFlip("horizontal", name="flip")]),
        )
    except ValueError as error:
        print(error)
    """
)


def test_keras_cv_views_are_refused_under_jax_before_training():
    pytest.importorskip("jax")
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    result = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        "The augmentation layer 'flip' (RandomFlip) comes from keras_cv, whose layers run "
        "TensorFlow ops and work only with KERAS_BACKEND=tensorflow; the backend is 'jax'"
    ) in result.stdout
