"""Folders with link loops and zips with absolute or `..` members: read once, or refused."""

import io
import os
import warnings
import zipfile

import numpy as np
import pytest
from PIL import Image

from keras_ssl.cli import main
from keras_ssl.data import SkippedFilesWarning, load_image_folder, train_val_test_split

PER_CLASS = 30


def png_bytes(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def image_folder(root, classes=("cat", "dog"), per_class=PER_CLASS):
    """root/<class>/<NN>.png, a distinct small PNG per file."""
    for c, class_name in enumerate(classes):
        (root / class_name).mkdir(parents=True)
        for i in range(per_class):
            (root / class_name / f"{i:02d}.png").write_bytes(png_bytes(c * per_class + i))
    return root


def real(path) -> str:
    return os.path.realpath(path)


def test_link_loop_reads_every_file_once(tmp_path):
    root = image_folder(tmp_path / "images")
    os.symlink("..", root / "cat" / "up")
    with pytest.warns(SkippedFilesWarning) as record:
        imageset = load_image_folder(root, validate=False)
    assert len(imageset) == 2 * PER_CLASS
    assert imageset.class_names == ["cat", "dog"]
    np.testing.assert_array_equal(imageset.labels, np.repeat([0, 1], PER_CLASS))
    assert [str(w.message) for w in record] == [
        f"Skipped 1 of the paths below {str(root)!r} that reach a folder or file already "
        f"read (a link loop, or two links to one place): "
        f"{root / 'cat' / 'up'} -> {real(root)}."
    ]
    split = train_val_test_split(imageset.labels, test=0.5, seed=0)
    locations = imageset.files.locations
    train = {real(p) for p in locations[split["train"]]}
    test = {real(p) for p in locations[split["test"]]}
    assert len(train) + len(test) == 2 * PER_CLASS and not train & test


def test_linked_class_folder_elsewhere_still_loads(tmp_path):
    root = image_folder(tmp_path / "images", classes=("cat",))
    elsewhere = image_folder(tmp_path / "elsewhere", classes=("dog",))
    os.symlink(elsewhere / "dog", root / "dog")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        imageset = load_image_folder(root, validate=False)
    assert imageset.class_names == ["cat", "dog"]
    np.testing.assert_array_equal(imageset.labels, np.repeat([0, 1], PER_CLASS))


def test_file_reached_twice_counts_once_under_its_real_folder(tmp_path):
    root = image_folder(tmp_path / "images", per_class=3)
    # Sorted before `dog/`, but the link loses to the real folder the files lie in.
    os.symlink(root / "dog", root / "cat" / "also-dogs")
    os.symlink(root / "dog" / "00.png", root / "cat" / "a-dog.png")
    with pytest.warns(SkippedFilesWarning) as record:
        imageset = load_image_folder(root, validate=False)
    assert len(imageset) == 6
    np.testing.assert_array_equal(imageset.labels, [0, 0, 0, 1, 1, 1])
    assert [str(w.message) for w in record] == [
        f"Skipped 2 of the paths below {str(root)!r} that reach a folder or file already "
        f"read (a link loop, or two links to one place): "
        f"{root / 'cat' / 'also-dogs'} -> {real(root / 'dog')}, "
        f"{root / 'cat' / 'a-dog.png'} -> {root / 'dog' / '00.png'}."
    ]


def unsafe_zip(path, prefix):
    with zipfile.ZipFile(path, "w") as archive:
        for class_name in ("cat", "dog"):
            for i in range(2):
                archive.writestr(f"train/{class_name}/{i}.png", png_bytes(i))
        archive.writestr(f"{prefix}train/cat/9.png", png_bytes(9))
        archive.writestr(f"{prefix}train/dog/9.png", png_bytes(9))
    return path


def refusal(path, first):
    return (
        f"Zip archive {str(path)!r} has 2 members with an absolute path or '..' "
        f"(the first: {first!r}); re-create it with relative paths, e.g. "
        f"`cd <folder above the data> && zip -r {path.name} <data folder>`."
    )


@pytest.mark.parametrize("prefix", ["/", "../", "C:/", "train/../"])
def test_zip_with_unsafe_members_is_refused(tmp_path, prefix):
    path = unsafe_zip(tmp_path / "bad.zip", prefix)
    with pytest.raises(ValueError) as raised:
        load_image_folder(path)
    assert str(raised.value) == refusal(path, f"{prefix}train/cat/9.png")


# With and without `--dry-run`: the archive's names are checked with the data source.
@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
@pytest.mark.parametrize(
    "command",
    [
        ["pretrain", "--data", "bad.zip", "--output", "e.keras"],
        ["reproduce", "umea", "--profile", "smoke", "--data", "bad.zip"],
    ],
)
def test_cli_refuses_unsafe_zip_in_one_line(tmp_path, monkeypatch, capsys, command, dry_run):
    monkeypatch.chdir(tmp_path)
    path = unsafe_zip(tmp_path / "bad.zip", "/")
    assert main(command + dry_run) == 2
    err = capsys.readouterr().err  # `pretrain` logs its progress here too
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if "error" in line] == [
        f"keras-ssl {command[0]}: error: "
        + refusal(path.relative_to(tmp_path), "/train/cat/9.png")
        + " (`data.source` (--data))"
    ]
    assert not (tmp_path / "e.keras").exists() and os.listdir(tmp_path) == ["bad.zip"]
