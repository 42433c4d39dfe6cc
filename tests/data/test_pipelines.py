"""Pretraining and fine-tuning pipelines: shapes, dtypes, shuffling, seeds, caching, augmentation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.data import (
    ImageSet,
    finetuning_pipeline,
    light_augment,
    load_image_folder,
    pretraining_pipeline,
)
from keras_ssl.data import pipelines as pipelines_module


def numbered_images(count, size=8, classes=4):
    """Images whose first pixel holds their index, so batches can be traced back."""
    images = np.zeros((count, size, size, 3), np.uint8)
    images[:, 0, 0, 0] = np.arange(count) % 256
    images[:, 0, 0, 1] = np.arange(count) // 256
    labels = np.arange(count) % classes
    return ImageSet(images=images, labels=labels, class_names=[str(c) for c in range(classes)])


def indices_of(batch):
    batch = np.asarray(batch)
    return batch[:, 0, 0, 0].astype(int) + 256 * batch[:, 0, 0, 1].astype(int)


def epoch(dataset):
    """One pass as NumPy: a list of batches (or of (images, labels) tuples)."""
    return [tuple(map(np.asarray, b)) if isinstance(b, tuple) else np.asarray(b) for b in dataset]


@pytest.fixture
def folder_set(cifar_tree):
    return load_image_folder(cifar_tree)


def test_pretraining_batches_in_memory():
    imageset = numbered_images(100)
    dataset = pretraining_pipeline(imageset, 32, seed=0)
    assert dataset.element_spec == tf.TensorSpec((32, 8, 8, 3), tf.uint8)
    assert len(dataset) == 3  # known to Keras: progress bars, no "ran out of data"
    first, second = epoch(dataset), epoch(dataset)
    assert [len(b) for b in first] == [32, 32, 32]  # drop_remainder: 100 -> 3 x 32
    seen = np.concatenate([indices_of(b) for b in first])
    assert len(set(seen)) == 96 and seen.max() < 100  # each image at most once per epoch
    assert not np.array_equal(seen, np.concatenate([indices_of(b) for b in second]))
    assert not np.array_equal(seen, np.arange(96))  # shuffled


def test_pretraining_is_reproducible_per_seed():
    imageset = numbered_images(64)
    runs = [
        [indices_of(b) for e in range(2) for b in epoch(d)]
        for d in (
            pretraining_pipeline(imageset, 16, seed=3),
            pretraining_pipeline(imageset, 16, seed=3),
            pretraining_pipeline(imageset, 16, seed=4),
        )
    ]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])
    unshuffled = epoch(pretraining_pipeline(imageset, 16, shuffle=False))
    np.testing.assert_array_equal(
        np.concatenate([indices_of(b) for b in unshuffled]), np.arange(64)
    )


@pytest.mark.parametrize("cache", [True, False])
def test_pretraining_from_files(folder_set, cache):
    dataset = pretraining_pipeline(folder_set, 4, seed=1, cache=cache)
    assert dataset.element_spec == tf.TensorSpec((4, 32, 32, 3), tf.uint8)
    assert len(dataset) == 4
    reference = folder_set.numpy_images()
    keys = {image.tobytes(): i for i, image in enumerate(reference)}
    orders = []
    for _ in range(2):
        batches = epoch(dataset)
        assert [len(b) for b in batches] == [4] * 4  # 18 images -> 4 x 4
        order = [keys[image.tobytes()] for b in batches for image in b]
        assert len(set(order)) == 16
        orders.append(order)
    assert orders[0] != orders[1]
    again = [
        keys[image.tobytes()]
        for b in epoch(pretraining_pipeline(folder_set, 4, seed=1, cache=cache))
        for image in b
    ]
    assert again == orders[0]


def test_pretraining_from_a_zip_reshuffles_before_decoding(cifar_zip_path):
    imageset = load_image_folder(cifar_zip_path, validate=False)
    small = imageset.subset(np.arange(0, 50_000, 500))  # 100 files, 10 a class
    dataset = pretraining_pipeline(small, 25, seed=0, cache=False)
    batches = epoch(dataset)
    assert [b.shape for b in batches] == [(25, 32, 32, 3)] * 4
    reference = {image.tobytes() for image in small.numpy_images()}
    assert {image.tobytes() for b in batches for image in b} == reference
    sequential = np.concatenate(epoch(pretraining_pipeline(small, 25, shuffle=False, cache=False)))
    assert not np.array_equal(np.concatenate(batches), sequential)


def test_resizing_is_explicit(folder_set):
    assert pretraining_pipeline(folder_set, 6).element_spec.shape == (6, 32, 32, 3)
    resized = pretraining_pipeline(folder_set, 6, image_size=(96, 96), cache=False)
    assert resized.element_spec == tf.TensorSpec((6, 96, 96, 3), tf.uint8)
    in_memory = pretraining_pipeline(folder_set.to_memory(), 6, image_size=48)
    batch = next(iter(in_memory))
    assert batch.shape == (6, 48, 48, 3) and batch.dtype == tf.uint8


def test_batch_size_and_cache_errors(folder_set):
    with pytest.raises(
        ValueError, match=r"`batch_size` 19 is larger than the data set \(18 images\)"
    ):
        pretraining_pipeline(folder_set, 19)
    with pytest.raises(ValueError, match=r"`batch_size` must be a positive int; got 0"):
        pretraining_pipeline(folder_set, 0)
    with pytest.raises(ValueError, match=r"`batch_size` must be a positive int; got 4.0"):
        finetuning_pipeline(folder_set, 4.0)
    with pytest.raises(ValueError, match=r"`cache` must be True, False or 'auto'; got 'disk'"):
        pretraining_pipeline(folder_set, 4, cache="disk")
    unlabeled = ImageSet(images=np.zeros((4, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match=r"has no labels to fine-tune on"):
        finetuning_pipeline(unlabeled, 2)
    with pytest.raises(
        ValueError, match=r"`augment` must be None, 'light' or a callable; got 'heavy'"
    ):
        finetuning_pipeline(folder_set, 2, augment="heavy")


def test_auto_cache_follows_available_memory(monkeypatch, folder_set):
    need = 18 * 32 * 32 * 3
    monkeypatch.setattr(pipelines_module, "_available_memory", lambda: 2 * need)
    assert pipelines_module._use_cache("auto", folder_set, None)
    assert not pipelines_module._use_cache("auto", folder_set, (64, 64))  # 4x the bytes
    monkeypatch.setattr(pipelines_module, "_available_memory", lambda: 2 * need - 1)
    assert not pipelines_module._use_cache("auto", folder_set, None)
    assert pipelines_module._use_cache(True, folder_set, None)
    assert not pipelines_module._use_cache(True, folder_set.to_memory(), None)


def test_repeat_keeps_going():
    dataset = pretraining_pipeline(numbered_images(10), 4, repeat=True)
    assert len(list(dataset.take(7))) == 7


def test_finetuning_evaluation_keeps_order_and_every_example(folder_set):
    dataset = finetuning_pipeline(folder_set, 5, training=False)
    assert len(dataset) == 4
    images, labels = zip(*epoch(dataset), strict=True)
    assert [len(b) for b in images] == [5, 5, 5, 3]
    np.testing.assert_array_equal(np.concatenate(images), folder_set.numpy_images())
    np.testing.assert_array_equal(np.concatenate(labels), folder_set.labels)


def test_finetuning_training_shuffles_pairs_together():
    imageset = numbered_images(50)
    dataset = finetuning_pipeline(imageset, 8, seed=2)
    assert dataset.element_spec[0].shape.as_list() == [None, 8, 8, 3]
    epochs = []
    for _ in range(2):
        batches = epoch(dataset)
        index = np.concatenate([indices_of(images) for images, _ in batches])
        labels = np.concatenate([labels for _, labels in batches])
        assert sorted(index) == list(range(50))  # every example once, last batch kept
        np.testing.assert_array_equal(labels, imageset.labels[index])
        epochs.append(index)
    assert not np.array_equal(epochs[0], epochs[1])


def test_light_augment_flips_and_shifts_like_numpy():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (16, 8, 8, 3), dtype=np.uint8)
    out = keras.ops.convert_to_numpy(light_augment(seed=1)(images, training=True))
    assert out.shape == images.shape
    np.testing.assert_array_equal(out, light_augment(seed=1)(images, training=True))
    changed = 0
    for original, augmented in zip(images, out, strict=True):
        # Shifts of up to 8 // 8 = 1 pixel, borders reflected with the edge pixel repeated.
        padded = [
            np.pad(im, ((1, 1), (1, 1), (0, 0)), mode="symmetric")
            for im in (original, original[:, ::-1])
        ]
        candidates = [p[r : r + 8, c : c + 8] for p in padded for r in range(3) for c in range(3)]
        assert any(np.array_equal(augmented, c) for c in candidates)
        changed += not np.array_equal(augmented, original)
    assert changed >= 10  # 17 of the 18 outcomes change the image
    np.testing.assert_array_equal(light_augment(seed=1)(images, training=False), images)


def test_finetuning_augmentation(folder_set):
    light = finetuning_pipeline(folder_set.to_memory(), 6, augment="light", seed=5, shuffle=False)
    first, second = epoch(light), epoch(light)
    assert all(images.dtype == np.uint8 and images.shape == (6, 32, 32, 3) for images, _ in first)
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(first, second, strict=True))
    again = epoch(
        finetuning_pipeline(folder_set.to_memory(), 6, augment="light", seed=5, shuffle=False)
    )
    for (a, _), (b, _) in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    plain = finetuning_pipeline(folder_set, 6, training=False, augment="light")
    np.testing.assert_array_equal(
        np.concatenate([i for i, _ in epoch(plain)]), folder_set.numpy_images()
    )

    def darken(images):
        return tf.cast(images, tf.float32) * 0.5  # float out: rounded back to uint8

    custom = finetuning_pipeline(folder_set, 18, augment=darken, shuffle=False)
    images, _ = next(iter(custom))
    assert images.dtype == tf.uint8
    expected = np.round(folder_set.numpy_images() * 0.5).astype(np.uint8)
    np.testing.assert_array_equal(images, expected)
    flip = keras.layers.RandomFlip("horizontal", seed=0)
    images, _ = next(iter(finetuning_pipeline(folder_set, 18, augment=flip)))
    assert images.shape == (18, 32, 32, 3) and images.dtype == tf.uint8


def test_multi_hot_labels_pass_through():
    images = np.zeros((6, 4, 4, 3), np.uint8)
    labels = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 1], [0, 0, 0], [1, 0, 0], [0, 0, 1]])
    imageset = ImageSet(images=images, labels=labels, class_names=["a", "b", "c"])
    _, batch_labels = next(iter(finetuning_pipeline(imageset, 6, training=False)))
    np.testing.assert_array_equal(batch_labels, labels)


def test_a_model_learns_from_the_finetuning_pipeline():
    # Brightness tells the class: only a pipeline that keeps images with their labels
    # lets a tiny model learn it.
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 256)
    images = (rng.integers(0, 100, (256, 8, 8, 3)) + 150 * labels[:, None, None, None]).astype(
        np.uint8
    )
    imageset = ImageSet(images=images, labels=labels, class_names=["dark", "bright"])
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2),
        ]
    )
    model.compile(
        keras.optimizers.Adam(0.1),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(finetuning_pipeline(imageset, 32, augment="light"), epochs=5, verbose=0)
    _, accuracy = model.evaluate(finetuning_pipeline(imageset, 64, training=False), verbose=0)
    assert accuracy > 0.95
