"""Steps split across replicas: the loss scale and the global batch of a `tf.distribute` step.

Under a `tf.distribute` strategy (TensorFlow backend) Keras runs `train_step` once per
replica on its share of the global batch, sums the replicas' gradients and expects
`compute_loss` to return the loss divided by the number of replicas, as Keras' own
losses do (it multiplies the logged loss back). A pretext loss that needs the whole
batch (SimCLR's negatives) gathers the other replicas' embeddings first.

Under JAX with `keras.distribution.DataParallel` the step runs on the global batch,
sharded over the devices by the compiler: there is one logical replica, nothing to
scale or gather, and these functions return their input.

Example, in a method's `compute_loss`:

```python
all_a, offset = replicas.gather(z_a)      # (global batch, dim), this replica's first row
...
return replicas.scale_loss(loss)          # what Keras sums over replicas
```
"""

from __future__ import annotations

import keras


def num_replicas() -> int:
    """Replicas that each run the step on a share of the batch (1 outside tf.distribute)."""
    if keras.backend.backend() != "tensorflow":
        return 1
    from keras_ssl.pretext._tensorflow import replicas_in_sync

    return replicas_in_sync()


def scale_loss(loss):
    """`loss / num_replicas()`: summed over replicas, the global batch's mean loss."""
    count = num_replicas()
    return loss if count == 1 else loss * (1.0 / count)


def gather(x):
    """Every replica's `x` along the batch axis, and the row where this replica's starts.

    Returns:
        `(x, 0)` on one replica; `(gathered, offset)` under a strategy with several.
    """
    if num_replicas() == 1:
        return x, 0
    from keras_ssl.pretext._tensorflow import all_gather

    return all_gather(x)


def synchronize_batch_norm(model: keras.layers.Layer) -> int:
    """Makes every BatchNormalization layer of `model` use the global batch's statistics.

    Under `tf.distribute` each replica otherwise normalises with the statistics of its
    own share of the batch, so a 2-replica step differs from one device's on the same
    batch (SimCLR's paper uses global BatchNorm for this reason). This sets Keras'
    `synchronized` option (an all-reduce of the moments); under JAX's `DataParallel`
    the statistics are already the global batch's, and nothing changes.

    Args:
        model: a model or layer; its nested layers are searched.

    Returns:
        The number of BatchNormalization layers synchronised (0 under JAX).

    Example:

    ```python
    with tf.distribute.MirroredStrategy().scope():
        model = keras_ssl.pretext.get("simclr", encoder)
        replicas.synchronize_batch_norm(model)
        model.compile(optimizer="adam")
    model.fit(dataset, epochs=100)  # the model's variables are made in the scope
    ```
    """
    if keras.backend.backend() != "tensorflow":
        return 0
    layers = [
        layer
        for layer in model._flatten_layers(include_self=True)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    for layer in layers:
        layer.synchronized = True
    return len(layers)
