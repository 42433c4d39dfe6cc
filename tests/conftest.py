"""Shared fixtures: real CIFAR-10 pixels from the shared zip, read without the data module."""

import io
import os
import zipfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CIFAR_ZIP = SHARED_DATA / "cifar10-train.zip"
TINY_IMAGENET_ZIP = SHARED_DATA / "tiny-imagenet-200-40class.zip"


def _read_cifar(per_class: int, offset: int = 0):
    """Decodes `per_class` JPEGs of every class from the shared CIFAR-10 zip."""
    from PIL import Image

    if not CIFAR_ZIP.exists():
        pytest.skip(f"{CIFAR_ZIP} is missing")
    images, labels = [], []
    with zipfile.ZipFile(CIFAR_ZIP) as archive:
        names = sorted(n for n in archive.namelist() if n.lower().endswith(".jpg"))
        class_names = sorted({n.split("/")[1] for n in names})
        for label, class_name in enumerate(class_names):
            members = [n for n in names if n.split("/")[1] == class_name]
            for name in members[offset : offset + per_class]:
                with Image.open(io.BytesIO(archive.read(name))) as image:
                    images.append(np.asarray(image.convert("RGB"), dtype=np.uint8))
                labels.append(label)
    return np.stack(images), np.asarray(labels, dtype=np.int64), class_names


@pytest.fixture(scope="session")
def cifar_small():
    """(images uint8 [500, 32, 32, 3], labels int64 [500], class_names): 50 per class."""
    return _read_cifar(per_class=50)


@pytest.fixture(scope="session")
def cifar_medium():
    """(images uint8 [2000, 32, 32, 3], labels int64 [2000], class_names): 200 per class."""
    return _read_cifar(per_class=200)


@pytest.fixture(scope="session")
def cifar_zip_path():
    if not CIFAR_ZIP.exists():
        pytest.skip(f"{CIFAR_ZIP} is missing")
    return CIFAR_ZIP


@pytest.fixture(scope="session")
def make_cifar_folder(cifar_zip_path):
    """`make(folder, per_class)`: writes `folder/<class>/*.jpg`, the first JPEGs of every class."""

    def make(folder, per_class):
        with zipfile.ZipFile(cifar_zip_path) as archive:
            names = sorted(n for n in archive.namelist() if n.endswith(".jpg"))
            for class_name in sorted({n.split("/")[1] for n in names}):
                (folder / class_name).mkdir(parents=True)
                members = [n for n in names if n.split("/")[1] == class_name][:per_class]
                for name in members:
                    (folder / class_name / name.split("/")[-1]).write_bytes(archive.read(name))
        return folder

    return make


@pytest.fixture(scope="session")
def tiny_imagenet_zip_path():
    if not TINY_IMAGENET_ZIP.exists():
        pytest.skip(f"{TINY_IMAGENET_ZIP} is missing")
    return TINY_IMAGENET_ZIP


@pytest.fixture(scope="session")
def subclassed_encoder():
    """A user encoder class written as a subclassed keras.Model: it declares no input shape."""
    import keras

    class SubclassedEncoder(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.conv = keras.layers.Conv2D(8, 3, strides=2)
            self.pool = keras.layers.GlobalAveragePooling2D()

        def call(self, images):
            return self.pool(self.conv(images / 255.0))

    return SubclassedEncoder
