import re

import keras
import pytest

from keras_ssl import encoders
from keras_ssl.encoders import registry
from keras_ssl.finetune import countable_layers


def _end_of(layers, prefix: str) -> int:
    """The number of countable layers up to the last one whose name starts with `prefix`."""
    return 1 + max(index for index, layer in enumerate(layers) if layer.name.startswith(prefix))


def test_mobilenet_v2_metadata_matches_the_built_model():
    entry = encoders.info("mobilenet_v2")
    assert (entry.name, entry.builder, entry.input_size) == (
        "mobilenet_v2",
        encoders.mobilenet_v2,
        224,
    )
    assert entry.weights == (None, "imagenet")
    assert {"input_shape", "weights", "alpha", "cifar_stem"} <= entry.parameters
    encoder = encoders.mobilenet_v2(input_shape=(32, 32, 3), alpha=0.35, cifar_stem=True)
    assert entry.features(alpha=0.35) == encoder.output_shape[-1] == 1280
    layers = countable_layers(encoder)
    points = entry.points()
    assert list(points) == ["stem", "block_0", *[f"block_{i}" for i in range(1, 17)]]
    assert points["stem"] == _end_of(layers, "Conv1_relu") == 4
    assert points["block_0"] == _end_of(layers, "expanded_conv_")
    for index in range(1, 17):
        assert points[f"block_{index}"] == _end_of(layers, f"block_{index}_"), index
    # The Umeå report's 100 layers: block_10 and the first two layers of block_11.
    assert [layer.name for layer in layers[points["block_10"] : 100]] == [
        "block_11_expand",
        "block_11_expand_BN",
    ]


@pytest.mark.parametrize("alpha", [1.3, 1.4])
def test_mobilenet_v2_feature_size_grows_with_alpha_above_one(alpha):
    reference = keras.applications.MobileNetV2(
        input_shape=(32, 32, 3), alpha=alpha, include_top=False, weights=None, pooling="avg"
    )
    assert encoders.info("mobilenet_v2").features(alpha=alpha) == reference.output_shape[-1]


@pytest.mark.parametrize("depth", [2, 3])
def test_small_cnn_metadata_matches_the_built_model(depth):
    entry = encoders.info("small_cnn")
    assert (entry.input_size, entry.weights) == (32, (None,))
    encoder = encoders.small_cnn(width=8, depth=depth)
    assert entry.features(width=8, depth=depth) == encoder.output_shape[-1]
    layers = countable_layers(encoder)
    points = entry.points(depth=depth)
    assert list(points) == [f"block_{block}" for block in range(depth)]
    for block in range(depth):
        assert points[f"block_{block}"] == _end_of(layers, f"block{block}_"), block


def test_unknown_encoder_and_unknown_builder_argument():
    with pytest.raises(ValueError, match=re.escape("Unknown encoder 'nope'. Available encoders:")):
        encoders.info("nope")
    with pytest.raises(ValueError, match=r"Unknown argument\(s\) \['depth'\] for encoder"):
        encoders.info("mobilenet_v2").features(depth=3)


def test_user_encoder_without_metadata_and_name_lookup(monkeypatch):
    monkeypatch.setattr(registry, "ENCODERS", registry.ENCODERS.copy())  # undone after the test

    @encoders.register("test_tiny_net")
    def tiny_net(input_shape=(8, 8, 3), name="tiny_net_encoder"):
        inputs = keras.Input(input_shape)
        return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs), name=name)

    entry = encoders.info("test_tiny_net")
    assert (entry.feature_size, entry.input_size, entry.weights) == (None, None, (None,))
    assert entry.features() is None and entry.points() == {}
    assert encoders.get("test_tiny_net").output_shape == (None, 3)
    assert encoders.registered_name(encoders.get("test_tiny_net")) == "test_tiny_net"
    assert encoders.registered_name(encoders.small_cnn()) == "small_cnn"
    assert encoders.registered_name(encoders.small_cnn(name="mine")) is None
    with pytest.raises(ValueError, match="already registered"):
        encoders.register("test_tiny_net")(lambda: None)
