"""The catalogue on TFDS mocks and a faked keras.datasets, and `load` dispatching paths."""

import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds

from keras_ssl.data import (
    CIFAR10_CLASS_NAMES,
    ImageSet,
    available_datasets,
    catalog,
    load,
    load_dataset,
    register_dataset,
)

KNOWN = ["celeb_a", "cifar10", "cifar10_keras", "oxford_iiit_pet", "stl10", "tiny_imagenet"]


@pytest.fixture(autouse=True)
def online(monkeypatch):
    """The TFDS mocks replace downloading; let the reachability probe pass too."""
    monkeypatch.setattr(catalog, "_internet_reachable", lambda timeout=3.0: True)


def test_offline_and_unprepared_fails_at_once_with_a_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(catalog, "_internet_reachable", lambda timeout=3.0: False)
    with pytest.raises(
        ValueError, match=r"cifar10 is not prepared .* cannot be reached .* local folder or \.zip"
    ):
        load_dataset("cifar10", data_dir=str(tmp_path))


def test_available_datasets():
    assert set(KNOWN) <= set(available_datasets())
    assert available_datasets() == sorted(available_datasets())


def test_unknown_names_list_what_exists(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"Unknown data set 'imagenet'; the catalogue has: celeb_a, cifar10, cifar10_keras",
    ):
        load_dataset("imagenet")
    with pytest.raises(
        ValueError,
        match=r"Unknown data set 'cifar100': it is neither a catalogue name \(celeb_a, .*tiny_imagenet\) nor an existing",
    ):
        load("cifar100")
    with pytest.raises(ValueError, match=r"nor an existing folder or zip file"):
        load(str(tmp_path / "missing"))
    with pytest.raises(
        ValueError,
        match=r"stl10 has no split 'unlabeled'; expected one of: unlabelled, train, test",
    ):
        load_dataset("stl10", split="unlabeled")


def test_cifar10_from_tfds_mock():
    with tfds.testing.mock_data(num_examples=12):
        imageset = load_dataset("cifar10", split="train")
        reference = [ex["label"] for ex in tfds.as_numpy(tfds.load("cifar10", split="train"))]
    assert isinstance(imageset, ImageSet)
    assert imageset.images.shape == (12, 32, 32, 3) and imageset.images.dtype == np.uint8
    assert imageset.labels.dtype == np.int64
    np.testing.assert_array_equal(imageset.labels, reference)
    assert imageset.class_names == CIFAR10_CLASS_NAMES
    assert imageset.name == "cifar10:train"


def test_stl10_unlabelled_has_no_labels():
    with tfds.testing.mock_data(num_examples=5):
        unlabelled = load("stl10", split="unlabelled")
        train = load_dataset("stl10", split="train", image_size=(32, 32))
    assert unlabelled.labels is None and unlabelled.image_shape == (96, 96, 3)
    assert len(unlabelled) == 5
    assert train.image_shape == (32, 32, 3) and train.labels.shape == (5,)


def test_celeb_a_attributes_are_multi_hot():
    with tfds.testing.mock_data(num_examples=6):
        imageset = load_dataset("celeb_a", split="test", image_size=(24, 20))
        examples = list(tfds.as_numpy(tfds.load("celeb_a", split="test")))
    assert imageset.labels.shape == (6, 40) and imageset.is_multi_label
    assert set(np.unique(imageset.labels)) <= {0, 1}
    assert len(imageset.class_names) == 40 and "Smiling" in imageset.class_names
    assert imageset.image_shape == (24, 20, 3)
    smiling = imageset.class_names.index("Smiling")
    expected = [int(ex["attributes"]["Smiling"]) for ex in examples]
    np.testing.assert_array_equal(imageset.labels[:, smiling], expected)


def test_oxford_pet_needs_an_image_size():
    with pytest.raises(ValueError, match=r"oxford_iiit_pet images differ in size; pass image_size"):
        load_dataset("oxford_iiit_pet", split="train")
    with tfds.testing.mock_data(num_examples=4):
        imageset = load_dataset("oxford_iiit_pet", split="test", image_size=(40, 40))
    assert imageset.images.shape == (4, 40, 40, 3)
    assert imageset.num_classes == 37 and imageset.labels.max() < 37


def test_cifar10_from_keras_datasets(monkeypatch):
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    y_train = rng.integers(0, 10, (20, 1), dtype=np.uint8)
    x_test, y_test = x_train[:4], y_train[:4]
    monkeypatch.setattr(
        keras.datasets.cifar10, "load_data", lambda: ((x_train, y_train), (x_test, y_test))
    )
    train = load("cifar10_keras")
    np.testing.assert_array_equal(train.images, x_train)
    np.testing.assert_array_equal(train.labels, y_train[:, 0])
    assert train.labels.dtype == np.int64 and train.class_names[0] == "airplane"
    test = load_dataset("cifar10_keras", split="test", image_size=16)
    assert test.images.shape == (4, 16, 16, 3) and test.images.dtype == np.uint8


def test_load_dispatches_paths(cifar_tree, tiny_imagenet_zip_path):
    folder = load(cifar_tree)
    assert folder.class_names == ["airplane", "bird", "cat"] and len(folder) == 18
    tiny = load(tiny_imagenet_zip_path, split="val", validate=False)
    assert len(tiny) == 2000 and tiny.num_classes == 40
    via_catalogue = load_dataset(
        "tiny_imagenet", split="val", data_dir=tiny_imagenet_zip_path, validate=False
    )
    np.testing.assert_array_equal(via_catalogue.labels, tiny.labels)
    with pytest.raises(ValueError, match=r"tiny_imagenet is not in TFDS: pass data_dir="):
        load_dataset("tiny_imagenet")


def test_register_dataset(monkeypatch):
    monkeypatch.setattr(catalog, "DATASETS", catalog.DATASETS.copy())  # undone after the test

    @register_dataset("noise", splits=["train"])
    def load_noise(split, data_dir=None, size=4):
        return ImageSet(images=np.zeros((3, size, size, 3), np.uint8), name=f"noise:{split}")

    assert "noise" in available_datasets()
    assert load("noise", size=6).image_shape == (6, 6, 3)
