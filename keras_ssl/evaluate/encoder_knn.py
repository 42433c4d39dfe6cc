"""`encoder_knn_accuracy`: the weighted kNN accuracy of an encoder's features on image arrays."""

from __future__ import annotations

import keras
import numpy as np

from keras_ssl.encoders import encoder_input_shape
from keras_ssl.evaluate.embeddings import compute_embeddings
from keras_ssl.evaluate.knn import knn_accuracy


def encoder_knn_accuracy(
    encoder: keras.Model,
    train_data,
    test_data,
    k: int = 200,
    temperature: float = 0.1,
    num_classes: int | None = None,
    batch_size: int = 256,
) -> float:
    """`knn_accuracy` of an encoder's features: the labelled images vote on the test images.

    The encoder runs in inference mode. Images of another size than its declared input
    are resized to it first (a `Resizing` layer in front, as `finetune.classifier` does).

    Args:
        encoder: A Keras model mapping images to `[batch, dim]` features.
        train_data: `(images, labels)` arrays of the labelled images (the memory bank).
        test_data: `(images, labels)` arrays of the images to classify.
        k, temperature, num_classes: As in `knn_accuracy`.
        batch_size: Images embedded at once.

    Returns:
        The fraction of test images classified correctly, in `[0, 1]`.

    Example:
    >>> encoder_knn_accuracy(encoder, (x_train, y_train), (x_test, y_test), k=20)
    """
    encoder = _at_image_size(encoder, np.shape(train_data[0])[1:])
    bank, _ = compute_embeddings(encoder, train_data[0], batch_size, verbose=0)
    queries, _ = compute_embeddings(encoder, test_data[0], batch_size, verbose=0)
    return knn_accuracy(bank, train_data[1], queries, test_data[1], k, temperature, num_classes)


def _at_image_size(encoder: keras.Model, image_shape) -> keras.Model:
    """`encoder` behind a resizing layer when the images are not of its input size."""
    wanted = encoder_input_shape(encoder)
    if wanted is None or tuple(wanted[:2]) == tuple(image_shape[:2]):
        return encoder
    return keras.Sequential([keras.Input(image_shape), keras.layers.Resizing(*wanted[:2]), encoder])
