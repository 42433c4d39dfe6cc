import keras
import numpy as np
import pytest

from keras_ssl import heads


def test_projection_head_is_umea_by_default():
    head = heads.projection_head()
    out = head(np.zeros((4, 1280), "float32"))
    assert tuple(out.shape) == (4, 128)
    kinds = [type(layer).__name__ for layer in head.layers]
    assert kinds == ["Dense", "BatchNormalization", "Dense"]
    assert head.layers[0].units == 256 and head.layers[0].activation.__name__ == "relu"
    assert head.layers[-1].activation.__name__ == "linear"


def test_projection_head_depth_and_widths_configurable():
    head = heads.projection_head(
        hidden_dim=64, output_dim=32, num_hidden_layers=2, batch_norm=False
    )
    head(np.zeros((2, 10), "float32"))
    assert [layer.units for layer in head.layers] == [64, 64, 32]


def test_classification_head_has_dropout_and_softmax():
    head = heads.classification_head(10, dropout=0.5)
    probs = keras.ops.convert_to_numpy(head(np.random.normal(size=(3, 20)).astype("float32")))
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert head.layers[0].rate == 0.5


def test_rotation_head_outputs_four_logits():
    head = heads.rotation_head()
    assert tuple(head(np.zeros((5, 8), "float32")).shape) == (5, 4)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: heads.projection_head(hidden_dim=0), "hidden_dim"),
        (lambda: heads.projection_head(num_hidden_layers=-1), "num_hidden_layers"),
        (lambda: heads.classification_head(0), "num_classes"),
        (lambda: heads.classification_head(10, dropout=1.0), "dropout"),
        (lambda: heads.rotation_head(num_rotations=2.5), "num_rotations"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()
