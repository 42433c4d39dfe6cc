"""Fine-tuning recipes on tiny encoders and real CIFAR-10 pixels."""

import json

import keras
import numpy as np
import pytest

from keras_ssl import encoders, finetune
from keras_ssl.finetune import FinetuneConfig, get_recipe


def _split(data, per_class_train):
    """Class-balanced train / val split of a fixture's (images, labels, names)."""
    images, labels, _ = data
    train = np.concatenate([np.flatnonzero(labels == c)[:per_class_train] for c in range(10)])
    val = np.setdiff1d(np.arange(len(labels)), train)
    return (images[train], labels[train]), (images[val], labels[val])


@pytest.fixture
def no_fit(monkeypatch):
    """Makes any `fit` (or `predict`) fail the test: errors must come before training."""

    def fail(*args, **kwargs):
        raise AssertionError("training started before the bad input was reported")

    monkeypatch.setattr(keras.Model, "fit", fail)
    monkeypatch.setattr(keras.Model, "predict", fail)


def _tiny(width=8):
    return encoders.small_cnn(input_shape=(32, 32, 3), width=width, depth=2)


# -- recipes ---------------------------------------------------------------------------


def test_presets_are_the_documented_recipes():
    assert finetune.available_recipes() == ["full", "linear_probe", "supervised", "umea"]
    umea = get_recipe("umea")
    assert (umea.freeze_first, umea.dropout, umea.optimizer, umea.learning_rate) == (
        100,
        0.5,
        "adam",
        1e-4,
    )
    assert (umea.epochs, umea.monitor, umea.patience, umea.restore_best_weights) == (
        50,
        "val_accuracy",
        4,
        True,
    )
    assert (umea.reduce_lr_factor, umea.reduce_lr_patience) == (0.5, 2)
    assert get_recipe("linear_probe").freezes_encoder and get_recipe("linear_probe").cache_features
    assert get_recipe("full").freeze_first == 0 and not get_recipe("full").reinitialize
    assert get_recipe("supervised").reinitialize and get_recipe("supervised").freeze_first == 0


def test_recipe_overrides_and_config_round_trip():
    config = get_recipe("umea", epochs=3, freeze_first=4)
    assert (config.epochs, config.freeze_first, config.name) == (3, 4, "umea")
    assert get_recipe("umea").epochs == 50  # presets are not changed
    restored = FinetuneConfig.from_config(json.loads(json.dumps(config.get_config())))
    assert restored == config
    assert get_recipe(config) is config
    # Lists (as YAML gives them) are kept as tuples; a YAML `1.0` is a fraction, `1` a count.
    assert get_recipe("full", hidden_dims=[128, 64]).hidden_dims == (128, 64)
    assert isinstance(get_recipe("full", freeze_first=1.0).freeze_first, float)
    assert isinstance(get_recipe("full", freeze_first=1).freeze_first, int)
    with pytest.raises(ValueError, match=r"Unknown recipe field\(s\) \['lr'\]"):
        FinetuneConfig.from_config({"lr": 1e-3})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 0}, r"`epochs` must be an integer >= 1; got 0"),
        ({"dropout": 1.0}, r"`dropout` must be a number in \[0, 1\); got 1.0"),
        ({"freeze_first": -1}, r"`freeze_first` must be an integer >= 0 or 'all', .*; got -1"),
        ({"freeze_first": 1.5}, r"a fraction in \[0, 1\] or a freeze-point name .*; got 1.5"),
        ({"optimizer": "adamx"}, r"Unknown optimizer 'adamx' \(`optimizer`\)"),
        ({"monitor": "accuracy"}, r"`monitor` must name a validation metric .* got 'accuracy'"),
        ({"reduce_lr_factor": 1.5}, r"`reduce_lr_factor` must be a number in \(0, 1\) or null"),
        ({"cache_features": True}, r"`cache_features=True` needs `freeze_first='all'`"),
        (
            {"min_steps_per_epoch": 0},
            r"`min_steps_per_epoch` must be an integer >= 1 or null; got 0",
        ),
        ({"colour": 1}, r"Unknown recipe field\(s\) \['colour'\]"),
        ({"learning_rate": 0}, r"`learning_rate` must be a number > 0; got 0"),
        ({"hidden_dims": [8, 0]}, r"`hidden_dims.* must be an integer >= 1; got 0"),
        ({"hidden_dims": "8"}, r"`hidden_dims` must be a list; got '8'"),
        ({"augment": "yes"}, r"`augment` must be true or false; got 'yes'"),
        ({"standardize_features": True}, r"`standardize_features=True` needs `cache_features"),
        (
            {"reinitialize": True},
            r"`reinitialize=True` trains from scratch: .*got freeze_first=100",
        ),
    ],
)
def test_bad_recipe_fields_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        get_recipe("umea", **kwargs)


