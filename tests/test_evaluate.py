"""Tests of keras_ssl.evaluate: metrics against scikit-learn, kNN against a brute-force loop,
evaluate_classifier against model.evaluate, KNNMonitor inside fit, embedding export."""

import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn import metrics as sk_metrics

from keras_ssl.evaluate import (
    KNNMonitor,
    classification_report,
    compute_embeddings,
    confusion_matrix,
    evaluate_classifier,
    knn_accuracy,
    knn_predict,
    load_embeddings,
    multilabel_metrics,
    save_embeddings,
    top_k_accuracy,
)


@pytest.fixture()
def random_predictions():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 10, size=300)
    y_score = rng.random((300, 10))
    return y_true, y_score


@pytest.fixture()
def blobs():
    """Four well-separated Gaussian classes in 16-D: 200 train, 80 validation points."""
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(4, 16)) * 4

    def draw(n):
        labels = np.arange(n) % 4
        return (centers[labels] + rng.normal(size=(n, 16))).astype("float32"), labels

    return draw(200), draw(80)


def _pixels(images):
    return images.reshape(len(images), -1).astype("float32") / 255.0


# ----------------------------------------------------------------------------- metrics


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_top_k_accuracy_matches_sklearn(random_predictions, k):
    y_true, y_score = random_predictions
    expected = sk_metrics.top_k_accuracy_score(y_true, y_score, k=k, labels=np.arange(10))
    assert top_k_accuracy(y_true, y_score, k=k) == pytest.approx(expected)


def test_top_k_accuracy_breaks_ties_like_argmax():
    y_score = np.zeros((4, 3))  # every class tied: argmax picks class 0
    assert top_k_accuracy([0, 0, 1, 2], y_score, k=1) == 0.5
    assert top_k_accuracy([0, 1, 1, 2], y_score, k=2) == 0.75
    assert top_k_accuracy([0, 1, 1, 2], y_score, k=np.int64(2)) == 0.75  # NumPy ints too
    assert top_k_accuracy([0, 1, 2, 2], y_score, k=5) == 1.0


def test_confusion_matrix_counts_pairs(random_predictions):
    y_true, y_score = random_predictions
    y_pred = y_score.argmax(1)
    counts = np.zeros((11, 11), np.int64)  # one class more than the labels use
    np.add.at(counts, (y_true, y_pred), 1)
    cm = confusion_matrix(y_true, y_pred, num_classes=11)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, counts)
    with np.errstate(invalid="ignore"):
        expected = {
            "true": counts / counts.sum(axis=1, keepdims=True),
            "pred": counts / counts.sum(axis=0, keepdims=True),
            "all": counts / counts.sum(),
        }
    for normalize, reference in expected.items():
        np.testing.assert_allclose(
            confusion_matrix(y_true, y_pred, num_classes=11, normalize=normalize),
            np.nan_to_num(reference),  # the empty class's row and column stay 0
        )
    cm = confusion_matrix([0, 1], [1, 1], num_classes=3, normalize="pred")
    np.testing.assert_allclose(cm, [[0, 0.5, 0], [0, 0.5, 0], [0, 0, 0]])


def test_classification_report_is_sklearns_with_every_class(random_predictions):
    y_true, y_score = random_predictions
    y_pred = np.minimum(y_score.argmax(1), 8)  # class 9 is never predicted
    names = [f"class_{i}" for i in range(10)]
    report = classification_report(y_true, y_pred, class_names=names, as_dict=True)
    expected = sk_metrics.classification_report(
        y_true, y_pred, target_names=names, output_dict=True, zero_division=0
    )
    assert report["class_9"]["precision"] == 0.0
    assert report["class_9"]["support"] == np.sum(y_true == 9)
    for name in [*names, "macro avg", "weighted avg"]:
        for key in ("precision", "recall", "f1-score", "support"):
            assert report[name][key] == pytest.approx(expected[name][key])
    assert report["accuracy"] == pytest.approx(np.mean(y_true == y_pred))
    text = classification_report(y_true, y_pred, class_names=names)
    assert "class_9" in text and "macro avg" in text


def _pairwise_auc(y, s):
    """AUC as P(score of a positive > score of a negative), ties counting one half."""
    positives, negatives = s[y == 1], s[y == 0]
    wins = [(p > n) + 0.5 * (p == n) for p in positives for n in negatives]
    return float(np.mean(wins))


