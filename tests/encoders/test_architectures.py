"""The seeds' encoders: shapes at several sizes, parameter counts against the papers,
freeze points against the built layers, weights files, learning under `fit`."""

import re

import keras
import numpy as np
import pytest

from keras_ssl import encoders, finetune
from keras_ssl.finetune import countable_layers

# Tiny transformers: the same builders and layers as ViT-S and PiT-Ti, CPU-test sized.
TINY_VIT = {"patch_size": 8, "width": 32, "depth": 2, "num_heads": 2, "mlp_dim": 64}
TINY_PIT = {"patch_size": 8, "stride": 4, "head_dim": 8, "depths": (1, 1), "num_heads": (2, 4)}


def trainable_parameters(model) -> int:
    return sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)


def _end_of(layers, pattern: str) -> int:
    """The number of countable layers up to the last one whose name matches `pattern`."""
    return 1 + max(index for index, layer in enumerate(layers) if re.match(pattern, layer.name))


@pytest.mark.parametrize(
    "name, kwargs, sizes, features",
    [
        ("resnet18", {}, (32, 64, 96, 224), 512),
        ("resnet18", {"cifar_stem": False}, (32, 224), 512),
        ("resnet50", {}, (32, 224), 2048),
        ("efficientnet_b0", {}, (32, 224), 1280),
        ("vgg16", {}, (32, 224), 512),
        ("vit_small", {"patch_size": 16}, (32, 64, 96, 224), 384),
        ("vit_small", {"patch_size": 8}, (32, 64, 96), 384),
        ("pit_tiny", {}, (32, 64, 96, 224), 256),
    ],
)
def test_output_shapes_at_several_sizes(name, kwargs, sizes, features):
    assert encoders.info(name).features(**kwargs) == features
    for size in sizes:
        encoder = encoders.get(name, input_shape=(size, size, 3), **kwargs)
        assert encoder.output_shape == (None, features), size
    images = np.random.default_rng(0).integers(0, 256, (2, sizes[0], sizes[0], 3)).astype("uint8")
    outputs = keras.ops.convert_to_numpy(encoder_at(name, sizes[0], kwargs)(images))
    assert outputs.shape == (2, features) and np.all(np.isfinite(outputs))


def encoder_at(name, size, kwargs):
    return encoders.get(name, input_shape=(size, size, 3), **kwargs)


@pytest.mark.parametrize(
    "name, kwargs, expected",
    [
        # lightly's ResNetGenerator("resnet-18") and kuangliu's CIFAR ResNet18: 11,173,962
        # parameters with a 10-class head (512 * 10 + 10 = 5,130).
        ("resnet18", {"input_shape": (32, 32, 3)}, 11_173_962 - 5_130),
        # torchvision's resnet18: 11,689,512 with its 1000-class head (513,000).
        ("resnet18", {"cifar_stem": False, "input_shape": (224, 224, 3)}, 11_689_512 - 513_000),
        # keras.applications.ResNet50: 25,583,592 trainable with its head (2,049,000); its
        # convolutions have biases, 26,560 more than torchvision's 25,557,032 ("25.6 M").
        ("resnet50", {}, 25_583_592 - 2_049_000),
        # keras.applications.EfficientNetB0: 5,288,548 trainable with its head (1,281,000).
        ("efficientnet_b0", {}, 5_288_548 - 1_281_000),
        # VGG-16's 13 convolutions: 138,357,544 with its three Dense layers (123,642,856).
        ("vgg16", {}, 138_357_544 - 123_642_856),
        # ViT-S/16 at 224 px without a head: timm's 21,665,664 less 384, the class token's
        # position embedding, which `ClassToken` folds into the token.
        ("vit_small", {}, 21_665_664 - 384),
        # PiT-Ti, counted layer by layer from naver-ai/pit's `pit_ti`: patch embedding
        # 49,216, positions 27 * 27 * 64 = 46,656, class token 64, blocks (12d² + 13d each)
        # 4,448,640, the two poolings 1,280 + 8,320 + 2,560 + 33,024, final norm 512.
        ("pit_tiny", {}, 4_590_272),
    ],
)
def test_parameter_counts_match_the_papers(name, kwargs, expected):
    assert trainable_parameters(encoders.get(name, **kwargs)) == expected


