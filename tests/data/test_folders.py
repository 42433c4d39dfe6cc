"""Image folders, zip archives and Tiny ImageNet on real JPEGs, and every kind of bad file."""

import io
import shutil
import zipfile

import numpy as np
import pytest
from PIL import Image

from keras_ssl.data import (
    ImageSet,
    SkippedFilesWarning,
    finetuning_pipeline,
    load_image_folder,
    load_tiny_imagenet,
)

# TensorFlow and Pillow upsample JPEG chroma differently: the same file decodes to pixels
# a few levels apart (at most 4 on the CIFAR-10 JPEGs), never more.
JPEG_TOLERANCE = 6


def pil_rgb(data: bytes) -> np.ndarray:
    """Reference decoding with Pillow, another decoder than TensorFlow's."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)


def write_image(path, array, format="PNG"):
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path, format=format)


def assert_close_to_pil(images, encoded):
    reference = np.stack([pil_rgb(data) for data in encoded]).astype(int)
    difference = np.abs(images.astype(int) - reference)
    assert difference.max() <= JPEG_TOLERANCE
    assert difference.mean() < 1.0


def test_labeled_folder_decodes_like_pillow(cifar_folder):
    imageset = load_image_folder(cifar_folder)
    assert imageset.class_names == ["airplane", "bird", "cat"]
    assert imageset.num_examples == len(imageset) == 18
    assert imageset.image_shape == (32, 32, 3)
    assert imageset.labels.dtype == np.int64
    np.testing.assert_array_equal(imageset.labels, np.repeat([0, 1, 2], 6))
    assert imageset.skipped_files == ()
    images = imageset.numpy_images()
    assert images.dtype == np.uint8 and images.shape == (18, 32, 32, 3)
    paths = [
        cifar_folder / c / p
        for c in imageset.class_names
        for p in sorted((cifar_folder / c).iterdir())
    ]
    assert_close_to_pil(images, [p.read_bytes() for p in paths])


def test_unlabeled_folder_takes_every_image_recursively(cifar_folder):
    nested = cifar_folder / "cat" / "deeper" / "still"
    nested.mkdir(parents=True)
    write_image(nested / "extra.png", np.full((32, 32, 3), 7))
    imageset = load_image_folder(cifar_folder, labeled=False)
    assert imageset.labels is None and imageset.class_names == []
    assert len(imageset) == 19
    labeled = load_image_folder(cifar_folder)  # images deeper in a class folder belong to it
    assert np.bincount(labeled.labels).tolist() == [6, 6, 7]


def test_shared_zip_read_in_place(cifar_zip_path, cifar_small):
    imageset = load_image_folder(cifar_zip_path, validate=False)
    assert len(imageset) == 50_000
    assert imageset.files.archive == str(cifar_zip_path)
    assert imageset.class_names == cifar_small[2]
    assert np.bincount(imageset.labels).tolist() == [5000] * 10
    assert imageset.image_shape == (32, 32, 3)
    # conftest decodes the first 50 sorted files of every class with Pillow.
    first = np.concatenate([np.flatnonzero(imageset.labels == c)[:50] for c in range(10)])
    subset = imageset.subset(first)
    np.testing.assert_array_equal(subset.labels, cifar_small[1])
    difference = np.abs(subset.numpy_images().astype(int) - cifar_small[0].astype(int))
    assert difference.max() <= JPEG_TOLERANCE and difference.mean() < 1.0


def test_small_zip_with_top_folder_and_subfolders(tmp_path, cifar_tree):
    archive_path = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        for path in sorted(cifar_tree.rglob("*.jpg")):
            relative = path.relative_to(cifar_tree).as_posix()
            archive.write(path, f"data/train/{relative}")
            if relative.startswith("cat/"):
                archive.write(path, f"data/test/{relative}")
        archive.writestr("__MACOSX/data/._junk.jpg", b"resource fork")
    whole = load_image_folder(archive_path)  # root: the one top folder "data"
    assert whole.class_names == ["test", "train"]
    train = load_image_folder(archive_path, subfolder="train")
    assert train.class_names == ["airplane", "bird", "cat"] and len(train) == 18
    test = load_image_folder(archive_path, subfolder="test")
    assert test.class_names == ["cat"] and len(test) == 6
    on_disk = load_image_folder(cifar_tree)
    np.testing.assert_array_equal(train.numpy_images(), on_disk.numpy_images())
    with pytest.raises(ValueError, match=r"has no folder 'val'; found: data"):
        load_image_folder(archive_path, subfolder="val")


def test_tiny_imagenet_train_and_val(tiny_imagenet_zip_path):
    train = load_tiny_imagenet(tiny_imagenet_zip_path, "train", validate=False)
    assert len(train) == 20_000 and train.num_classes == 40
    assert np.bincount(train.labels).tolist() == [500] * 40
    assert train.image_shape == (64, 64, 3)
    assert train.class_names == sorted(train.class_names)

    val = load_tiny_imagenet(tiny_imagenet_zip_path, "val")
    assert len(val) == 2000 and val.skipped_files == ()
    with zipfile.ZipFile(tiny_imagenet_zip_path) as archive:
        lines = archive.read("tiny-imagenet-200/val/val_annotations.txt").decode().splitlines()
        expected = {line.split("\t")[0]: line.split("\t")[1] for line in lines}
        for location, label in zip(val.files.locations[::97], val.labels[::97], strict=True):
            assert val.class_names[label] == expected[location.split("/")[-1]]
        # A grayscale JPEG (as in the real archive) comes out with three equal channels.
        gray = "tiny-imagenet-200/val/images/val_10.JPEG"
        with Image.open(io.BytesIO(archive.read(gray))) as image:
            assert image.mode == "L"
            reference = np.asarray(image, dtype=int)
    index = int(np.flatnonzero(val.files.locations == gray)[0])
    decoded = val.subset([index]).numpy_images()[0]
    assert decoded.shape == (64, 64, 3)
    np.testing.assert_array_equal(decoded[..., 0], decoded[..., 2])
    assert np.abs(decoded[..., 0].astype(int) - reference).max() <= JPEG_TOLERANCE


def test_tiny_imagenet_errors(tmp_path, tiny_imagenet_zip_path):
    with pytest.raises(ValueError, match=r"'train', 'val' or 'test'; got 'validation'"):
        load_tiny_imagenet(tiny_imagenet_zip_path, "validation")
    (tmp_path / "x").mkdir()
    with pytest.raises(ValueError, match=r"not a Tiny ImageNet archive: found no wnids.txt"):
        load_tiny_imagenet(tmp_path)


def test_corrupt_truncated_and_non_image_files_are_skipped_and_counted(cifar_folder):
    (cifar_folder / "cat" / "garbage.jpg").write_bytes(np.random.default_rng(0).bytes(600))
    real = (cifar_folder / "bird" / "0000.jpg").read_bytes()
    (cifar_folder / "bird" / "truncated.jpg").write_bytes(real[: len(real) // 2])
    (cifar_folder / "bird" / "notes.txt").write_text("not an image")
    with pytest.warns(SkippedFilesWarning) as caught:
        imageset = load_image_folder(cifar_folder)
    messages = " ".join(str(w.message) for w in caught)
    assert "1 files are not images" in messages and "notes.txt" in messages
    assert "2 of 20 image files cannot be decoded" in messages
    assert "garbage.jpg" in messages and "truncated.jpg" in messages
    assert len(imageset) == 18
    assert np.bincount(imageset.labels).tolist() == [6, 6, 6]
    assert sorted(name.split("/")[-1] for name in imageset.skipped_files) == [
        "garbage.jpg",
        "notes.txt",
        "truncated.jpg",
    ]


def test_strict_mode_raises_on_bad_files(cifar_folder):
    (cifar_folder / "cat" / "garbage.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    with pytest.raises(ValueError, match=r"1 of 19 image files cannot be decoded: .*garbage\.jpg"):
        load_image_folder(cifar_folder, strict=True)
    (cifar_folder / "cat" / "garbage.jpg").unlink()
    (cifar_folder / "readme.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"1 files lie outside the class folders .*readme\.txt"):
        load_image_folder(cifar_folder, strict=True)
    with pytest.warns(SkippedFilesWarning, match=r"1 files lie outside the class folders"):
        imageset = load_image_folder(cifar_folder)
    assert len(imageset) == 18 and imageset.skipped_files == (str(cifar_folder / "readme.txt"),)


def test_unvalidated_corrupt_file_is_dropped_by_the_pipeline(cifar_folder):
    (cifar_folder / "cat" / "zzz.jpg").write_bytes(b"garbage")
    imageset = load_image_folder(cifar_folder, validate=False)
    assert len(imageset) == 19 and imageset.image_shape == (32, 32, 3)
    seen = sum(
        int(images.shape[0]) for images, _ in finetuning_pipeline(imageset, 8, training=False)
    )
    assert seen == 18


def test_grayscale_and_rgba_pngs_become_rgb(tmp_path):
    root = tmp_path / "png"
    (root / "gray").mkdir(parents=True)
    (root / "rgba").mkdir()
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    rgba = np.random.default_rng(1).integers(0, 256, (6, 8, 4), dtype=np.uint8)
    rgba[..., 3] = 10  # nearly transparent: alpha is dropped, not blended
    write_image(root / "gray" / "a.png", gray)
    write_image(root / "rgba" / "b.png", rgba)
    images = load_image_folder(root).numpy_images()
    np.testing.assert_array_equal(images[0], np.repeat(gray[..., None], 3, axis=-1))
    np.testing.assert_array_equal(images[1], rgba[..., :3])


def test_sizes_must_agree_unless_resized(tmp_path):
    root = tmp_path / "mixed"
    (root / "a").mkdir(parents=True)
    write_image(root / "a" / "small.png", np.zeros((8, 8, 3)))
    write_image(root / "a" / "wide.png", np.full((10, 20, 3), 255))
    with pytest.raises(
        ValueError, match=r"differ in size \(2 sizes, e.g. 8x8, 10x20\); pass image_size"
    ):
        load_image_folder(root)
    imageset = load_image_folder(root, image_size=(12, 16))
    assert imageset.image_shape == (12, 16, 3)
    images = imageset.numpy_images()
    assert images.shape == (2, 12, 16, 3) and images.dtype == np.uint8
    assert images[0].max() == 0 and images[1].min() == 255
    with pytest.raises(ValueError, match=r"`image_size` must be \(height, width\)"):
        load_image_folder(root, image_size=(0, 4))


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(ValueError, match=r"does not exist; expected a folder or a .zip file"):
        load_image_folder(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"has no class folders .* pass labeled=False"):
        load_image_folder(empty)
    with pytest.raises(ValueError, match=r"Found no image files \(.bmp, .gif, .jpeg"):
        load_image_folder(empty, labeled=False)
    (empty / "cat").mkdir()
    (empty / "cat" / ".DS_Store").write_bytes(b"\x00")  # hidden files do not count
    with pytest.raises(ValueError, match=r"has no class folders"):
        load_image_folder(empty)
    (empty / "cat" / "list.csv").write_text("a,b")
    with (
        pytest.warns(SkippedFilesWarning),
        pytest.raises(ValueError, match=r"Found no image files"),
    ):
        load_image_folder(empty)
    (tmp_path / "plain.txt").write_text("x")
    with pytest.raises(ValueError, match=r"is neither a folder nor a zip archive"):
        load_image_folder(tmp_path / "plain.txt")


def test_all_files_corrupt_is_an_error(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x.png").write_bytes(b"nope")
    with pytest.warns(SkippedFilesWarning), pytest.raises(ValueError, match=r"None of the 1 image"):
        load_image_folder(tmp_path)


def test_imageset_checks_and_subset(cifar_small):
    images, labels, class_names = cifar_small
    imageset = ImageSet(images=images, labels=labels[:, None], class_names=class_names)
    assert imageset.labels.shape == (500,) and imageset.in_memory
    part = imageset.subset([3, 1, 499])
    np.testing.assert_array_equal(part.images, images[[3, 1, 499]])
    np.testing.assert_array_equal(part.labels, labels[[3, 1, 499]])
    assert part.class_names == class_names
    mask = labels == 2
    assert len(imageset.subset(mask)) == 50
    np.testing.assert_array_equal(imageset.class_counts(), [50] * 10)
    assert "500 images (32, 32, 3) in memory, 10 classes" in repr(imageset)
    with pytest.raises(
        ValueError, match=r"`indices` must lie in \[0, 500\); got values in \[0, 500\]"
    ):
        imageset.subset([0, 500])
    with pytest.raises(ValueError, match=r"must be uint8 \[N, H, W, 3\]; got float32"):
        ImageSet(images=images.astype(np.float32))
    with pytest.raises(
        ValueError, match=r"must be uint8 \[N, H, W, 3\]; got uint8 \(500, 32, 32\)"
    ):
        ImageSet(images=images[..., 0])
    with pytest.raises(ValueError, match=r"`labels` must have shape \[500\]"):
        ImageSet(images=images, labels=labels[:10])
    with pytest.raises(ValueError, match=r"must lie in \[0, 2\) to match `class_names`"):
        ImageSet(images=images, labels=labels, class_names=["a", "b"])
    with pytest.raises(ValueError, match=r"Pass exactly one of `images`"):
        ImageSet()
    multi = ImageSet(images=images[:4], labels=np.eye(4, 3), class_names=["x", "y", "z"])
    assert multi.is_multi_label and multi.labels.dtype == np.int64
    np.testing.assert_array_equal(multi.class_counts(), [1, 1, 1])


def test_class_names_keep_labels_of_a_folder_missing_a_class(cifar_folder):
    train = load_image_folder(cifar_folder)
    shutil.rmtree(cifar_folder / "bird")
    test = load_image_folder(cifar_folder, class_names=train.class_names)
    assert test.class_names == ["airplane", "bird", "cat"]
    assert np.bincount(test.labels, minlength=3).tolist() == [6, 0, 6]
    assert load_image_folder(cifar_folder).class_names == ["airplane", "cat"]  # labels would shift
    with pytest.raises(
        ValueError,
        match=r"class folders that are not in `class_names`: cat\. Expected only: airplane, bird",
    ):
        load_image_folder(cifar_folder, class_names=["airplane", "bird"])