def test_multilabel_metrics_match_sklearn():
    rng = np.random.default_rng(2)
    y_true = (rng.random((120, 6)) < np.linspace(0.1, 0.7, 6)).astype(int)
    y_score = np.clip(0.4 * y_true + 0.8 * rng.random((120, 6)), 0, 1).round(2)  # with ties
    metrics = multilabel_metrics(y_true, y_score, threshold=0.5)
    y_pred = (y_score > 0.5).astype(int)

    per_label = [sk_metrics.accuracy_score(y_true[:, j], y_pred[:, j]) for j in range(6)]
    assert metrics["per_label_accuracy"] == pytest.approx(per_label)
    assert metrics["macro_accuracy"] == pytest.approx(np.mean(per_label))
    assert metrics["micro_accuracy"] == pytest.approx(
        sk_metrics.accuracy_score(y_true.ravel(), y_pred.ravel())
    )
    assert metrics["subset_accuracy"] == pytest.approx(sk_metrics.accuracy_score(y_true, y_pred))
    assert metrics["macro_auc"] == pytest.approx(
        sk_metrics.roc_auc_score(y_true, y_score, average="macro")
    )
    assert metrics["micro_auc"] == pytest.approx(
        sk_metrics.roc_auc_score(y_true, y_score, average="micro")
    )
    assert metrics["macro_recall"] == pytest.approx(
        sk_metrics.recall_score(y_true, y_pred, average="macro")
    )
    assert metrics["micro_recall"] == pytest.approx(
        sk_metrics.recall_score(y_true, y_pred, average="micro")
    )
    assert metrics["macro_recall"] != pytest.approx(metrics["micro_recall"])
    # And an AUC computed without scikit-learn.
    assert metrics["micro_auc"] == pytest.approx(_pairwise_auc(y_true.ravel(), y_score.ravel()))
    assert metrics["macro_auc"] != pytest.approx(metrics["micro_auc"])
    assert json.loads(json.dumps(metrics)) == metrics


def test_multilabel_auc_skips_labels_with_one_class():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 2, size=(50, 3))
    y_true[:, 1] = 1  # no negatives: AUC undefined
    y_score = rng.random((50, 3))
    metrics = multilabel_metrics(y_true, y_score)
    assert metrics["auc_undefined_labels"] == [1]
    assert metrics["per_label_auc"][1] is None
    expected = np.mean([sk_metrics.roc_auc_score(y_true[:, j], y_score[:, j]) for j in (0, 2)])
    assert metrics["macro_auc"] == pytest.approx(expected)


# ----------------------------------------------------------------------------- kNN


def _knn_reference(train, train_labels, query, k, temperature, num_classes):
    """Brute force: loop over queries and training points, sort, vote."""
    predictions = []
    for q in query:
        similarities = []
        for t in train:
            similarities.append(float(q @ t) / (np.linalg.norm(q) * np.linalg.norm(t)))
        order = sorted(range(len(train)), key=lambda i: -similarities[i])[:k]
        votes = [0.0] * num_classes
        for i in order:
            votes[train_labels[i]] += math.exp(similarities[i] / temperature)
        predictions.append(votes.index(max(votes)))
    return np.array(predictions)


@pytest.mark.parametrize(
    ("k", "temperature", "chunk_size"), [(1, 0.1, 256), (7, 0.1, 4), (25, 0.5, 7), (500, 0.07, 3)]
)
def test_knn_predict_matches_brute_force(k, temperature, chunk_size):
    rng = np.random.default_rng(4)
    train = rng.normal(size=(90, 8)) * rng.uniform(0.5, 3, size=(90, 1))  # not unit length
    labels = rng.integers(0, 5, size=90)
    query = rng.normal(size=(30, 8))
    predictions = knn_predict(
        train, labels, query, k=k, temperature=temperature, chunk_size=chunk_size
    )
    expected = _knn_reference(train, labels, query, min(k, 90), temperature, 5)
    np.testing.assert_array_equal(predictions, expected)


def test_knn_tiny_temperature_stays_finite():
    train = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]])
    predictions = knn_predict(train, [0, 1, 1], [[1.0, 0.05]], k=3, temperature=1e-4)
    np.testing.assert_array_equal(predictions, [0])  # nearest neighbour dominates


