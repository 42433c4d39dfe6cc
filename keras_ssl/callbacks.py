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

    Args:
        raise_error: raise `NaNLossError` (default) or just stop.

    Example:

    ```python
    model.fit(dataset, epochs=10, callbacks=[keras_ssl.callbacks.StopOnNaN()])
    ```
    """

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
