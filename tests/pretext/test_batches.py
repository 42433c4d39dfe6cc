"""Batch-dependent pretext models never train or evaluate on a short batch silently.

SimCLR's NT-Xent compares each image with the rest of its batch: a batch of one image
gives loss 0 and no gradient, a short last batch an easier task. The rule tested here:
a batch smaller than `min_batch_size` raises (in graph mode too), and `fit` / `evaluate`
drop a short last batch of arrays and of tf.data datasets with a warning.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ssl
from keras_ssl import augment, encoders, heads
from keras_ssl.pretext._batches import ArrayBatches

TOO_SMALL = r"SimCLR needs at least 2 images per batch \(each view is contrasted"


@pytest.fixture(scope="module")
def simclr():
    """One model for the tests of this file: they count batches, so it is traced once."""
    model = keras_ssl.SimCLR(
        encoders.small_cnn(input_shape=(16, 16, 3), width=4, depth=2),
        heads.projection_head(hidden_dim=8, output_dim=8),
        augment.simclr_augment(16, seed=0),
    )
    model.compile(optimizer="adam")
    return model


def images(count, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, 16, 16, 3)).astype("uint8")


class BatchSizes(keras.callbacks.Callback):
    """The number of train and test batches seen."""

    def on_train_begin(self, logs=None):
        self.train, self.test = 0, 0

    def on_train_batch_end(self, batch, logs=None):
        self.train += 1

    def on_test_batch_end(self, batch, logs=None):
        self.test += 1


def test_array_batches_are_full_and_reshuffled_every_epoch():
    x = np.arange(10)
    np.random.seed(0)
    batches = ArrayBatches([x, -x], batch_size=4, shuffle=True)
    epochs = []
    for _ in range(3):
        assert len(batches) == 2
        epoch = [batches[i] for i in range(len(batches))]
        assert all(len(a) == 4 and np.array_equal(b, -a) for a, b in epoch)
        epochs.append(np.concatenate([a for a, _ in epoch]))
        batches.on_epoch_end()
    assert all(len(set(e)) == 8 for e in epochs)  # no image twice in an epoch
    assert len({tuple(sorted(e)) for e in epochs}) > 1  # other images left out each epoch
    in_order = ArrayBatches([x], batch_size=4, shuffle=False)
    np.testing.assert_array_equal(np.concatenate([in_order[0], in_order[1]]), np.arange(8))


def test_fit_on_arrays_drops_the_short_last_batch_with_a_warning(simclr):
    model = simclr
    counter = BatchSizes()
    with pytest.warns(
        UserWarning,
        match=r"SimCLR uses only full batches: 65 images make 1 batches of 64, and "
        r"the 1 left over are not used in an epoch \(different ones every epoch\)",
    ) as record:
        history = model.fit(images(65), batch_size=64, epochs=2, verbose=0, callbacks=[counter])
    assert len([w for w in record if "full batches" in str(w.message)]) == 1
    assert counter.train == 2
    assert all(np.isfinite(history.history["loss"]))


def test_fit_on_a_dataset_drops_its_short_batches(simclr):
    model = simclr
    counter = BatchSizes()
    dataset = tf.data.Dataset.from_tensor_slices(images(65)).batch(32)  # 32, 32, 1
    with pytest.warns(UserWarning, match=r"batch size is not fixed.*`drop_remainder=True`"):
        model.fit(dataset, epochs=2, verbose=0, callbacks=[counter])
    assert counter.train == 4
    # With a fixed batch size there is nothing to drop and nothing to say.
    fixed = tf.data.Dataset.from_tensor_slices(images(65)).batch(32, drop_remainder=True)
    model.fit(fixed, epochs=1, verbose=0, callbacks=[counter])
    assert counter.train == 2


def test_evaluate_and_validation_use_only_full_batches(simclr):
    model = simclr
    counter = BatchSizes()
    # validation_split: 80 images to train (2 batches of 32, 16 dropped), 20 to validate.
    with pytest.warns(UserWarning, match="80 images make 2 batches of 32"):
        history = model.fit(
            images(100), batch_size=32, validation_split=0.2, verbose=0, callbacks=[counter]
        )
    assert (counter.train, counter.test) == (2, 1)
    assert np.isfinite(history.history["val_loss"][0])
    with pytest.warns(UserWarning, match=r"33 images make 2 batches of 16, and the 1 left over"):
        model.fit(
            images(32),
            batch_size=16,
            validation_data=(images(33), None),
            verbose=0,
            callbacks=[counter],
        )
    assert (counter.train, counter.test) == (2, 2)
    tester = BatchSizes()
    tester.on_train_begin()
    with pytest.warns(UserWarning, match=r"the 1 left over .* \(the last ones, in order\)"):
        result = model.evaluate(
            images(33), batch_size=16, verbose=0, callbacks=[tester], return_dict=True
        )
    assert tester.test == 2 and np.isfinite(result["loss"])


def test_a_one_image_batch_raises_in_graph_mode(simclr):
    model = simclr
    one = tf.data.Dataset.from_tensor_slices(images(1)).batch(8)  # batch dimension None
    with pytest.warns(UserWarning, match="batch size is not fixed"):
        with pytest.raises(tf.errors.InvalidArgumentError, match=TOO_SMALL + r".*drop_remainder"):
            model.fit(one, epochs=1, verbose=0)

    class ShortLast(keras.utils.PyDataset):  # used as given: its last batch has 1 image
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return images(8 if index == 0 else 1)

    with pytest.raises(tf.errors.InvalidArgumentError, match=TOO_SMALL):
        model.fit(ShortLast(), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=TOO_SMALL + r".*; got 1 image\(s\) in all\."):
        model.fit(images(1), batch_size=8, epochs=1, verbose=0)


def test_rotation_keeps_short_batches():
    """Rotation prediction's loss is a mean over images: a short batch does not change it."""
    model = keras_ssl.RotationPrediction(
        encoders.small_cnn(input_shape=(16, 16, 3), width=4, depth=2)
    )
    model.compile(optimizer="adam")
    counter = BatchSizes()
    model.fit(images(65), batch_size=64, epochs=1, verbose=0, callbacks=[counter])
    assert counter.train == 2
