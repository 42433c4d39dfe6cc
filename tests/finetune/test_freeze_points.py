import re

import numpy as np
import pytest

from keras_ssl import encoders, finetune
from keras_ssl.finetune import FinetuneConfig, get_recipe, resolve_freeze


@pytest.fixture(scope="module")
def mobilenet():
    return encoders.mobilenet_v2(input_shape=(32, 32, 3), alpha=0.35, weights=None)


def _trainable(encoder):
    return [layer.trainable for layer in finetune.countable_layers(encoder)]


def test_mobilenet_v2_by_point_fraction_and_count(mobilenet):
    count = len(finetune.countable_layers(mobilenet))
    for freeze, expected in [("block_12", 116), ("stem", 4), (0.5, round(0.5 * count)), (30, 30)]:
        frozen = finetune.freeze_first(mobilenet, freeze)
        assert len(frozen) == expected, freeze
        assert _trainable(mobilenet) == [False] * expected + [True] * (count - expected)
    assert finetune.countable_layers(mobilenet)[115].name == "block_12_add"
    assert resolve_freeze(mobilenet, "all") == "all"
    assert resolve_freeze(mobilenet, 1.0) == count
    copy = finetune.copy_encoder(mobilenet)  # keeps its name, so its points are found
    assert resolve_freeze(copy, "block_16") == 151


def test_small_cnn_by_point_fraction_and_count():
    encoder = encoders.small_cnn(width=4, depth=2)  # input, 2 blocks of 4, pooling: 10 layers
    assert [resolve_freeze(encoder, f) for f in ("block_0", "block_1", 0.25, 3)] == [5, 9, 2, 3]
    model = finetune.classifier(encoder, 3, freeze_first="block_0")
    assert _trainable(encoder) == [False] * 5 + [True] * 5
    assert model.output_shape == (None, 3)
    finetune.classifier(encoder, 3, freeze_first="all")
    assert not encoder.trainable
    renamed = encoders.small_cnn(width=4, depth=2, name="mine")
    assert resolve_freeze(renamed, "block_1", encoder_name="small_cnn") == 9


def test_bad_freeze_values():
    encoder = encoders.small_cnn(width=4, depth=2)
    message = "Unknown freeze point 'block_7' for encoder 'small_cnn_encoder'; its freeze points are: block_0, block_1."
    with pytest.raises(ValueError, match=re.escape(message)):
        resolve_freeze(encoder, "block_7")
    with pytest.raises(ValueError, match=re.escape("must be in [0, 1]; got 1.5")):
        resolve_freeze(encoder, 1.5)
    with pytest.raises(ValueError, match=re.escape("Cannot freeze the first 11 layers")):
        resolve_freeze(encoder, 11)
    with pytest.raises(
        ValueError, match=re.escape("a freeze-point name such as 'block_12'; got True")
    ):
        resolve_freeze(encoder, True)
    with pytest.raises(ValueError, match=re.escape("pass its registered name as `encoder_name`")):
        resolve_freeze(encoders.small_cnn(width=4, depth=2, name="mine"), "block_0")
    with pytest.raises(
        ValueError, match=re.escape("`freeze_first` must be an integer >= 0 or 'all'")
    ):
        FinetuneConfig(freeze_first=-0.5)


def test_library_default_trains_everything_and_umea_keeps_its_100_layers():
    assert FinetuneConfig().freeze_first == 0
    assert get_recipe("umea").freeze_first == 100
    assert get_recipe("umea", freeze_first=0.25).freeze_first == 0.25


def test_recipe_with_a_freeze_point_fine_tunes(mobilenet):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 32, 32, 3)).astype("uint8")
    labels = np.tile(np.arange(3), 4)
    recipe = get_recipe("full", freeze_first="block_12", epochs=1, patience=None, batch_size=4)
    result = finetune.finetune(mobilenet, (images, labels), (images, labels), 3, recipe)
    assert np.isfinite(result.history["loss"][0])
    encoder = result.model.get_layer(mobilenet.name)
    assert _trainable(encoder)[115:117] == [False, True]
    with pytest.raises(
        ValueError, match=r"Recipe 'full', field `freeze_first`: Unknown freeze point"
    ):
        finetune.finetune(
            encoders.small_cnn(width=4, depth=2), (images, labels), (images, labels), 3, recipe
        )
