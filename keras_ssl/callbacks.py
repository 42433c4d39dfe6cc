"""Callbacks that pretraining and fine-tuning runs add by default."""

from __future__ import annotations

import math

import keras


class NaNLossError(FloatingPointError):
    """Raised when the training loss becomes NaN or infinite."""


@keras.saving.register_keras_serializable(package="keras_ssl")
class StopOnNaN(keras.callbacks.Callback):
    """Stops training as soon as the loss is NaN or infinite, and says why.

    Like `keras.callbacks.TerminateOnNaN`, but it raises `NaNLossError` with the
    epoch, the batch and the usual fixes, so a script does not go on to save an
    encoder full of NaNs. With `raise_error=False` it only stops training and prints
    the message.

    It checks every batch without making training wait for every batch: it is
    `async_safe`, so on backends that dispatch steps asynchronously (JAX, PyTorch)
    Keras runs its check in a worker thread while the next steps are queued, and the
    error comes out of `fit` a few steps later, before any `on_epoch_end` callback
    (Keras waits for the checks first). The loss in the logs is the epoch's running
    mean, so it turns NaN at the first bad batch and stays so: the batch in the
    message is that one. A callback that saves on batch ends (`ModelCheckpoint` with
    an integer `save_freq`) makes Keras run all batch-end callbacks in order on the
    main thread; put `StopOnNaN` before it (pretext models' `fit` puts it first).
    TensorFlow reads the logs on the main thread every batch anyway.

    Args:
        raise_error: raise `NaNLossError` (default) or just stop.

    Example:

    ```python
    model.fit(dataset, epochs=10, callbacks=[keras_ssl.callbacks.StopOnNaN()])
    ```
    """

    # Keras may call `on_train_batch_end` from a worker thread (see above).
    async_safe = True

    def __init__(self, raise_error: bool = True):
        super().__init__()
        self.raise_error = raise_error
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isfinite(loss):
            return
        message = (
            f"The training loss became {loss} at epoch {self._epoch + 1}, batch {batch + 1}; "
            "training stopped. Usual causes: a learning rate too high (try 10x lower), "
            "NaN or infinite values in the input images, or a temperature too small. "
            "Resume from the last checkpoint once fixed."
        )
        self.model.stop_training = True
        if self.raise_error:
            raise NaNLossError(message)
        print(message)

    def get_config(self):
        return {"raise_error": self.raise_error}
