"""`encoder_knn_accuracy`: kNN accuracy of an encoder's features on (train, test) arrays."""

import keras
import numpy as np
import pytest

from keras_ssl.evaluate import compute_embeddings, encoder_knn_accuracy, knn_accuracy


def _pooling_encoder(image_size: int) -> keras.Model:
    """Features: the mean colour of each image (a pretend encoder of a fixed input size)."""
    inputs = keras.Input((image_size, image_size, 3))
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))


def _coloured_images(count: int, size: int, seed: int):
    """Class 0 is reddish, class 1 bluish: separable by the mean colour."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 2
    images = rng.uniform(0, 60, (count, size, size, 3)).astype("float32")
    images[labels == 0, ..., 0] += 150
    images[labels == 1, ..., 2] += 150
    return images, labels


def test_it_is_knn_accuracy_of_the_encoders_embeddings():
    encoder = _pooling_encoder(8)
    train, test = _coloured_images(20, 8, seed=0), _coloured_images(10, 8, seed=1)
    bank, _ = compute_embeddings(encoder, train[0], verbose=0)
    queries, _ = compute_embeddings(encoder, test[0], verbose=0)
    expected = knn_accuracy(bank, train[1], queries, test[1], k=3, num_classes=2)
    assert encoder_knn_accuracy(encoder, train, test, k=3, num_classes=2) == expected == 1.0


def test_images_of_another_size_are_resized_to_the_encoders_input():
    encoder = _pooling_encoder(8)
    train, test = _coloured_images(20, 12, seed=0), _coloured_images(10, 12, seed=1)
    with pytest.raises(ValueError):  # without resizing, the encoder refuses 12x12 images
        encoder.predict(train[0], verbose=0)
    assert encoder_knn_accuracy(encoder, train, test, k=5) == 1.0


def test_k_larger_than_the_memory_bank_lets_every_image_vote():
    encoder = _pooling_encoder(8)
    train, test = _coloured_images(6, 8, seed=0), _coloured_images(4, 8, seed=1)
    assert encoder_knn_accuracy(encoder, train, test, k=200) == encoder_knn_accuracy(
        encoder, train, test, k=6
    )
