"""Callbacks that pretraining and fine-tuning runs add by default."""

from __future__ import annotations

import math

import keras


class NaNLossError(FloatingPointError):
    """Raised when the training loss, or a trainable weight, becomes NaN or infinite."""


@keras.saving.register_keras_serializable(package="keras_ssl")
class StopOnNaN(keras.callbacks.Callback):
    """Stops training as soon as the loss or the weights are NaN or infinite, and says why.

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

    The loss can stay finite while the weights are not (a NaN pixel makes every
    weight NaN, and a NaN similarity can still rank first), so it also checks the
    model's trainable weights: after the first batch (when the second begins, on the
    main thread) and at the end of every epoch, before the callbacks after it (an
    epoch-end checkpoint) see them. Each check is one reduction per weight on the
    device and one number read back. A checkpoint that saves on batch ends may still
    save weights made NaN within an epoch whose loss stayed finite.

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
        self._stopped = False

    def on_train_begin(self, logs=None):
        self._stopped = False

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self._stop(
                f"The training loss became {float(loss)} at epoch {self._epoch + 1}, batch "
                f"{batch + 1}; training stopped. Usual "
                "causes: a learning rate too high (try 10x lower), NaN or infinite values in "
                "the input images, or a temperature too small."
            )

    def on_train_batch_begin(self, batch, logs=None):
        # Once early, after the first batch: a NaN pixel in every batch poisons the weights
        # at once. Here, not in `on_train_batch_end`: that may run in a worker thread while
        # JAX's next step takes over (donates) the weights' buffers; this runs before it.
        if self._epoch == 0 and batch == 1:
            self._check_weights("at epoch 1, after batch 1")

    def on_epoch_end(self, epoch, logs=None):
        self._check_weights(f"at the end of epoch {epoch + 1}")

    def _check_weights(self, where: str) -> None:
        weights = _trainable_values(self.model)
        if self._stopped or not weights:
            return
        finite = keras.ops.stack([keras.ops.all(keras.ops.isfinite(w)) for w in weights])
        if bool(keras.ops.convert_to_numpy(keras.ops.all(finite))):
            return
        self._stop(
            f"The model's trainable weights became non-finite (NaN or inf) {where}; training "
            "stopped, whatever the loss shows. Usual causes: NaN or infinite values in the "
            "input images (check them with `np.isfinite`), a learning rate too high (try 10x "
            "lower), or a temperature too small."
        )

    def _stop(self, message: str) -> None:
        message += " Resume from the last checkpoint once fixed."
        self._stopped = self.model.stop_training = True
        if self.raise_error:
            raise NaNLossError(message)
        print(message)

    def get_config(self):
        return {"raise_error": self.raise_error}


def _trainable_values(model) -> list:
    """The current values of `model`'s trainable weights, on any backend.

    JAX's trainer keeps the weights of a running epoch in `model._jax_state` and
    writes them back to the variables only at its end: read them there when present.
    """
    state = getattr(model, "_jax_state", None) or {}
    values = state.get("trainable_variables")
    if values:
        return list(values)
    return [keras.ops.convert_to_tensor(v) for v in model.trainable_variables]