def test_unknown_recipe_lists_the_presets():
    with pytest.raises(
        ValueError, match=r"Unknown recipe 'simclr'. Available recipes: full, linear_probe"
    ):
        get_recipe("simclr")


# -- training --------------------------------------------------------------------------


def test_frozen_layers_do_not_change_and_the_others_do(cifar_small):
    train, val = _split(cifar_small, 30)
    encoder = _tiny()
    layers = finetune.countable_layers(encoder)
    before = [[w.copy() for w in layer.get_weights()] for layer in layers]
    result = finetune.finetune(
        encoder, train, val, 10, "umea", freeze_first=4, epochs=2, patience=None,
        learning_rate=1e-2, verbose=0, seed=0,
    )  # fmt: skip
    # copy=True: the encoder passed in is untouched, the trained copy is in the model.
    for layer, weights in zip(layers, before):
        assert all(np.array_equal(a, b) for a, b in zip(weights, layer.get_weights()))
    trained = finetune.countable_layers(result.model.get_layer(encoder.name))
    assert [layer.name for layer in trained] == [layer.name for layer in layers]
    for index, (layer, weights) in enumerate(zip(trained, before)):
        if not weights:
            continue
        same = [np.array_equal(a, b) for a, b in zip(weights, layer.get_weights())]
        if index < 4:  # input, block0 conv, bn (moving mean / variance too), relu
            assert all(same), layer.name
        else:
            assert not any(same), layer.name
    assert result.epochs_run == 2 and result.train_size == 300
    assert set(result.history) >= {"loss", "accuracy", "val_accuracy", "val_top3_accuracy"}


def test_weight_decay_reaches_the_optimizer_and_shrinks_the_weights(cifar_small):
    """SimSiam 004 fine-tunes with weight decay 1e-5; here 0.5, to see its effect in 1 epoch."""
    train, val = _split(cifar_small, 30)
    results = {}
    for decay in (None, 0.5):
        keras.utils.set_random_seed(0)
        results[decay] = finetune.finetune(
            _tiny(), train, val, 10, "full", weight_decay=decay, epochs=1, patience=None,
            learning_rate=1e-2, dropout=0.0, verbose=0, seed=0,
        )  # fmt: skip
    assert results[0.5].model.optimizer.weight_decay == 0.5
    assert results[None].model.optimizer.weight_decay is None

    def kernel_norm(result):
        return np.linalg.norm(result.model.layers[-1].get_weights()[0])

    # Decoupled decay multiplies each weight by (1 - 0.5 * 1e-2) a step, 10 steps.
    assert kernel_norm(results[0.5]) < 0.98 * kernel_norm(results[None])


class SeenImages(keras.callbacks.Callback):
    """Counts the training steps of every epoch."""

    def on_train_begin(self, logs=None):
        self.steps = []

    def on_epoch_begin(self, epoch, logs=None):
        self.steps.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.steps[-1] += 1


@pytest.mark.parametrize("recipe", ["full", "linear_probe"])
def test_small_label_sets_fill_min_steps_per_epoch(cifar_small, recipe):
    (images, labels), val = _split(cifar_small, per_class_train=2)  # 20 labels
    seen = SeenImages()
    result = finetune.finetune(
        _tiny(), (images, labels), val, 10,
        get_recipe(recipe, epochs=2, patience=None, batch_size=8, min_steps_per_epoch=5),
        callbacks=[seen], verbose=0, seed=0,
    )  # fmt: skip
    assert seen.steps == [5, 5]  # 20 labels would make 3 steps of 8; repeated to 40
    assert result.train_size == 20 and result.epochs_run == 2
    # A label set already large enough keeps one pass per epoch.
    seen_large = SeenImages()
    finetune.finetune(
        _tiny(), (images, labels), val, 10,
        get_recipe(recipe, epochs=1, patience=None, batch_size=4, min_steps_per_epoch=3),
        callbacks=[seen_large], verbose=0, seed=0,
    )  # fmt: skip
    assert seen_large.steps == [5]