def test_parameter_counts_with_a_classifier_match_the_papers_tables():
    """DeiT-S / ViT-S 22.05 M, PiT-Ti 4.85 M ("4.9 M" in PiT's table), CIFAR ResNet-18 11.17 M."""
    with_head = {
        "vit_small": (encoders.vit_small(), 1000, 22.05),
        "pit_tiny": (encoders.pit_tiny(), 1000, 4.85),
        "resnet18": (encoders.resnet18(), 10, 11.17),
    }
    for name, (encoder, classes, millions) in with_head.items():
        features = encoder.output_shape[-1]
        total = trainable_parameters(encoder) + features * classes + classes
        assert round(total / 1e6, 2) == millions, (name, total)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: encoders.vit_small(input_shape=(40, 40, 3)), "patch_size=16 does not divide"),
        (
            lambda: encoders.vit_small(input_shape=(36, 36, 3), patch_size=8),
            re.escape("patch_size=8 does not divide the image size 36×36: use an image side"),
        ),
        (lambda: encoders.vit_small(patch_size=14), "ViT-S uses patch_size 16 or 8; got 14"),
        (lambda: encoders.pit_tiny(input_shape=(12, 12, 3)), "must be integers >= 16"),
        (lambda: encoders.resnet18(input_shape=(16, 16, 3)), "must be integers >= 32"),
        (lambda: encoders.resnet50(input_shape=(32, 32, 1)), "must have 3 channels"),
        (lambda: encoders.efficientnet_b0(pooling="cls"), "`pooling` must be 'avg' or 'max'"),
        (lambda: encoders.vision_transformer(pooling="max"), "`pooling` must be one of"),
        (
            lambda: encoders.vision_transformer((32, 32, 3), **{**TINY_VIT, "num_heads": 3}),
            "The width 32 is not divisible by num_heads=3",
        ),
        (
            lambda: encoders.pooling_transformer((32, 32, 3), depths=(1, 1), num_heads=(2,)),
            "must have one entry per stage",
        ),
    ],
)
def test_impossible_shapes_fail_clearly(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    "name, kwargs, stage_prefixes",
    [
        ("resnet18", {}, {"stem": "stem_", **{f"conv{s}": f"conv{s}_" for s in range(2, 6)}}),
        (
            "resnet18",
            {"cifar_stem": False},
            {"stem": "stem_", **{f"conv{s}": f"conv{s}_" for s in range(2, 6)}},
        ),
        ("resnet50", {}, {"stem": "pool1_", **{f"conv{s}": f"conv{s}_" for s in range(2, 6)}}),
        (
            "efficientnet_b0",
            {},
            {"stem": "stem_", **{f"block{b}": f"block{b}" for b in range(1, 8)}},
        ),
        ("vgg16", {}, {f"block{b}": f"block{b}_" for b in range(1, 6)}),
        (
            "vit_small",
            {},
            {"embedding": "class_token", **{f"block_{i}": f"block_{i}$" for i in range(12)}},
        ),
        (
            "pit_tiny",
            {},
            {"embedding": "class_token", **{f"stage_{s}": f"stage_{s}_" for s in range(3)}},
        ),
    ],
)
def test_freeze_points_end_where_their_parts_end(name, kwargs, stage_prefixes):
    """Resolved against the built model, whatever the builder's arguments (both stems)."""
    encoder = encoders.get(name, input_shape=(32, 32, 3), **kwargs)
    layers = countable_layers(encoder)
    assert list(encoders.info(name).points(**kwargs)) == list(stage_prefixes)
    ends = {point: finetune.resolve_freeze(encoder, point) for point in stage_prefixes}
    for point, prefix in stage_prefixes.items():
        assert ends[point] == _end_of(layers, prefix), point
    # The last point is the end of the backbone: only the final norm / pooling follow
    # (EfficientNet's 1×1 "top" convolution, its BatchNorm and activation, and the pooling).
    assert len(layers) - ends[list(ends)[-1]] <= 4


