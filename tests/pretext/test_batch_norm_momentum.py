"""A short pretraining must leave MobileNetV2 with usable inference-mode features.

Keras' applications keep BatchNorm statistics with momentum 0.999: after 100 steps
they are still mostly their initial values (0.999**100 = 0.90), so inference-mode
features come from statistics that do not match the weights. keras_ssl's
`mobilenet_v2` uses 0.9 (`bn_momentum`), which tracks the current weights within tens
of steps. Measured on the encoder the claim is about (MobileNetV2, α = 0.35 to keep
the suite fast), against the same encoder untrained and the same run with Keras'
momentum.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ssl
from keras_ssl import augment, encoders, heads
from keras_ssl.evaluate import knn_accuracy

STEPS = 100
TRAIN, QUERY = slice(0, 1600), slice(1600, None)


@pytest.fixture(scope="module")
def shuffled_cifar(cifar_medium):
    images, labels, _ = cifar_medium
    order = np.random.default_rng(0).permutation(len(images))
    return images[order], labels[order]


def mobilenet_v2(bn_momentum):
    keras.utils.set_random_seed(0)
    return encoders.mobilenet_v2(input_shape=(32, 32, 3), alpha=0.35, bn_momentum=bn_momentum)


def pretrain(encoder, images):
    """100 SimCLR steps of 64 images (crop and flip views), as a short CPU run makes."""
    views = augment.AugmentPipeline(
        [augment.RandomResizedCrop(32, 32, scale=(0.2, 1.0), horizontal_flip=True, seed=0)]
    )
    model = keras_ssl.SimCLR(encoder, heads.projection_head(64, 32), views, temperature=0.2)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    dataset = tf.data.Dataset.from_tensor_slices(images).shuffle(2000, seed=0)
    model.fit(dataset.batch(64, drop_remainder=True).repeat(), steps_per_epoch=STEPS, verbose=0)
    return encoder


def features(encoder, images, training=False):
    parts = [encoder(images[i : i + 500], training=training) for i in range(0, len(images), 500)]
    return np.concatenate([keras.ops.convert_to_numpy(p) for p in parts])


def knn(features, labels):
    return knn_accuracy(features[TRAIN], labels[TRAIN], features[QUERY], labels[QUERY], k=20)


def relative_error(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def test_short_pretraining_gives_mobilenet_v2_informative_inference_features(shuffled_cifar):
    images, labels = shuffled_cifar
    untrained = knn(features(mobilenet_v2(0.9), images), labels)

    encoder = pretrain(mobilenet_v2(0.9), images)
    inference = features(encoder, images)
    pretrained = knn(inference, labels)
    assert pretrained > untrained + 0.05, (pretrained, untrained)  # measured: 0.22 vs 0.13
    assert relative_error(inference, features(encoder, images, training=True)) < 0.5

    # The same run with Keras' momentum: no better than the untrained encoder.
    stale_encoder = pretrain(mobilenet_v2(None), images)
    stale = features(stale_encoder, images)
    assert knn(stale, labels) < pretrained - 0.05
    assert relative_error(stale, features(stale_encoder, images, training=True)) > 0.6