def test_filled_epochs_use_every_image_equally():
    from keras_ssl.finetune._core import _fill_epoch
    from keras_ssl.finetune._inputs import LabeledData

    labels = np.arange(7)
    data = LabeledData(labels=labels, images=np.zeros((7, 32, 32, 3), "uint8"))
    filled = _fill_epoch(data, get_recipe("full", batch_size=4, min_steps_per_epoch=5))
    counts = np.bincount(filled.labels, minlength=7)
    assert len(filled) == 20 and counts.max() - counts.min() <= 1 and counts.min() == 2


def test_early_stopping_restores_the_best_epoch(cifar_small):
    # Validation labels are the training labels shifted by one: the more the model
    # learns the training task, the worse it does on validation, so the best epoch
    # comes early and training stops `patience` epochs later.
    images, labels, _ = cifar_small
    recorded = {}

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            recorded[epoch + 1] = self.model.get_weights()

    keras.utils.set_random_seed(0)
    result = finetune.finetune(
        _tiny(), (images, labels), (images[:200], (labels[:200] + 1) % 10), 10,
        get_recipe("full", epochs=12, patience=2, learning_rate=3e-3, batch_size=50),
        callbacks=[Record()], verbose=0, seed=0,
    )  # fmt: skip
    val_accuracy = result.history["val_accuracy"]
    assert result.epochs_run == result.best_epoch + 2 < 12
    assert result.best_epoch == int(np.argmax(val_accuracy)) + 1
    for got, best in zip(result.model.get_weights(), recorded[result.best_epoch]):
        np.testing.assert_array_equal(got, best)
    assert any(
        not np.array_equal(best, last)
        for best, last in zip(recorded[result.best_epoch], recorded[result.epochs_run])
    )
    assert result.accuracy == pytest.approx(max(val_accuracy), abs=1e-6)


def test_linear_probe_on_fixed_features_beats_chance(cifar_medium):
    train, val = _split(cifar_medium, 150)
    keras.utils.set_random_seed(0)
    encoder = _tiny(width=16)  # random conv features: fixed, and informative on CIFAR
    result = finetune.finetune(
        encoder, train, val, 10, "linear_probe", epochs=20, verbose=0, seed=0
    )
    assert result.accuracy > 0.2  # chance is 0.1
    # The returned model is image -> probabilities and agrees with the cached-feature metrics.
    assert result.model.output_shape == (None, 10)
    predictions = result.model.predict(val[0], verbose=0)
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, atol=1e-5)
    assert np.mean(predictions.argmax(axis=1) == val[1]) == pytest.approx(result.accuracy, abs=1e-3)
    assert not any(w.trainable for w in result.model.get_layer(encoder.name).weights)


def test_linear_probe_features_equals_a_head_trained_on_standardized_features(cifar_small):
    from sklearn.preprocessing import StandardScaler

    train, val = _split(cifar_small, 30)
    encoder = _tiny()
    result = finetune.linear_probe_features(
        encoder, train, val, 10, epochs=3, patience=None, reduce_lr_factor=None, learning_rate=1e-3,
        verbose=0, seed=3,
    )  # fmt: skip
    # Reference: the same head trained by hand on standardised `encoder.predict` features.
    keras.utils.set_random_seed(3)
    reference = finetune.classifier(
        finetune.copy_encoder(encoder), 10, freeze_first=None, dropout=0.0
    )
    scaler = StandardScaler().fit(encoder.predict(train[0], verbose=0))
    train_x, val_x = (scaler.transform(encoder.predict(x, verbose=0)) for x in (train[0], val[0]))
    head = keras.Sequential([keras.Input((train_x.shape[1],)), reference.layers[-1]])
    head.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    head.fit(train_x, train[1], batch_size=256, epochs=3, verbose=0)
    expected = head.predict(val_x, verbose=0)
    np.testing.assert_allclose(result.model.predict(val[0], verbose=0), expected, atol=1e-4)
    assert result.accuracy == pytest.approx(np.mean(expected.argmax(1) == val[1]), abs=1e-6)