def test_knn_on_real_pixels_matches_reference_and_beats_chance(cifar_small):
    images, labels, _ = cifar_small
    features = _pixels(images)
    train, val = np.arange(len(labels)) % 5 != 0, np.arange(len(labels)) % 5 == 0
    predictions = knn_predict(features[train], labels[train], features[val], k=20)
    expected = _knn_reference(features[train], labels[train], features[val], 20, 0.1, 10)
    np.testing.assert_array_equal(predictions, expected)
    accuracy = knn_accuracy(features[train], labels[train], features[val], labels[val], k=20)
    assert accuracy == pytest.approx(np.mean(expected == labels[val]))
    assert accuracy > 0.18  # chance is 0.10


# ----------------------------------------------------------------------------- evaluate_classifier


@pytest.fixture(scope="module")
def trained_classifier(cifar_small):
    images, labels, class_names = cifar_small
    x = images.astype("float32") / 255.0
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.AveragePooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    model.fit(x, labels, epochs=5, batch_size=50, verbose=0)
    return model, x, labels, class_names


def test_evaluate_classifier_matches_model_evaluate(trained_classifier):
    model, x, y, class_names = trained_classifier
    results = evaluate_classifier(model, (x, y), class_names=class_names, batch_size=96)
    _, keras_accuracy = model.evaluate(x, y, batch_size=64, verbose=0)
    assert results["accuracy"] == pytest.approx(keras_accuracy, abs=1e-6)
    assert results["accuracy"] > 0.2  # it learned something (chance 0.10)
    scores = model.predict(x, verbose=0)
    assert results["top_1_accuracy"] == results["accuracy"]
    assert results["top_3_accuracy"] == pytest.approx(
        sk_metrics.top_k_accuracy_score(y, scores, k=3, labels=np.arange(10))
    )
    cm = np.array(results["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 500
    assert np.trace(cm) == round(results["accuracy"] * 500)
    assert results["classification_report"][class_names[0]]["support"] == 50
    assert json.loads(json.dumps(results)) == results


def test_evaluate_classifier_accepts_datasets_and_one_hot_labels(trained_classifier):
    model, x, y, _ = trained_classifier
    from_arrays = evaluate_classifier(model, (x, y))
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(50)
    assert evaluate_classifier(model, dataset) == from_arrays
    one_hot = evaluate_classifier(model, (x, np.eye(10)[y]))
    assert one_hot["accuracy"] == from_arrays["accuracy"]
    assert one_hot["confusion_matrix"] == from_arrays["confusion_matrix"]


def test_evaluate_classifier_multilabel(blobs):
    (x, labels), _ = blobs
    y = np.stack([labels == 0, labels % 2 == 1, labels >= 2], axis=1).astype("float32")
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(3, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy", metrics=["binary_accuracy"])
    model.fit(x, y, epochs=10, verbose=0)
    results = evaluate_classifier(model, (x, y), class_names=["zero", "odd", "high"])
    assert results["multilabel"] is True and results["num_labels"] == 3
    expected = multilabel_metrics(y, model.predict(x, verbose=0))
    for key in ("macro_accuracy", "micro_accuracy", "macro_auc", "micro_auc"):
        assert results[key] == pytest.approx(expected[key])
    _, keras_binary_accuracy = model.evaluate(x, y, verbose=0)
    assert results["micro_accuracy"] == pytest.approx(keras_binary_accuracy, abs=1e-6)
    assert results["macro_auc"] > 0.9
    json.dumps(results)


# ----------------------------------------------------------------------------- KNNMonitor


class FrozenEncoderClassifier(keras.Model):
    """A linear head on a fixed encoder, exposing `encoder` like the pretext models do."""

    def __init__(self, encoder, num_classes):
        super().__init__()
        self.encoder = encoder
        self.encoder.trainable = False
        self.head = keras.layers.Dense(num_classes)

    def call(self, x, training=False):
        return self.head(self.encoder(x, training=training))


def test_knn_monitor_logs_into_history_and_csv(blobs, tmp_path):
    (x_train, y_train), (x_val, y_val) = blobs
    encoder = keras.Sequential([keras.Input((16,)), keras.layers.Dense(16, use_bias=False)])
    encoder.layers[0].set_weights([np.eye(16, dtype="float32")])  # embeddings = inputs
    model = FrozenEncoderClassifier(encoder, 4)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    monitor = KNNMonitor((x_train, y_train), (x_val, y_val), every_n_epochs=2, k=20, verbose=0)
    csv_path = tmp_path / "log.csv"
    history = model.fit(
        x_train,
        y_train,
        epochs=4,
        verbose=0,
        callbacks=[monitor, keras.callbacks.CSVLogger(str(csv_path))],
    )
    logged = history.history["knn_accuracy"]  # measured after epochs 1, 2 and 4
    expected = knn_accuracy(x_train, y_train, x_val, y_val, k=20)
    assert logged == pytest.approx([expected] * 3)
    assert expected > 0.9  # chance is 0.25
    rows = csv_path.read_text().splitlines()
    column = rows[0].split(",").index("knn_accuracy")
    assert [row.split(",")[column] for row in rows[1:]][2] == "NA"


def test_knn_monitor_early_stopping_counts_only_measured_epochs(blobs):
    (x_train, y_train), (x_val, y_val) = blobs
    encoder = keras.Sequential([keras.Input((16,)), keras.layers.Dense(16, use_bias=False)])
    model = FrozenEncoderClassifier(encoder, 4)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    monitor = KNNMonitor((x_train, y_train), (x_val, y_val), every_n_epochs=4, k=20, verbose=0)
    stop = keras.callbacks.EarlyStopping(monitor="knn_accuracy", mode="max", patience=2)
    history = model.fit(x_train, y_train, epochs=12, verbose=0, callbacks=[monitor, stop])
    # The frozen encoder never improves: measured after epochs 1, 4 and 8, stopped at 8.
    assert len(history.history["loss"]) == 8
    assert len(history.history["knn_accuracy"]) == 3


def test_knn_monitor_uses_explicit_encoder_in_inference_mode(cifar_small, capsys):
    images, labels, _ = cifar_small
    x = images.astype("float32") / 255.0
    # Dropout at rate 0.9 would scramble the embeddings if run in training mode.
    encoder = keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dropout(0.9)]
    )
    model = keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    split = np.arange(len(x)) % 5 == 0
    monitor = KNNMonitor(
        tf.data.Dataset.from_tensor_slices((x[~split], labels[~split])).batch(128),
        (x[split], labels[split]),
        k=20,
        encoder=encoder,
    )
    history = model.fit(x[:64], labels[:64], epochs=1, verbose=0, callbacks=[monitor])
    expected = knn_accuracy(
        _pixels(images[~split]), labels[~split], _pixels(images[split]), labels[split], k=20
    )
    assert history.history["knn_accuracy"] == [pytest.approx(expected)]
    assert "knn_accuracy = " in capsys.readouterr().out


# ----------------------------------------------------------------------------- embeddings


def test_compute_embeddings_from_arrays_and_datasets(cifar_small, capsys):
    images, labels, _ = cifar_small
    x = images[:100].astype("float32") / 255.0
    encoder = keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3), keras.layers.GlobalMaxPooling2D()]
    )
    reference = encoder.predict(x, verbose=0)
    features, none = compute_embeddings(encoder, x, batch_size=32, verbose=1)
    assert none is None and features.shape == (100, 4) and features.dtype == np.float32
    np.testing.assert_allclose(features, reference, rtol=1e-5, atol=1e-6)
    assert "4/4" in capsys.readouterr().out  # the progress bar counted 4 batches
    dataset = tf.data.Dataset.from_tensor_slices((x, labels[:100])).batch(30)
    features, got_labels = compute_embeddings(encoder, dataset, verbose=0)
    np.testing.assert_allclose(features, reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got_labels, labels[:100])
    images_only = tf.data.Dataset.from_tensor_slices(x).batch(64)
    assert compute_embeddings(encoder, images_only, verbose=0)[1] is None


