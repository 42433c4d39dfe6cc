"""Tests of the augmentation presets, the `get` registry, saving, fit and other backends."""

import importlib.util
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

from keras_ssl import augment
from keras_ssl.augment import (
    AugmentPipeline,
    ColorJitter,
    GaussianBlur,
    RandomApply,
    RandomResizedCrop,
)

REPO = Path(__file__).resolve().parents[2]


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.fixture(scope="module")
def images(cifar_small):
    return cifar_small[0][::50][:10]


def test_available_names():
    assert augment.available() == ("none", "rotation", "simclr", "umea")


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("size", [32, 96])
@pytest.mark.parametrize("name", ["none", "rotation", "simclr", "umea"])
def test_presets_build_and_run(name, size, dtype, images):
    layer = augment.get(name, image_size=size, seed=1)
    assert isinstance(layer, AugmentPipeline)
    out = to_numpy(layer(images.astype(dtype), training=True))
    assert out.shape == (10, size, size, 3)
    assert out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 255.0
    assert out.std() > 20.0
    symbolic = layer(keras.Input((32, 32, 3), dtype="uint8"))
    assert tuple(symbolic.shape) == (None, size, size, 3)


@pytest.mark.parametrize("name", ["rotation", "simclr", "umea"])
def test_presets_differ_per_image_and_per_call_and_follow_the_seed(name, images):
    same = np.repeat(images[:1], 8, axis=0)
    layer = augment.get(name, image_size=32, seed=5)
    first = to_numpy(layer(same, training=True))
    assert len({row.tobytes() for row in first}) == 8
    assert np.abs(first - to_numpy(layer(same, training=True))).mean() > 1.0
    again = to_numpy(augment.get(name, image_size=32, seed=5)(same, training=True))
    np.testing.assert_array_equal(first, again)
    other = to_numpy(augment.get(name, image_size=32, seed=6)(same, training=True))
    assert np.abs(first - other).mean() > 1.0


def test_none_checks_and_casts_only(images):
    np.testing.assert_array_equal(
        to_numpy(augment.get("none")(images, training=True)), images.astype("float32")
    )


def test_simclr_recipe():
    large = augment.simclr_augment(96, jitter_strength=1.0)
    crop, jitter, blur = large.layers
    assert isinstance(crop, RandomResizedCrop) and crop.horizontal_flip
    assert (crop.height, crop.width, crop.scale) == (96, 96, (0.08, 1.0))
    assert crop.ratio == pytest.approx((3 / 4, 4 / 3))
    assert isinstance(jitter, ColorJitter) and jitter.random_order
    assert (jitter.brightness, jitter.contrast, jitter.saturation) == pytest.approx((0.8,) * 3)
    assert jitter.hue == pytest.approx(0.2)
    assert (jitter.rate, jitter.grayscale_rate) == (0.8, 0.2)
    assert isinstance(blur, RandomApply) and blur.rate == 0.5
    assert isinstance(blur.layer, GaussianBlur)
    assert blur.layer.kernel_size == 9 and blur.layer.sigma == (0.1, 2.0)
    small = augment.simclr_augment(32)
    assert len(small.layers) == 2  # no blur below 96 px, as SimCLR on CIFAR-10
    assert small.layers[1].brightness == pytest.approx(0.4)


def test_umea_recipe():
    crop, jitter = augment.umea_augment().layers
    assert (crop.height, crop.width, crop.horizontal_flip) == (96, 96, True)
    assert not jitter.random_order and (jitter.rate, jitter.grayscale_rate) == (1.0, 0.0)
    assert min(jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue) > 0


def test_simclr_statistics_on_real_images(cifar_small):
    images = cifar_small[0]
    out = to_numpy(augment.simclr_augment(32, seed=0)(images, training=True))
    gray = np.all(np.ptp(out, axis=-1) < 1e-3, axis=(1, 2))
    originally_gray = np.all(np.ptp(images.astype(float), axis=-1) < 1, axis=(1, 2))
    assert 0.14 < gray.mean() - originally_gray.mean() < 0.27  # p = 0.2 over 500 images
    # Views stay images of similar brightness, not noise or saturated frames.
    assert abs(out.mean() - images.mean()) < 15.0
    assert 0.02 < np.mean((out == 0) | (out == 255)) < 0.25


def test_rotation_preset_flips_only_horizontally(images):
    layer = augment.rotation_augment(zoom=0.0, contrast=0.0, seed=0)
    batch = np.repeat(images[:1], 32, axis=0).astype("float32")
    out = to_numpy(layer(batch, training=True))
    plain = np.all(out == batch, axis=(1, 2, 3))
    mirrored = np.all(out == batch[:, :, ::-1], axis=(1, 2, 3))
    assert np.all(plain ^ mirrored) and 0 < mirrored.sum() < 32
    resized = to_numpy(augment.rotation_augment(image_size=48, seed=0)(images, training=True))
    assert resized.shape == (10, 48, 48, 3)