def test_linear_probe_does_not_depend_on_the_scale_of_the_features(cifar_small):
    # Randomly initialised MobileNetV2 features are ~1e-11 in inference mode: the
    # standardised probe must see them as it sees the same features at scale 1.
    train, val = _split(cifar_small, 30)
    keras.utils.set_random_seed(0)
    encoder = _tiny()
    tiny = keras.Sequential([encoder, keras.layers.Rescaling(1e-11)], name="tiny_features")
    runs = [
        finetune.linear_probe_features(model, train, val, 10, epochs=3, verbose=0, seed=0)
        for model in (encoder, tiny)
    ]
    np.testing.assert_allclose(runs[0].history["loss"], runs[1].history["loss"], rtol=1e-3)
    assert runs[1].accuracy == pytest.approx(runs[0].accuracy, abs=0.01)
    np.testing.assert_allclose(
        runs[1].model.predict(val[0][:50], verbose=0),
        runs[0].model.predict(val[0][:50], verbose=0),
        atol=1e-3,
    )


def test_tf_data_inputs_and_supervised_baseline(cifar_small, tmp_path):
    import tensorflow as tf

    from keras_ssl import data

    train, val = _split(cifar_small, 30)
    imageset = data.ImageSet(images=train[0], labels=train[1])
    train_ds = data.finetuning_pipeline(imageset, 32, augment="light")  # shuffled each epoch
    val_ds = tf.data.Dataset.from_tensor_slices(val).batch(64)
    encoder = _tiny()
    result = finetune.supervised_baseline(
        encoder, train_ds, val_ds, 10, epochs=1, verbose=0, log_csv=tmp_path / "log.csv"
    )
    assert result.train_size == 300 and result.epochs_run == 1
    assert (tmp_path / "log.csv").read_text().startswith("epoch,")
    # Re-initialised: no weight of the model's encoder equals the one passed in.
    trained = result.model.get_layer(encoder.name)
    conv = encoder.get_layer("block0_conv").get_weights()[0]
    assert not np.allclose(trained.get_layer("block0_conv").get_weights()[0], conv)
    built = []
    result = finetune.supervised_baseline(
        lambda: built.append(_tiny()) or built[-1], train, val_ds, 10, epochs=1, verbose=0
    )
    assert result.model.get_layer(built[0].name) is built[0]  # a builder's encoder is used as is


def test_embedding_a_reshuffling_dataset_keeps_labels_with_their_images(cifar_small):
    from keras_ssl import data
    from keras_ssl.finetune._inputs import labeled_data
    from keras_ssl.finetune.probe import embed

    images, labels, _ = cifar_small
    dataset = data.finetuning_pipeline(
        data.ImageSet(images=images, labels=labels), 64, shuffle=True
    )
    checked = labeled_data(dataset, "train_data")  # reads the labels in one shuffled order
    encoder = _tiny()
    features, embedded_labels = embed(encoder, checked, 64)  # a second, different order
    reference = encoder.predict(images, verbose=0)
    nearest = ((features[:, None, :] - reference[None]) ** 2).sum(-1).argmin(1)
    assert not np.array_equal(nearest, np.arange(len(images)))  # really shuffled
    np.testing.assert_allclose(features, reference[nearest], atol=1e-5)
    np.testing.assert_array_equal(embedded_labels, labels[nearest])


def test_multi_label_recipe(cifar_small):
    images, labels, _ = cifar_small
    # Two attributes: "is a vehicle" and "is an animal with four legs".
    attributes = np.stack([np.isin(labels, [0, 1, 8, 9]), np.isin(labels, [3, 4, 5, 7])], 1)
    result = finetune.finetune(
        _tiny(), (images[:400], attributes[:400].astype("int64")), (images[400:], attributes[400:]),
        2, "full", multi_label=True, monitor="val_auc", epochs=1, verbose=0,
    )  # fmt: skip
    assert set(result.val_metrics) == {"loss", "accuracy", "auc"}
    assert result.model.layers[-1].layers[-1].activation.__name__ == "sigmoid"


def test_augmentation_is_in_the_model_and_inactive_at_inference(cifar_small):
    train, val = _split(cifar_small, 30)
    result = finetune.finetune(_tiny(), train, val, 10, "full", augment=True, epochs=1, verbose=0)
    augment = result.model.get_layer("light_augment")  # keras_ssl.data.light_augment
    assert not np.allclose(augment(val[0][:8], training=True), val[0][:8])
    first = result.model.predict(val[0][:8], verbose=0)
    np.testing.assert_allclose(first, result.model.predict(val[0][:8], verbose=0))


