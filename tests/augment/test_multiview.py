"""Tests of MultiView, group_by_size, RandomSolarize and the BYOL / DINO view presets."""

import importlib
import json

import keras
import numpy as np
import pytest

from keras_ssl import augment
from keras_ssl.augment import (
    AugmentPipeline,
    ColorJitter,
    GaussianBlur,
    MultiView,
    RandomApply,
    RandomResizedCrop,
    RandomSolarize,
    group_by_size,
)


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype="uint8")


def test_dino_views_number_and_sizes(images):
    views = augment.dino_views(32, 16, n_local=3, seed=1)(images, training=True)
    assert [tuple(view.shape) for view in views] == [(6, 32, 32, 3)] * 2 + [(6, 16, 16, 3)] * 3
    groups = group_by_size(views)
    assert [(indices, tuple(stacked.shape)) for indices, stacked in groups] == [
        ((0, 1), (12, 32, 32, 3)),
        ((2, 3, 4), (18, 16, 16, 3)),
    ]
    np.testing.assert_array_equal(to_numpy(groups[1][1])[6:12], to_numpy(views[3]))


def test_byol_views_recipe():
    first, second = augment.byol_views(32, seed=0).views
    assert [type(layer) for layer in first.layers] == [RandomResizedCrop, ColorJitter, GaussianBlur]
    assert [type(layer) for layer in second.layers] == [
        RandomResizedCrop,
        ColorJitter,
        RandomApply,
        RandomSolarize,
    ]
    assert second.layers[2].rate == 0.1 and second.layers[3].rate == 0.2
    jitter = first.layers[1]
    assert (jitter.rate, jitter.grayscale_rate) == (0.8, 0.2)
    local = augment.dino_views(32, 16, n_local=1, global_scale=(0.5, 1.0)).views[2]
    assert local.layers[0].scale == (0.05, 0.4) and local.layers[2].rate == 0.5
    assert augment.dino_views(32, 16, n_local=1, global_scale=(0.5, 1.0)).views[0].layers[
        0
    ].scale == (0.5, 1.0)


@pytest.mark.parametrize("preset", ["byol", "dino"])
def test_views_differ_and_follow_the_seed(preset, images):
    def make(seed):
        if preset == "byol":
            return augment.byol_views(32, seed=seed)
        return augment.dino_views(32, 16, n_local=2, seed=seed)

    first = [to_numpy(view) for view in make(3)(images, training=True)]
    for a, b in [(0, 1)] + ([(2, 3)] if preset == "dino" else []):
        assert np.abs(first[a] - first[b]).mean() > 1.0
    again = [to_numpy(view) for view in make(3)(images, training=True)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    other = [to_numpy(view) for view in make(4)(images, training=True)]
    assert all(np.abs(a - b).mean() > 1.0 for a, b in zip(first, other))


def test_solarize_inverts_exactly_the_pixels_from_128_when_applied(images):
    out = to_numpy(RandomSolarize(rate=0.5, seed=2)(images, training=True))
    x = images.astype("float32")
    solarized = np.where(x >= 128, 255.0 - x, x)
    applied = [np.array_equal(o, s) for o, s in zip(out, solarized)]
    kept = [np.array_equal(o, i) for o, i in zip(out, x)]
    assert all(a != k for a, k in zip(applied, kept))  # each image one or the other
    assert any(applied) and any(kept)
    np.testing.assert_array_equal(to_numpy(RandomSolarize(rate=1.0)(images)), solarized)
    np.testing.assert_array_equal(to_numpy(RandomSolarize(rate=1.0)(images, training=False)), x)


def test_multiview_inside_model_fit_and_keras_file(tmp_path, images):
    inputs = keras.Input((32, 32, 3), dtype="uint8")
    views = augment.dino_views(32, 16, n_local=2, seed=0)(inputs)
    conv = keras.layers.Conv2D(4, 3, activation="relu")
    pool = keras.layers.GlobalAveragePooling2D()
    features = [pool(conv(keras.layers.Rescaling(1 / 255)(view))) for view in views]
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Concatenate()(features)))
    model.compile(optimizer="adam", loss="mse")  # graph mode: run_eagerly is False
    history = model.fit(images, np.zeros((6, 1), "float32"), batch_size=3, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(
        to_numpy(loaded(images, training=False)), to_numpy(model(images, training=False)), atol=1e-5
    )
    multiview = next(layer for layer in loaded.layers if isinstance(layer, MultiView))
    assert len(multiview.views) == 4
    # JSON, since a loaded config holds lists where the original holds tuples.
    assert json.dumps(multiview.get_config()) == json.dumps(model.layers[1].get_config())


def test_multiview_config_round_trip(images):
    layer = MultiView([RandomResizedCrop(16, 16, seed=1), RandomSolarize(1.0, seed=2)])
    clone = MultiView.from_config(layer.get_config())
    assert [type(view) for view in clone.views] == [RandomResizedCrop, RandomSolarize]
    assert [tuple(view.shape) for view in clone(images)] == [(6, 16, 16, 3), (6, 32, 32, 3)]
    assert layer.compute_output_shape((None, 32, 32, 3)) == [(None, 16, 16, 3), (None, 32, 32, 3)]


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: MultiView([]), "non-empty list"),
        (lambda: MultiView(AugmentPipeline([])), "non-empty list"),
        (lambda: MultiView(["crop"]), "non-empty list"),
        (lambda: (lambda v: MultiView([v, v]))(AugmentPipeline([])), "twice"),
        (lambda: RandomSolarize(rate=1.5), "rate"),
        (lambda: augment.dino_views(n_local=-1), "n_local"),
        (lambda: augment.dino_views(local_scale=(0.5, 0.1)), "local_scale"),
        (lambda: augment.byol_views(0), "image_size"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_group_by_size_rejects_dynamic_sizes():
    with pytest.raises(ValueError, match="static height and width"):
        group_by_size([keras.KerasTensor((None, None, None, 3))])


@pytest.mark.parametrize("module", ["multiview", "solarize"])
def test_docstring_examples_run(module):
    import doctest

    result = doctest.testmod(importlib.import_module(f"keras_ssl.augment.{module}"))
    assert result.failed == 0
