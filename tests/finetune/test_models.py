import keras
import numpy as np
import pytest

from keras_ssl import encoders, finetune


def test_freeze_first_freezes_exactly_n_layers_and_they_do_not_train():
    encoder = encoders.small_cnn(input_shape=(16, 16, 3), width=4, depth=3)
    frozen = finetune.freeze_first(encoder, 5)
    layers = finetune.countable_layers(encoder)
    assert frozen == layers[:5]
    assert [layer.trainable for layer in layers] == [False] * 5 + [True] * (len(layers) - 5)
    model = finetune.classifier(encoder, num_classes=3, freeze_first=5, dropout=0.0)
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in layers}
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(
        rng.integers(0, 256, (32, 16, 16, 3)),
        rng.integers(0, 3, 32),
        epochs=2,
        batch_size=8,
        verbose=0,
    )
    for index, layer in enumerate(layers):
        changed = any(
            not np.array_equal(a, b) for a, b in zip(before[layer.name], layer.get_weights())
        )
        if index < 5:
            assert not changed, layer.name  # includes block0_bn's moving statistics
        elif layer.weights:
            assert changed, layer.name


def test_freeze_first_counts_like_keras_applications():
    encoder = encoders.mobilenet_v2(input_shape=(96, 96, 3), alpha=0.35)
    reference = keras.applications.MobileNetV2(
        input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights=None
    )
    frozen = finetune.freeze_first(encoder, 100)
    assert [layer.name for layer in frozen[1:]] == [layer.name for layer in reference.layers[1:100]]
    assert encoder.get_layer("mobilenet_v2_preprocess").trainable  # weightless, not counted


def test_classifier_counts_only_the_encoder_and_resizes_inputs():
    encoder = encoders.small_cnn(input_shape=(32, 32, 3), width=4, depth=2)
    model = finetune.classifier(encoder, 10, freeze_first=3, input_shape=(16, 16, 3))
    assert model.input_shape == (None, 16, 16, 3) and model.output_shape == (None, 10)
    assert model.get_layer("resize_to_encoder") is not None
    assert [
        layer.rate for layer in model.layers[-1].layers if isinstance(layer, keras.layers.Dropout)
    ] == [0.5]


def test_linear_probe_trains_only_the_dense_layer():
    encoder = encoders.small_cnn(input_shape=(16, 16, 3), width=4, depth=2)
    model = finetune.linear_probe(encoder, 5)
    assert [w.path.split("/")[-2:] for w in model.trainable_weights] == [
        ["classification_head_output", "kernel"],
        ["classification_head_output", "bias"],
    ]


def test_copy_encoder_is_independent():
    encoder = encoders.small_cnn(input_shape=(16, 16, 3), width=4, depth=2)
    copy = finetune.copy_encoder(encoder)
    images = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(
        copy.predict(images, verbose=0), encoder.predict(images, verbose=0), atol=1e-6
    )
    copy.layers[2].kernel.assign(np.zeros(copy.layers[2].kernel.shape))
    assert not np.allclose(encoder.layers[2].get_weights()[0], 0)


def test_freeze_first_bad_counts():
    encoder = encoders.small_cnn(input_shape=(16, 16, 3), width=4, depth=2)
    count = len(finetune.countable_layers(encoder))
    with pytest.raises(
        ValueError, match=rf"Cannot freeze the first 100 layers: .* has only {count} layers"
    ):
        finetune.freeze_first(encoder, 100)
    with pytest.raises(
        ValueError,
        match=r"^`n` must be an integer >= 0; got -1\. `n` is the number of layers to freeze\.$",
    ):
        finetune.freeze_first(encoder, -1)


def test_subclassed_encoder_needs_and_takes_an_input_shape(subclassed_encoder):
    with pytest.raises(
        ValueError, match=r"does not declare its input shape .* `input_shape=\(height, width, 3\)`"
    ):
        finetune.classifier(subclassed_encoder(), 4)
    model = finetune.classifier(subclassed_encoder(), 4, freeze_first=None, input_shape=(16, 16, 3))
    rng = np.random.default_rng(0)
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(
        rng.integers(0, 256, (16, 16, 16, 3)), rng.integers(0, 4, 16), epochs=1, verbose=0
    )
    assert np.isfinite(history.history["loss"][0])
    assert encoders.encoder_input_shape(subclassed_encoder()) is None
    assert encoders.encoder_input_shape(encoders.small_cnn(input_shape=(16, 16, 3))) == (16, 16, 3)