# -- bad input: every error before training --------------------------------------------

_IMAGES = np.zeros((20, 32, 32, 3), "uint8")
_LABELS = np.arange(20) % 4


@pytest.mark.parametrize(
    "train, val, num_classes, overrides, message",
    [
        ((_IMAGES, np.where(_LABELS == 3, 7, _LABELS)), (_IMAGES, _LABELS), 4, {},
         r"`train_data` labels must be class ids in \[0, 4\) for a head of num_classes=4; found \[7\]. Pass num_classes=8"),
        ((_IMAGES, _LABELS), (_IMAGES, _LABELS - 1), 4, {},
         r"`val_data` labels must be class ids in \[0, 4\) .* found \[-1\]. Remap"),
        ((_IMAGES, _LABELS), (_IMAGES, _LABELS), 6, {},
         r"`train_data` has no example of class\(es\) \[4, 5\] of num_classes=6"),
        ((_IMAGES, _LABELS), (_IMAGES[:0], _LABELS[:0]), 4, {},
         r"`val_data` is empty: it needs at least one labeled example"),
        ((_IMAGES, _LABELS[:19]), (_IMAGES, _LABELS), 4, {},
         r"`train_data` has 20 images but 19 labels"),
        ((_IMAGES, np.eye(4)[_LABELS]), (_IMAGES, _LABELS), 4, {},
         r"labels must be integer class ids of shape \[N\]; got shape \(20, 4\). For one-hot"),
        ((_IMAGES, np.eye(4)[_LABELS]), (_IMAGES, np.eye(4)[_LABELS]), 3, {"multi_label": True},
         r"The head has num_classes=3 outputs but `train_data` labels have 4 attributes"),
        ((_IMAGES, _LABELS.astype("float32")), (_IMAGES, _LABELS), 4, {},
         r"labels must be integer class ids; got dtype float32"),
        ((_IMAGES[..., :1], _LABELS), (_IMAGES, _LABELS), 4, {}, r"must have 3 channels"),
        ((_IMAGES, _LABELS), (_IMAGES, _LABELS), 4, {"freeze_first": 100},
         r"freezes the first 100 layers but encoder 'small_cnn_encoder' has only 10"),
        ((_IMAGES, _LABELS), (_IMAGES, _LABELS), 3.0, {}, r"`num_classes` must be an integer >= 2; got 3.0\. It counts the classes\."),
        ((_IMAGES, _LABELS % 3), (_IMAGES, _LABELS % 3), 3, {"monitor": "val_top3_accuracy"},
         r"`monitor` 'val_top3_accuracy' is not logged .* \['val_loss', 'val_accuracy'\]"),
        ((_IMAGES, _LABELS), [_IMAGES], 4, {}, r"`val_data` must be an \(images, labels\) tuple"),
    ],
)  # fmt: skip
def test_bad_input_fails_before_training(no_fit, train, val, num_classes, overrides, message):
    with pytest.raises(ValueError, match=message):
        finetune.finetune(_tiny(), train, val, num_classes, "full", verbose=0, **overrides)


def test_bad_datasets_fail_before_training(no_fit):
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((_IMAGES, _LABELS))
    with pytest.raises(ValueError, match=r"`val_data` is empty"):
        finetune.finetune(_tiny(), data.batch(4), data.take(0).batch(4), 4, "full")
    with pytest.raises(ValueError, match=r"`train_data` is an infinite dataset"):
        finetune.finetune(_tiny(), data.batch(4).repeat(), data.batch(4), 4, "full")
    with pytest.raises(ValueError, match=r"batch it with `.batch\(n\)`"):
        finetune.finetune(_tiny(), data, data.batch(4), 4, "full")
    with pytest.raises(ValueError, match=r"Unknown recipe 'umeaa'"):
        finetune.finetune(_tiny(), data.batch(4), data.batch(4), 4, "umeaa")
    with pytest.raises(ValueError, match=r"a keras.Model \(re-initialised\) or a function"):
        finetune.supervised_baseline("mobilenet_v2", data.batch(4), data.batch(4), 4)