@pytest.mark.parametrize(
    "name, module, application, filename, layer",
    [
        (
            "resnet50",
            "resnet",
            "ResNet50",
            "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "conv1_conv",
        ),
        (
            "efficientnet_b0",
            "efficientnet",
            "EfficientNetB0",
            "efficientnetb0_notop.h5",
            "stem_conv",
        ),
        (
            "vgg16",
            "vgg16",
            "VGG16",
            "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "block1_conv1",
        ),
    ],
)
def test_imagenet_weights_are_requested_from_keras_applications(
    name, module, application, filename, layer, monkeypatch, tmp_path
):
    """`weights="imagenet"` goes through keras.applications' download, mocked here."""
    import importlib

    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    reference = getattr(keras.applications, application)(
        include_top=False, weights=None, input_shape=(32, 32, 3)
    )
    path = tmp_path / filename
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, reference)
    requests = []

    def fake_get_file(fname, origin, **kwargs):
        requests.append((fname, origin))
        return str(path)

    keras_module = importlib.import_module(f"keras.src.applications.{module}")
    monkeypatch.setattr(keras_module.file_utils, "get_file", fake_get_file)
    encoder = encoders.get(name, input_shape=(32, 32, 3), weights="imagenet")
    assert [fname for fname, _ in requests] == [filename]
    assert requests[0][1].startswith("https://") and requests[0][1].endswith(filename)
    np.testing.assert_array_equal(
        encoder.get_layer(layer).get_weights()[0], reference.get_layer(layer).get_weights()[0]
    )


@pytest.mark.parametrize("name", ["resnet18", "vit_small", "pit_tiny"])
def test_encoders_without_published_weights_refuse_imagenet_and_load_a_file(name, tmp_path):
    assert encoders.info(name).weights == (None,)
    with pytest.raises(
        ValueError, match=f"Keras publishes no ImageNet weights for '{name}_encoder'"
    ):
        encoders.get(name, input_shape=(32, 32, 3), weights="imagenet")
    keras.utils.set_random_seed(1)
    source = encoders.get(name, input_shape=(32, 32, 3))
    source.save_weights(tmp_path / "encoder.weights.h5")
    keras.utils.set_random_seed(2)
    loaded = encoders.get(
        name, input_shape=(32, 32, 3), weights=str(tmp_path / "encoder.weights.h5")
    )
    assert len(loaded.weights) == len(source.weights)
    for ours, theirs in zip(loaded.weights, source.weights):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(theirs)
        )


@pytest.mark.parametrize(
    "build",
    [
        lambda: encoders.resnet18(),
        lambda: encoders.resnet50(input_shape=(32, 32, 3)),
        lambda: encoders.efficientnet_b0(input_shape=(32, 32, 3)),
        lambda: encoders.vit_small(input_shape=(32, 32, 3), patch_size=8),
        lambda: encoders.pit_tiny(input_shape=(32, 32, 3)),
    ],
    ids=["resnet18", "resnet50", "efficientnet_b0", "vit_small", "pit_tiny"],
)
def test_keras_file_round_trip_gives_identical_outputs(build, tmp_path):
    encoder = build()
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)).astype("float32")
    encoder.save(tmp_path / "encoder.keras")
    loaded = keras.models.load_model(tmp_path / "encoder.keras")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(images)),
        keras.ops.convert_to_numpy(encoder(images)),
        rtol=1e-5,
        atol=1e-5,
    )