def test_get_returns_layers_unchanged_and_is_case_insensitive():
    layer = ColorJitter(0.1)
    assert augment.get(layer) is layer
    assert augment.get(" SimCLR ", image_size=32).name == "simclr_augment"
    assert augment.get("umea").layers[0].height == 96


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: augment.get("byol", 32), r"Unknown augmentation 'byol': expected one of \["),
        (lambda: augment.get(3, 32), r"Unknown augmentation 3"),
        (lambda: augment.get("simclr"), r"get\('simclr'\) needs `image_size`"),
        (
            lambda: augment.simclr_augment(0),
            r"simclr_augment: `image_size` must be an integer >= 1; got 0\.",
        ),
        (
            lambda: augment.simclr_augment(32, jitter_strength=1.5),
            r"`jitter_strength` must be a number in \[0.5, 1.0\]; got 1.5",
        ),
        (
            lambda: augment.umea_augment(crop_scale=(0.5, 0.1)),
            r"`crop_scale` must be a \(min, max\) pair",
        ),
        (
            lambda: augment.rotation_augment(zoom=1.5),
            r"`zoom` must be a number in \[0.0, 0.99\]; got 1.5",
        ),
        (
            lambda: augment.rotation_augment(image_size=-4),
            r"`image_size` must be an integer >= 1; got -4",
        ),
        (lambda: AugmentPipeline(["flip"]), r"must be a keras.layers.Layer. Received: 'flip'"),
    ],
)
def test_bad_preset_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("name", ["none", "rotation", "simclr", "umea"])
@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((32, 32, 3), "uint8"), "AugmentPipeline expects a batch of images of rank 4"),
        (np.zeros((2, 32, 32, 1), "uint8"), "3 channels"),
        (np.zeros((2, 32, 32, 4), "uint8"), "3 channels"),
        (np.full((2, 8, 8, 3), "x"), "numeric"),
    ],
)
def test_presets_reject_bad_images(name, bad, message):
    with pytest.raises(ValueError, match=message):
        augment.get(name, image_size=32)(bad, training=True)


def test_preset_round_trips_inside_a_keras_file(tmp_path, images):
    inputs = keras.Input((32, 32, 3), dtype="uint8")
    views = augment.simclr_augment(96, seed=3)(inputs)
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(views))
    model = keras.Model(inputs, features)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(
        to_numpy(loaded(images, training=False)), to_numpy(model(images, training=False)), atol=1e-5
    )
    assert loaded.layers[1].get_config() == model.layers[1].get_config()
    assert [type(layer) for layer in loaded.layers[1].layers] == [
        RandomResizedCrop,
        ColorJitter,
        RandomApply,
    ]
    trained = to_numpy(loaded(images, training=True))
    assert np.abs(trained - to_numpy(loaded(images, training=False))).mean() > 1e-3


def test_preset_inside_model_fit_augments_every_step(images):
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            augment.simclr_augment(32, seed=0),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    targets = np.zeros((10, 1), "float32")
    history = model.fit(images.astype("float32"), targets, batch_size=5, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    layer = model.layers[0]
    assert np.abs(to_numpy(layer(images)) - to_numpy(layer(images))).mean() > 1.0


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="XLA via tf.function")
def test_presets_compile_with_xla(images):
    layer = augment.simclr_augment(96, seed=0)
    run = tf.function(lambda x: layer(x, training=True), jit_compile=True)
    first, second = to_numpy(run(images)), to_numpy(run(images))
    assert first.shape == (10, 96, 96, 3) and 0.0 <= first.min() and first.max() <= 255.0
    assert np.abs(first - second).mean() > 1.0


JAX_SCRIPT = textwrap.dedent(
    """
    import json
    import jax
    import keras
    import numpy as np
    from keras_ssl import augment

    images = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype="uint8")
    results = {"backend": keras.backend.backend()}
    for name in ("simclr",):
        layer = augment.get(name, image_size=96, seed=1)
        layer.build(images.shape)
        state = [v.value for v in layer.non_trainable_variables]

        @jax.jit
        def step(state, x):
            return layer.stateless_call([], state, x, training=True)

        first, state = step(state, images)
        second, _ = step(state, images)
        again = augment.get(name, image_size=96, seed=1)(images, training=True)
        results[name] = {
            "shape": list(first.shape),
            "min": float(first.min()),
            "max": float(first.max()),
            "calls_differ": float(np.abs(np.asarray(first) - np.asarray(second)).mean()),
            "seeded_eager_equals_jit": bool(np.allclose(np.asarray(again), np.asarray(first), atol=1e-3)),
        }
    print(json.dumps(results))
    """
)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_presets_run_under_jax_backend():
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    completed = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    assert results["backend"] == "jax"
    for name in ("simclr",):
        assert results[name]["shape"] == [6, 96, 96, 3]
        assert 0.0 <= results[name]["min"] and results[name]["max"] <= 255.0
        assert results[name]["calls_differ"] > 1.0
        assert results[name]["seeded_eager_equals_jit"]


@pytest.mark.parametrize(
    "module",
    ["color_jitter", "gaussian_blur", "pipeline", "presets", "random_apply", "random_resized_crop"],
)
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"keras_ssl.augment.{module}"))
    assert result.attempted > 0 and result.failed == 0
