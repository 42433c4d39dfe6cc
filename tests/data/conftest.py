"""Fixtures for the data tests: small real image folders unpacked from the shared CIFAR-10 zip."""

import shutil
import zipfile

import pytest

CLASSES = ("airplane", "bird", "cat")
PER_CLASS = 6


@pytest.fixture(scope="session")
def cifar_members(cifar_zip_path):
    """{class: [member names]}: the first `PER_CLASS` sorted JPEGs of three classes."""
    with zipfile.ZipFile(cifar_zip_path) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".jpg"))
    return {c: [n for n in names if n.split("/")[1] == c][:PER_CLASS] for c in CLASSES}


@pytest.fixture(scope="session")
def cifar_tree(tmp_path_factory, cifar_zip_path, cifar_members):
    """A read-only folder root/<class>/<NNNN>.jpg of 3 x 6 real CIFAR-10 JPEGs."""
    root = tmp_path_factory.mktemp("cifar") / "images"
    with zipfile.ZipFile(cifar_zip_path) as archive:
        for class_name, members in cifar_members.items():
            (root / class_name).mkdir(parents=True)
            for member in members:
                (root / class_name / member.split("/")[-1]).write_bytes(archive.read(member))
    return root


@pytest.fixture
def cifar_folder(tmp_path, cifar_tree):
    """A fresh copy of `cifar_tree` that a test may add bad files to."""
    return shutil.copytree(cifar_tree, tmp_path / "images")
