"""NaN, infinite and [0, 1] pixels never train silently: refused, stopped or warned."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ssl
from keras_ssl import augment, encoders, heads
from keras_ssl.callbacks import NaNLossError, StopOnNaN
from keras_ssl.data import ImageSet, pretraining_pipeline
from keras_ssl.utils import check_image_values


def tiny_simclr():
    # ReLUs, as in the report: the loss stays finite while NaN pixels make the weights NaN.
    keras.utils.set_random_seed(0)
    model = keras_ssl.SimCLR(
        encoders.small_cnn(input_shape=(16, 16, 3), width=8, depth=2),
        heads.projection_head(hidden_dim=16, output_dim=8),
        augment.simclr_augment(16, seed=0),
    )
    model.compile(optimizer="adam")
    return model


def float_images(count=32, nan_from=None, scale=255.0):
    """Float images in [0, scale]; from row `nan_from` on, 1 % of the values are NaN."""
    x = np.random.default_rng(0).uniform(0, scale, (count, 16, 16, 3)).astype("float32")
    if nan_from is not None:
        x[nan_from:][np.random.default_rng(1).random(x[nan_from:].shape) < 0.01] = np.nan
    return x


def all_finite(model):
    return all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in model.weights)


def test_check_image_values_counts_non_finite_values():
    x = float_images(4)
    x[0, 0, 0] = [np.nan, np.inf, -np.inf]
    with pytest.raises(ValueError, match=r"3 non-finite values \(NaN or infinite\) out of 3072"):
        check_image_values(x, "here")
    assert check_image_values(float_images(4, scale=1.0)) is True
    assert check_image_values(float_images(4)) is False
    assert check_image_values(np.ones((4, 16, 16, 3), np.uint8)) is False  # integers: no check


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_fit_refuses_arrays_with_non_finite_pixels(bad):
    model = tiny_simclr()
    x = float_images()
    x[5, 3, 3, 1] = bad
    with pytest.raises(
        ValueError,
        match=r"SimCLR\.fit got images with 1 non-finite values.*"
        r"np\.nan_to_num",
    ):
        model.fit(x, batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"fit \(validation_data\) got images with 1 non-finite"):
        model.fit(float_images(), validation_data=x, batch_size=8, epochs=1, verbose=0)
    assert all_finite(model)


def test_fit_refuses_a_dataset_whose_first_batch_has_nan_pixels():
    model = tiny_simclr()
    dataset = tf.data.Dataset.from_tensor_slices(float_images(nan_from=0)).batch(8)
    with pytest.raises(ValueError, match=r"first batch of the dataset, got images with \d+ non"):
        model.fit(dataset, epochs=1, verbose=0)
    assert all_finite(model)


def test_nan_pixels_after_the_first_batch_stop_on_non_finite_weights(tmp_path):
    model = tiny_simclr()
    dataset = tf.data.Dataset.from_tensor_slices(float_images(nan_from=8)).batch(
        8, drop_remainder=True
    )
    path = tmp_path / "epoch.weights.h5"
    checkpoint = keras.callbacks.ModelCheckpoint(path, save_weights_only=True)
    # TensorFlow's CPU ReLU maps NaN to 0: its loss stays finite while the weights turn
    # NaN, as in the report. Under JAX the loss turns NaN too, and either check may stop first.
    if keras.backend.backend() == "tensorflow":
        expected = r"trainable weights became non-finite .* at the end of epoch 1;.*NaN or inf"
    else:
        expected = r"(weights became non-finite|loss became nan)"
    with pytest.raises(NaNLossError, match=expected):
        model.fit(dataset, epochs=2, verbose=0, callbacks=[checkpoint])
    assert model.stop_training and not path.exists()


def test_a_generator_with_nan_pixels_stops_after_the_first_batch():
    model = tiny_simclr()
    x = float_images(nan_from=0)  # 1 % NaN in every batch, as in the report

    def batches():
        for start in range(0, 32, 8):
            yield (x[start : start + 8],)

    expected = r"(weights became non-finite|loss became nan)"  # JAX: the loss is NaN too
    if keras.backend.backend() == "tensorflow":
        expected = r"weights became non-finite \(NaN or inf\) at epoch 1, after batch 1;"
    with pytest.raises(NaNLossError, match=expected):
        model.fit(batches(), epochs=1, steps_per_epoch=4, verbose=0)
    assert model.stop_training


def test_the_weight_check_runs_at_epoch_end_whatever_the_loss():
    model = tiny_simclr()
    model.fit(float_images(), batch_size=8, epochs=1, verbose=0)
    callback = StopOnNaN()
    callback.set_model(model)
    callback.on_epoch_end(0, {"loss": 1.0})  # finite weights: nothing happens
    variable = model.encoder.trainable_variables[0]
    variable.assign(np.full(variable.shape, np.nan, variable.dtype))
    with pytest.raises(NaNLossError, match=r"non-finite \(NaN or inf\) at the end of epoch 3"):
        callback.on_epoch_end(2, {"loss": 1.0})
    quiet = StopOnNaN(raise_error=False)
    quiet.set_model(model)
    quiet.on_train_batch_begin(1)  # after batch 1: checked early
    assert model.stop_training


def test_unit_range_images_warn_once_per_model():
    model = tiny_simclr()
    x = float_images(scale=1.0)
    with pytest.warns(
        UserWarning, match=r"no value above 1\.0.*\[0, 255\].*Multiply the images by 255"
    ):
        model.fit(x, batch_size=8, epochs=1, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(x, batch_size=8, epochs=1, verbose=0)  # once per model
        tiny_simclr().fit(float_images(), batch_size=8, epochs=1, verbose=0)  # [0, 255]: silent


def test_unit_range_dataset_warns_from_its_first_batch():
    dataset = tf.data.Dataset.from_tensor_slices(float_images(scale=1.0)).batch(
        8, drop_remainder=True
    )
    with pytest.warns(UserWarning, match=r"first batch of the dataset.*no value above 1\.0"):
        tiny_simclr().fit(dataset, epochs=1, verbose=0)


def test_the_pretraining_pipeline_takes_only_uint8_images():
    x = float_images(nan_from=0)
    with pytest.raises(ValueError, match=r"must be uint8.*non-finite"):
        ImageSet(images=x)
    with pytest.raises(ValueError, match=r"must be uint8.*\[0, 255\]: multiply them by 255"):
        pretraining_pipeline(float_images(scale=1.0), 8)
