"""A linear classifier trained alongside pretraining on detached encoder features.

lightly's `OnlineLinearClassifier` trains a linear layer on `features.detach()` at
every pretraining step. Here the probe is a callback, so pretext models stay
unaware of labels: at the end of every n-th epoch the encoder embeds a labelled
training subset and a validation split once, in inference mode, and a softmax
layer continues training on those cached features for a few epochs with its own
optimizer. Its validation accuracy is the `online_probe_accuracy` log entry.
"""

from __future__ import annotations

import keras

from keras_ssl.config import PositiveInt, check
from keras_ssl.evaluate.embeddings import EncoderCallback
from keras_ssl.evaluate.metrics import check_integer_labels


class OnlineLinearProbe(EncoderCallback):
    """Logs the validation accuracy of a linear probe kept training on the encoder's features.

    At the end of the first epoch and of every `every_n_epochs`-th epoch:

    1. the encoder (in inference mode, no gradient) embeds `train_data` and
       `val_data`; features are standardised with the training subset's mean and
       std (the encoder's feature scale drifts during pretraining);
    2. a `Dense(num_classes)` softmax layer, created on the first measurement and
       kept between measurements, trains `probe_epochs` epochs on the training
       features with its own Adam optimizer;
    3. its accuracy on the validation features goes into
       `logs["online_probe_accuracy"]`, so `History`, `CSVLogger`,
       `ResumableTraining` and `EarlyStopping` see it: put this callback before them.

    The encoder's weights are never changed: only the probe's layer is trained. Use
    a validation split of the training labels, never test data.

    Args:
        train_data: labelled examples the probe trains on: `(images, labels)` or a
            finite batched dataset of `(images, labels)`.
        val_data: labelled examples it is measured on, same forms.
        num_classes: number of classes; defaults to `max(train labels) + 1`.
        every_n_epochs: measure after epochs 1, n, 2n, …
        probe_epochs: epochs of probe training on the cached features per measurement.
        learning_rate: Adam learning rate of the probe.
        encoder: the model to embed with; defaults to `model.encoder`.
        batch_size: batch size for embedding and for probe training.
        seed: seed of the probe's initial weights.
        verbose: print the accuracy when it is measured.

    Example:
    >>> probe = OnlineLinearProbe((x_labelled, y_labelled), (x_val, y_val), every_n_epochs=5)
    >>> simclr.fit(unlabeled, epochs=50, callbacks=[probe, keras.callbacks.CSVLogger("log.csv")])
    """

    def __init__(
        self,
        train_data,
        val_data,
        num_classes: int | None = None,
        every_n_epochs: int = 1,
        probe_epochs: int = 10,
        learning_rate: float = 1e-2,
        encoder=None,
        batch_size: int = 256,
        seed: int = 0,
        verbose: int = 1,
    ):
        super().__init__()
        check(every_n_epochs, PositiveInt, "every_n_epochs")
        check(probe_epochs, PositiveInt, "probe_epochs")
        check(batch_size, PositiveInt, "batch_size")
        if not learning_rate > 0:
            raise ValueError(f"`learning_rate` must be > 0; got {learning_rate!r}.")
        self.train_data = train_data
        self.val_data = val_data
        self.num_classes = num_classes
        self.every_n_epochs = every_n_epochs
        self.probe_epochs = probe_epochs
        self.learning_rate = learning_rate
        self.encoder = encoder
        self.batch_size = batch_size
        self.seed = seed
        self.verbose = verbose
        self.probe = None

    def _make_probe(self, dim: int, num_classes: int) -> keras.Model:
        probe = keras.Sequential(
            [
                keras.Input((dim,)),
                keras.layers.Dense(
                    num_classes, kernel_initializer=keras.initializers.GlorotUniform(self.seed)
                ),
            ],
            name="online_linear_probe",
        )
        probe.compile(
            optimizer=keras.optimizers.Adam(self.learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        )
        return probe

    def on_train_begin(self, logs=None):
        self._get_encoder()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        if epoch > 0 and (epoch + 1) % self.every_n_epochs:
            return
        encoder = self._get_encoder()
        train_x, train_y = self._embed(encoder, self.train_data, "train_data")
        val_x, val_y = self._embed(encoder, self.val_data, "val_data")
        num_classes = self.num_classes or int(max(train_y.max(), val_y.max())) + 1
        train_y = check_integer_labels(train_y, num_classes, "train labels")
        val_y = check_integer_labels(val_y, num_classes, "val labels")
        mean, std = train_x.mean(axis=0), train_x.std(axis=0) + 1e-6
        train_x, val_x = (train_x - mean) / std, (val_x - mean) / std
        if self.probe is None:
            self.probe = self._make_probe(train_x.shape[1], num_classes)
        self.probe.fit(
            train_x, train_y, epochs=self.probe_epochs, batch_size=self.batch_size, verbose=0
        )
        result = self.probe.evaluate(
            val_x, val_y, batch_size=self.batch_size, verbose=0, return_dict=True
        )
        accuracy = float(result["accuracy"])
        logs["online_probe_accuracy"] = accuracy
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: online_probe_accuracy = {accuracy:.4f}")
