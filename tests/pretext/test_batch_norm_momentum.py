"""A short pretraining must leave an encoder whose inference-mode features are usable.

Keras' applications keep BatchNorm statistics with momentum 0.999: after a few hundred
steps they are still mostly their initial values (0.999**200 = 0.82), so inference-mode
features come from statistics that do not match the weights. keras_ssl's encoders use
0.9 (`bn_momentum`), which tracks the current weights within tens of steps. The
MobileNetV2 builder's default is checked in tests/test_encoders.py; here the effect is
measured on the small CNN, which trains fast enough for the suite.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ssl
from keras_ssl import augment, encoders, heads
from keras_ssl.evaluate import knn_accuracy


@pytest.fixture(scope="module")
def shuffled_cifar(cifar_medium):
    images, labels, _ = cifar_medium
    order = np.random.default_rng(0).permutation(len(images))
    return images[order], labels[order]


def pretrain(images, bn_momentum, steps=200):
    keras.utils.set_random_seed(0)
    encoder = encoders.small_cnn(width=16, depth=3, bn_momentum=bn_momentum)
    model = keras_ssl.SimCLR(
        encoder, heads.projection_head(64, 32), augment.simclr_augment(32, seed=0), temperature=0.2
    )
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    dataset = (
        tf.data.Dataset.from_tensor_slices(images)
        .shuffle(2000, seed=0)
        .batch(64, drop_remainder=True)
    )
    model.fit(dataset.repeat(), steps_per_epoch=steps, epochs=1, verbose=0)
    inference = keras.ops.convert_to_numpy(encoder(images, training=False))
    batch_stats = np.concatenate(
        [
            keras.ops.convert_to_numpy(encoder(images[i : i + 500], training=True))
            for i in range(0, len(images), 500)
        ]
    )
    return inference, batch_stats


def relative_error(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def test_short_pretraining_gives_informative_inference_features(shuffled_cifar):
    images, labels = shuffled_cifar
    train, query = slice(0, 1600), slice(1600, None)

    inference, batch_stats = pretrain(images, bn_momentum=0.9)
    knn = knn_accuracy(inference[train], labels[train], inference[query], labels[query], k=20)
    knn_batch_stats = knn_accuracy(
        batch_stats[train], labels[train], batch_stats[query], labels[query], k=20
    )
    assert knn > 0.25  # chance: 0.1
    assert knn > knn_batch_stats - 0.05
    assert relative_error(inference, batch_stats) < 0.35

    # The same run with Keras' momentum: inference features far from what the weights compute.
    stale, batch_stats = pretrain(images, bn_momentum=0.999)
    assert relative_error(stale, batch_stats) > 0.6
