"""Encoders that users write themselves learn: pretraining and fine-tuning change their weights.

Two encoders that keras_ssl did not build: a functional `keras.Model` with
Conv-BN-ReLU blocks (as users write them), and a subclassed `keras.Model` that
declares no input shape. A finite loss would not show that gradients reach them:
these tests compare the weights before and after training.
"""

import keras
import numpy as np
import pytest

import keras_ssl
from keras_ssl import augment, finetune, heads


def functional_encoder():
    inputs = keras.Input((32, 32, 3), name="images")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    for block, filters in enumerate((8, 16)):
        x = keras.layers.Conv2D(filters, 3, strides=2, use_bias=False, name=f"conv{block}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{block}")(x)
        x = keras.layers.ReLU(name=f"relu{block}")(x)
    outputs = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, outputs, name="user_functional_encoder")


class SubclassedEncoder(keras.Model):
    """Two strided convolutions and global pooling, written as a subclassed model."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv0 = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv0")
        self.conv1 = keras.layers.Conv2D(16, 3, strides=2, activation="relu", name="conv1")
        self.pool = keras.layers.GlobalAveragePooling2D(name="pool")

    def call(self, images):
        return self.pool(self.conv1(self.conv0(images / 255.0)))


def subclassed_encoder():
    encoder = SubclassedEncoder(name="user_subclassed_encoder")
    encoder(np.zeros((1, 32, 32, 3), "float32"))  # creates the weights, to compare them later
    return encoder


ENCODERS = pytest.mark.parametrize(
    "build", [functional_encoder, subclassed_encoder], ids=["functional", "subclassed"]
)


def weights_of(model):
    return {w.path: keras.ops.convert_to_numpy(w).copy() for w in model.weights}


@ENCODERS
def test_simclr_trains_the_encoder(build, cifar_small):
    keras.utils.set_random_seed(0)
    encoder = build()
    model = keras_ssl.SimCLR(
        encoder, heads.projection_head(32, 16), augment.simclr_augment(32, seed=0), temperature=0.2
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    before = weights_of(encoder)
    history = model.fit(cifar_small[0], batch_size=50, epochs=4, verbose=0).history
    after = weights_of(encoder)
    assert before.keys() == after.keys()
    # Every weight moves: kernels, BN scales and offsets, and BN moving statistics.
    unchanged = [path for path in before if np.array_equal(before[path], after[path])]
    assert not unchanged
    assert history["loss"][-1] < history["loss"][0] - 0.2


@ENCODERS
def test_finetuning_trains_the_unfrozen_layers_only(build, cifar_small):
    images, labels, _ = cifar_small
    val = np.arange(len(images)) % 5 == 0  # every class in both splits
    encoder = build()
    layers = finetune.countable_layers(encoder)
    names = [layer.name for layer in layers]
    # Freeze the first block: through its ReLU (functional) or its convolution (subclassed).
    frozen = names[: names.index("relu0" if "relu0" in names else "conv0") + 1]
    before = weights_of(encoder)
    result = finetune.finetune(
        encoder, (images[~val], labels[~val]), (images[val], labels[val]), 10, "umea",
        freeze_first=len(frozen), epochs=3, patience=None, learning_rate=1e-2,
        input_shape=(32, 32, 3), verbose=0, seed=0,
    )  # fmt: skip
    # The encoder passed in is untouched (fine-tuning trains a copy) ...
    assert all(np.array_equal(before[p], w) for p, w in weights_of(encoder).items())
    # ... and in the copy, the frozen layers keep every weight, the others change all of theirs.
    trained = result.model.get_layer(encoder.name)
    assert type(trained) is type(encoder) and trained is not encoder
    checked = 0
    for original, layer in zip(layers, finetune.countable_layers(trained)):
        assert layer.name == original.name
        for old, new in zip(original.weights, layer.weights):
            old, new = keras.ops.convert_to_numpy(old), keras.ops.convert_to_numpy(new)
            if layer.name in frozen:
                np.testing.assert_array_equal(new, old, err_msg=layer.name)
            else:
                assert np.mean(new != old) > 0.9, f"{layer.name}: weights did not change"
            checked += 1
    assert checked == len(encoder.weights)
    assert result.history["loss"][-1] < result.history["loss"][0]