def test_save_and_load_embeddings_round_trip(tmp_path, cifar_small):
    _, labels, class_names = cifar_small
    features = np.random.default_rng(5).normal(size=(len(labels), 7)).astype("float32")
    path = save_embeddings(tmp_path / "sub" / "emb", features, labels, class_names)
    assert path.endswith("emb.npz")
    loaded_features, loaded_labels, loaded_names = load_embeddings(path)
    np.testing.assert_array_equal(loaded_features, features)
    assert loaded_features.dtype == features.dtype
    np.testing.assert_array_equal(loaded_labels, labels)
    assert loaded_labels.dtype == labels.dtype
    assert loaded_names == list(class_names)
    assert load_embeddings(save_embeddings(tmp_path / "bare.npz", features))[1:] == (None, None)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: top_k_accuracy([0, 3], np.ones((2, 3))), r"outside \[0, 3\): \[3\]"),
        (lambda: top_k_accuracy([0, -1], np.ones((2, 3))), r"outside \[0, 3\): \[-1\]"),
        (
            lambda: top_k_accuracy([0, 1], np.ones((2, 3)), k=0),
            "`k` must be an integer >= 1; got 0",
        ),
        (lambda: top_k_accuracy([0, 1, 2], np.ones((2, 3))), "3 examples but `y_score` has 2"),
        (lambda: top_k_accuracy([], np.ones((0, 3))), "`y_true` is empty"),
        (lambda: top_k_accuracy([0.5, 1], np.ones((2, 3))), "non-integral"),
        (lambda: top_k_accuracy([[0], [1]], np.ones((2, 3))), r"1-D array of class ids \[N\]"),
        (lambda: top_k_accuracy([0, 1], np.ones(3)), r"2-D array \[N, num_classes\]"),
        (lambda: top_k_accuracy([0], [[np.nan, 1.0]]), "NaN or infinite"),
        (lambda: confusion_matrix([0, 1], [0]), "`y_true` has 2 examples but `y_pred` has 1"),
        (lambda: confusion_matrix([0, 1], [0, 1], normalize="rows"), "`normalize` must be"),
        (
            lambda: classification_report([0, 2], [0, 1], class_names=["a", "b"]),
            r"outside \[0, 2\)",
        ),
        (lambda: multilabel_metrics([[0, 2]], [[0.1, 0.2]]), "multi-hot"),
        (lambda: multilabel_metrics([[0, 1]], [[0.1, 0.2, 0.3]]), "shape"),
        (lambda: multilabel_metrics(np.zeros((0, 2)), np.zeros((0, 2))), "non-empty"),
        (
            lambda: knn_predict(np.ones((3, 2)), [0, 1, 1], np.ones((2, 2)), k=0),
            "`k` must be an integer >= 1; got 0",
        ),
        (
            lambda: knn_predict(np.ones((3, 2)), [0, 1, 1], np.ones((2, 2)), chunk_size=0),
            "`chunk_size` must be an integer >= 1; got 0",
        ),
        (
            lambda: knn_predict(np.ones((3, 2)), [0, 1], np.ones((2, 2))),
            "3 `train_features` rows but 2",
        ),
        (lambda: knn_predict(np.ones((3, 2)), [0, 1, 1], np.ones((2, 3))), "dim 2 but"),
        (
            lambda: knn_predict(np.ones((3, 2)), [0, 1, 1], np.ones((2, 2)), temperature=0),
            "temperature",
        ),
        (lambda: knn_predict(np.ones((0, 2)), [], np.ones((2, 2))), "non-empty"),
        (
            lambda: knn_predict(np.ones((3, 2)), [0, 1, 5], np.ones((1, 2)), num_classes=3),
            r"\[0, 3\): \[5\]",
        ),
        (
            lambda: knn_accuracy(np.ones((3, 2)), [0, 1, 1], np.ones((2, 2)), [0]),
            "2 `query_features` rows",
        ),
        (
            lambda: KNNMonitor(([], []), ([], []), every_n_epochs=0),
            "`every_n_epochs` must be an integer >= 1; got 0",
        ),
        (lambda: save_embeddings("x.npz", np.ones((3, 2)), [0, 1]), "3 feature rows but 2 labels"),
        (lambda: save_embeddings("x.npz", np.ones(3)), r"non-empty \[N, dim\]"),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bad_model_input_raises(trained_classifier):
    model, x, y, class_names = trained_classifier
    with pytest.raises(ValueError, match="3 `class_names` given but the model outputs 10"):
        evaluate_classifier(model, (x, y), class_names=class_names[:3])
    with pytest.raises(ValueError, match="must carry labels"):
        evaluate_classifier(model, x)
    with pytest.raises(ValueError, match=r"outside \[0, 10\): \[12\]"):
        evaluate_classifier(model, (x[:2], np.array([1, 12])))
    with pytest.raises(ValueError, match="500 inputs but 2 labels"):
        evaluate_classifier(model, (x, y[:2]))
    with pytest.raises(ValueError, match="`data` is empty"):
        evaluate_classifier(model, (x[:0], y[:0]))
    with pytest.raises(ValueError, match="infinite dataset"):
        compute_embeddings(model, tf.data.Dataset.from_tensor_slices(x).batch(8).repeat())
    feature_maps = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(2, 3)])
    with pytest.raises(ValueError, match="Add global pooling"):
        compute_embeddings(feature_maps, x[:4], verbose=0)


def test_knn_monitor_without_encoder_raises(blobs):
    (x, y), _ = blobs
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(4)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match="KNNMonitor needs an encoder"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[KNNMonitor((x, y), (x, y))])
