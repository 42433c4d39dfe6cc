"""Where models train: one device, several (a strategy), and the precision.

`training_scope(strategy, precision)` uses the existing engine of the backend, never a
home-made one (an experiment file's `distribution.strategy` and `.precision` come here):

| strategy | TensorFlow backend | JAX backend |
| --- | --- | --- |
| `none` | the default device | the default device |
| `mirrored` | `tf.distribute.MirroredStrategy` (all local GPUs, or CPUs) | `keras.distribution.DataParallel` over all local devices |
| `multi_worker` | `tf.distribute.MultiWorkerMirroredStrategy` (`TF_CONFIG`) | – |
| `tpu` | `tf.distribute.TPUStrategy` (Colab's TPU) | `DataParallel` over the TPU cores |

`pretrain.batch_size` and the recipes' `batch_size` are global batches: each of R
replicas gets batch / R images a step, and SimCLR's negatives come from the whole
global batch (`keras_ssl.pretext.replicas`). No learning-rate scaling is applied: the
rate in the file is the rate used (scale it with the batch yourself, e.g. SimCLR's
0.3 × batch / 256 for LARS). `sync_batch_norm` makes BatchNorm use the global batch's
statistics under `tf.distribute` (under JAX it does already).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Annotated, Literal

import keras
from pydantic import Strict

from keras_ssl.config import Config, ConfigError

STRATEGIES = ("none", "mirrored", "multi_worker", "tpu")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


class DistributionConfig(Config):
    """Where the models train (this module).

    Args:
        strategy: "none", "mirrored" (tf.distribute's MirroredStrategy, or JAX's
            DataParallel over all local devices), "multi_worker" or "tpu". Batch sizes
            are global batches; learning rates are used as given.
        sync_batch_norm: BatchNorm on the global batch's statistics across replicas.
        precision: "float32", "mixed_float16" or "mixed_bfloat16" (losses stay float32).
    """

    strategy: Literal[STRATEGIES] = "none"
    sync_batch_norm: Annotated[bool, Strict()] = False
    precision: Literal[PRECISIONS] = "float32"


@functools.cache
def _tensorflow_strategy(name: str):
    """One strategy per process: tf.distribute strategies must not be made twice."""
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


@contextlib.contextmanager
def training_scope(strategy: str = "none", precision: str = "float32"):
    """Builds, compiles and trains inside: the strategy's scope and the dtype policy.

    Args:
        strategy: one of `STRATEGIES`.
        precision: one of `PRECISIONS`; the policy is restored on leaving.

    Raises:
        ConfigError: for a strategy or precision not in `STRATEGIES` / `PRECISIONS`, or
            a strategy the backend does not offer.

    Example:

    >>> with training_scope("mirrored", "mixed_float16"):
    ...     model = keras_ssl.pretext.get("simclr", encoder)
    ...     model.compile(optimizer="adam")
    ...     model.fit(dataset, epochs=10)
    """
    _check("strategy", strategy, STRATEGIES)
    _check("precision", precision, PRECISIONS)
    previous_policy = keras.config.dtype_policy()
    previous_distribution = keras.distribution.distribution()
    keras.config.set_dtype_policy(precision)
    try:
        with _strategy_scope(strategy):
            yield
    finally:
        keras.config.set_dtype_policy(previous_policy)
        if keras.backend.backend() == "jax":
            keras.distribution.set_distribution(previous_distribution)


def _check(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"Unknown {key} {value!r}; expected one of: {', '.join(allowed)}.")


def _strategy_scope(strategy: str):
    if strategy == "none":
        return contextlib.nullcontext()
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tensorflow_strategy(strategy).scope()
    if backend == "jax" and strategy in ("mirrored", "tpu"):
        keras.distribution.set_distribution(keras.distribution.DataParallel())
        return contextlib.nullcontext()
    raise ConfigError(
        f"`distribution.strategy` {strategy!r} needs the TensorFlow backend (tf.distribute); "
        f"the backend is {backend!r}. Under JAX use 'mirrored' (keras.distribution.DataParallel)."
    )


def replica_count(strategy: str = "none") -> int:
    """How many replicas share each global batch under `strategy` (1 for "none")."""
    _check("strategy", strategy, STRATEGIES)
    if strategy == "none":
        return 1
    if keras.backend.backend() == "tensorflow":
        return _tensorflow_strategy(strategy).num_replicas_in_sync
    return len(keras.distribution.list_devices())
