"""`evaluate_saved_classifier`: a saved classifier on a labeled folder, against its own predictions."""

import keras
import numpy as np
import pytest

from keras_ssl import data
from keras_ssl.config import ConfigError
from keras_ssl.evaluate import evaluate_saved_classifier


@pytest.fixture(scope="module")
def images(make_cifar_folder, tmp_path_factory):
    """5 real CIFAR-10 JPEGs of each of the 10 classes in `<class>/` folders."""
    return make_cifar_folder(tmp_path_factory.mktemp("saved") / "images", per_class=5)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    path = tmp_path_factory.mktemp("saved") / "model.keras"
    model.save(path)
    return path


def test_metrics_are_those_of_the_models_predictions(images, model_path):
    report = evaluate_saved_classifier(model_path, str(images), top_k=(1, 5), batch_size=16)
    imageset = data.load(images)
    scores = keras.models.load_model(model_path).predict(imageset.numpy_images(), verbose=0)
    labels = np.asarray(imageset.labels)
    assert report["model"] == str(model_path) and report["data"] == str(images)
    assert report["num_examples"] == 50 and report["class_names"] == imageset.class_names
    assert report["accuracy"] == pytest.approx(np.mean(scores.argmax(1) == labels))
    top5 = np.argsort(-scores, axis=1)[:, :5]
    assert report["top_5_accuracy"] == pytest.approx(np.mean((top5 == labels[:, None]).any(1)))
    assert np.sum(report["confusion_matrix"]) == 50


def test_max_images_scores_a_class_balanced_subset(images, model_path):
    report = evaluate_saved_classifier(model_path, str(images), max_images=20, seed=1)
    assert report["num_examples"] == 20
    assert np.sum(report["confusion_matrix"], axis=1).tolist() == [2] * 10


def test_images_or_classes_the_model_does_not_take_fail_before_predicting(
    images, model_path, tmp_path
):
    with pytest.raises(ConfigError, match=r"takes 32x32 images but .* holds 16x16; resize them"):
        evaluate_saved_classifier(model_path, str(images), image_size=16)
    two_classes = tmp_path / "two"
    for folder in sorted(images.iterdir())[:2]:
        (two_classes / folder.name).mkdir(parents=True)
        for path in folder.iterdir():
            (two_classes / folder.name / path.name).write_bytes(path.read_bytes())
    with pytest.raises(ConfigError, match="The model has 10 outputs but .* has 2 classes"):
        evaluate_saved_classifier(model_path, str(two_classes))
    with pytest.raises(ConfigError, match="does not exist"):
        evaluate_saved_classifier(model_path, str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="must be a .keras file"):
        evaluate_saved_classifier(tmp_path / "model.h5", str(images))
