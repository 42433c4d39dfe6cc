import h5py
import keras
import numpy as np
import pytest
from keras.src.applications import mobilenet_v2 as keras_mobilenet_v2
from keras.src.legacy.saving import legacy_h5_format

from keras_ssl import encoders


@pytest.fixture(scope="module")
def mobilenet_weights_file(tmp_path_factory):
    """A weights file in the layout keras.applications downloads (legacy HDF5, no top)."""
    reference = keras.applications.MobileNetV2(
        input_shape=(96, 96, 3), include_top=False, weights=None, alpha=0.35
    )
    path = tmp_path_factory.mktemp("weights") / "mobilenet_v2_no_top.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, reference)
    return path, reference


def test_mobilenet_v2_maps_raw_pixels_to_vectors():
    encoder = encoders.mobilenet_v2(input_shape=(32, 32, 3), alpha=0.35)
    images = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3)).astype("uint8")
    features = keras.ops.convert_to_numpy(encoder(images))
    assert features.shape == (2, 1280)
    # The first layers are the input and MobileNetV2's own preprocessing ([0, 255] -> [-1, 1]).
    scaled = keras.Model(encoder.input, encoder.get_layer("mobilenet_v2_preprocess").output)(images)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(scaled), images / 127.5 - 1.0, atol=1e-6)


def test_cifar_stem_keeps_spatial_resolution():
    stock = encoders.mobilenet_v2(input_shape=(32, 32, 3), alpha=0.35)
    cifar = encoders.mobilenet_v2(input_shape=(32, 32, 3), alpha=0.35, cifar_stem=True)
    assert stock.get_layer("out_relu").output.shape[1:3] == (1, 1)
    assert cifar.get_layer("out_relu").output.shape[1:3] == (2, 2)
    assert cifar.get_layer("Conv1").strides == (1, 1)
    assert stock.count_params() == cifar.count_params()


def test_batch_norm_momentum_is_configurable():
    default = encoders.mobilenet_v2(input_shape=(32, 32, 3), alpha=0.35)
    bns = [layer for layer in default.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 52 and {bn.momentum for bn in bns} == {0.9}
    keras_default = encoders.mobilenet_v2(input_shape=(32, 32, 3), alpha=0.35, bn_momentum=None)
    assert {
        layer.momentum
        for layer in keras_default.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    } == {0.999}


def test_imagenet_weights_are_requested_from_keras_applications(
    monkeypatch, mobilenet_weights_file
):
    path, reference = mobilenet_weights_file
    requests = []

    def fake_get_file(fname, origin, **kwargs):
        requests.append((fname, origin, kwargs))
        return str(path)

    monkeypatch.setattr(keras_mobilenet_v2.file_utils, "get_file", fake_get_file)
    encoder = encoders.mobilenet_v2(input_shape=(96, 96, 3), alpha=0.35, weights="imagenet")
    assert len(requests) == 1
    fname, origin, kwargs = requests[0]
    assert fname == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
    assert origin.endswith(fname) and origin.startswith("https://")
    assert kwargs.get("cache_subdir") == "models"
    np.testing.assert_array_equal(
        encoder.get_layer("Conv1").get_weights()[0], reference.get_layer("Conv1").get_weights()[0]
    )


def test_local_weights_file_is_loaded(mobilenet_weights_file):
    path, reference = mobilenet_weights_file
    encoder = encoders.mobilenet_v2(
        input_shape=(96, 96, 3), alpha=0.35, weights=str(path), cifar_stem=True
    )
    for name in ("Conv1", "block_16_project", "Conv_1_bn"):
        for ours, theirs in zip(
            encoder.get_layer(name).get_weights(), reference.get_layer(name).get_weights()
        ):
            np.testing.assert_array_equal(ours, theirs)


def test_small_cnn_and_registry():
    assert {"mobilenet_v2", "small_cnn"} <= set(encoders.available())
    encoder = encoders.get("small_cnn", input_shape=(16, 16, 3), width=4, depth=2)
    assert encoder.output_shape == (None, 8)
    with pytest.raises(
        ValueError, match="Unknown encoder 'resnet_1000'. Available encoders: .*mobilenet_v2"
    ):
        encoders.get("resnet_1000")


@pytest.mark.parametrize(
    "input_shape, message",
    [
        ((32, 32), r"must be \(height, width, channels\)"),
        ((32, 32, 1), "must have 3 channels"),
        ((32, 32, 4), "must have 3 channels"),
        ((16, 16, 3), "must be integers >= 32"),
    ],
)
def test_bad_input_shapes(input_shape, message):
    with pytest.raises(ValueError, match=message):
        encoders.mobilenet_v2(input_shape=input_shape)


def test_bad_pooling_and_momentum():
    with pytest.raises(ValueError, match="`pooling` must be 'avg' or 'max'"):
        encoders.mobilenet_v2(input_shape=(32, 32, 3), pooling=None)
    with pytest.raises(ValueError, match=r"`bn_momentum` must be in \[0, 1\)"):
        encoders.mobilenet_v2(input_shape=(32, 32, 3), alpha=0.35, bn_momentum=1.5)
