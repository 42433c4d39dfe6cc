"""The multi-label recipe learns multi-hot attributes of real images with binary cross-entropy.

The attributes are overlapping groups of CIFAR-10 classes, so they are learnable from
the pixels and an image can have none, one or two of them:

| attribute | classes | positives |
| --- | --- | --- |
| vehicle | airplane, automobile, ship, truck | 40% |
| four-legged animal | cat, deer, dog, horse | 40% |
| sky or water behind it | airplane, bird, ship | 30% |
"""

import keras
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from keras_ssl import encoders, finetune

ATTRIBUTES = {
    "vehicle": [0, 1, 8, 9],
    "four_legged": [3, 4, 5, 7],
    "sky_or_water": [0, 2, 8],
}


def multi_hot(labels):
    return np.stack([np.isin(labels, group) for group in ATTRIBUTES.values()], 1).astype("int64")


def binary_cross_entropy(y, p):
    """Mean over examples and attributes, as Keras' `binary_crossentropy` (clipped at 1e-7)."""
    p = np.clip(p.astype("float64"), 1e-7, 1 - 1e-7)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


@pytest.fixture(scope="module")
def splits(cifar_medium):
    """Train / validation / held-out test: 1200 / 400 / 400 images, shuffled."""
    images, labels, _ = cifar_medium
    order = np.random.default_rng(0).permutation(len(images))
    images, attributes = images[order], multi_hot(labels[order])
    return (
        (images[:1200], attributes[:1200]),
        (images[1200:1600], attributes[1200:1600]),
        (images[1600:], attributes[1600:]),
    )


@pytest.fixture(scope="module")
def trained(splits):
    train, val, _ = splits
    encoder = encoders.small_cnn(input_shape=(32, 32, 3), width=16, depth=3)
    result = finetune.finetune(
        encoder, train, val, len(ATTRIBUTES), "full", multi_label=True, monitor="val_auc",
        learning_rate=3e-3, epochs=8, patience=None, verbose=0, seed=0,
    )  # fmt: skip
    return result


def test_multi_label_recipe_learns_the_attributes(splits, trained):
    train, _, (test_images, test_attributes) = splits
    # The best constant predictor: every attribute at its training frequency.
    prior = np.broadcast_to(train[1].mean(0), test_attributes.shape)
    prior_loss = binary_cross_entropy(test_attributes, prior)
    scores = trained.model.predict(test_images, verbose=0)
    assert scores.shape == (len(test_images), len(ATTRIBUTES))
    assert binary_cross_entropy(test_attributes, scores) < 0.8 * prior_loss
    aucs = [roc_auc_score(test_attributes[:, k], scores[:, k]) for k in range(len(ATTRIBUTES))]
    assert min(aucs) > 0.75, aucs  # chance: 0.5
    assert trained.history["loss"][-1] < 0.8 * trained.history["loss"][0]


def test_multi_label_loss_is_binary_cross_entropy_on_sigmoid_outputs(splits, trained):
    _, (val_images, val_attributes), _ = splits
    model = trained.model
    assert model.layers[-1].layers[-1].activation.__name__ == "sigmoid"
    scores = model.predict(val_images, verbose=0)
    # Independent sigmoids: the scores of an image do not sum to one.
    assert np.std(scores.sum(1)) > 0.1
    # The loss the recipe reports is the NumPy binary cross-entropy of its outputs ...
    expected = binary_cross_entropy(val_attributes, scores)
    assert trained.val_metrics["loss"] == pytest.approx(expected, rel=1e-4)
    # ... and Keras' own, batch by batch.
    batch = slice(0, 64)
    reported = model.evaluate(
        val_images[batch], val_attributes[batch].astype("float32"), verbose=0, return_dict=True
    )["loss"]
    keras_loss = keras.losses.binary_crossentropy(val_attributes[batch], scores[batch])
    assert reported == pytest.approx(float(np.mean(keras_loss)), rel=1e-4)
    # The reported AUC is the mean of the per-attribute AUCs (Keras interpolates on 200
    # thresholds, hence the tolerance).
    macro_auc = np.mean(
        [roc_auc_score(val_attributes[:, k], scores[:, k]) for k in range(len(ATTRIBUTES))]
    )
    assert trained.val_metrics["auc"] == pytest.approx(macro_auc, abs=0.01)
    # Binary accuracy: every (image, attribute) decision at 0.5.
    accuracy = np.mean((scores > 0.5) == val_attributes)
    assert trained.val_metrics["accuracy"] == pytest.approx(accuracy, abs=1e-6)
