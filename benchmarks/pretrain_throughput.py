"""Throughput of a SimCLR training step against the encoder's bare forward + backward pass.

Prints one JSON line for the current Keras backend (`KERAS_BACKEND=tensorflow` or `jax`).
Everything is measured in one process through `model.fit` (MobileNetV2 alpha 1.0 at
32x32, batch N = 256, Adam):

- `bare`: the encoder alone, forward + backward on one batch of N images repeated, with
  a trivial loss on its features; `bare_2n` the same on 2N images;
- `simclr_<view_batching>_<input>`: `keras_ssl.SimCLR` with `simclr_augment(32)` (two
  augmented views per image, projection head, NT-Xent, the NaN guard `fit` adds), with
  the views encoded in one batch of 2N (`joint`) or two batches of N (`separate`), fed
  from a tf.data pipeline (`tfdata`: `keras_ssl.data.pretraining_pipeline` over images
  in memory) or a NumPy array (`numpy`: `fit(x=array, batch_size=N)`);
- `nan_guard_cost`: 1 - (rate with `StopOnNaN`) / (rate with no NaN guard), on the numpy
  input with the default view batching; `nan_guard_cost_sync` the same for a guard that
  reads the loss on the main thread every batch (`StopOnNaN` before it was async-safe).

Every configuration is compiled first, then timed in `--rounds` interleaved rounds of
`--steps` steps (one `fit` call each, input set-up included), so that load from other
processes hits them alike; a figure is the median over rounds. `load_average` is the
machine's 1-minute load before and after: above the CPU count, figures are noisy.

Images/s counts the N source images of a step. Two views cost twice the encoder work, so
0.5 is the nominal ceiling of `ratio` = simclr / bare; the target is >= 0.45 for the
default view batching on both inputs. `overhead` = 1 - simclr / (the bare cost of the
views) is the share of a step spent outside the encoder (augmentation, projection,
loss); the views cost `bare_2n / 2` jointly, `bare / 2` separately.
`compile_seconds` is the first `fit` call of a configuration (tracing included).

Scale-out: `--distribution mirrored` builds and trains everything under
`keras_ssl.distribution.training_scope` (tf.distribute's MirroredStrategy,
or JAX's DataParallel), the batch being global; `--logical-devices 2` first splits the
CPU into two logical devices (TensorFlow), so that a 2-replica step can be measured on
a machine without accelerators (JAX: `XLA_FLAGS=--xla_force_host_platform_device_count=2`);
`--precision mixed_float16` / `mixed_bfloat16` sets the dtype policy.

Usage: KERAS_BACKEND=jax .venv/bin/python benchmarks/pretrain_throughput.py [--rounds 3]
       .venv/bin/python benchmarks/pretrain_throughput.py --logical-devices 2 --distribution mirrored
"""

import argparse
import inspect
import json
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_ssl  # noqa: E402
from keras_ssl import augment, data, encoders, heads  # noqa: E402
from keras_ssl.callbacks import StopOnNaN  # noqa: E402
from keras_ssl.distribution import replica_count, training_scope  # noqa: E402

TARGET_RATIO = 0.45
DEFAULT_VIEW_BATCHING = inspect.signature(keras_ssl.SimCLR).parameters["view_batching"].default


class NoGuard(StopOnNaN):
    """Stands in for the NaN guard that `fit` adds, and checks nothing."""

    def on_train_batch_end(self, batch, logs=None):
        pass


class SyncGuard(StopOnNaN):
    """`StopOnNaN` as it was: Keras runs it on the main thread, which waits for every step."""

    async_safe = False


def bare_run(images, steps):
    """A function running `steps` steps of the bare encoder on `images` repeated."""
    keras.utils.set_random_seed(0)
    bare = encoders.mobilenet_v2(input_shape=images.shape[1:], alpha=1.0)
    bare.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss=lambda _, features: keras.ops.mean(features)
    )
    targets = np.zeros((len(images), 1), "float32")
    dataset = tf.data.Dataset.from_tensors((images, targets)).repeat()
    return lambda: bare.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)


def simclr_run(images, batch_size, view_batching, source, guard=None):
    """A function running one epoch of SimCLR (MobileNetV2, simclr_augment) on `images`."""
    keras.utils.set_random_seed(0)
    model = keras_ssl.SimCLR(
        encoders.mobilenet_v2(input_shape=images.shape[1:], alpha=1.0),
        heads.projection_head(256, 128),
        augment.simclr_augment(images.shape[1], seed=0),
        view_batching=view_batching,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    callbacks = [] if guard is None else [guard()]
    if source == "tfdata":
        dataset = data.pretraining_pipeline(data.ImageSet(images=images), batch_size, seed=0)
        return lambda: model.fit(dataset, epochs=1, verbose=0, callbacks=callbacks)
    return lambda: model.fit(
        images, batch_size=batch_size, epochs=1, verbose=0, callbacks=callbacks
    )


def seconds(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=4, help="steps per timed fit call")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timed rounds")
    parser.add_argument("--view-batching", nargs="+", default=["joint", "separate"])
    parser.add_argument("--distribution", default="none", help="none or mirrored")
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--logical-devices", type=int, default=1, help="split the CPU (TF)")
    args = parser.parse_args()
    if args.logical_devices > 1 and keras.backend.backend() == "tensorflow":
        cpu = tf.config.list_physical_devices("CPU")[0]
        logical = [tf.config.LogicalDeviceConfiguration()] * args.logical_devices
        tf.config.set_logical_device_configuration(cpu, logical)
    with training_scope(args.distribution, args.precision):
        result = measure(args)
    result.update(
        distribution=args.distribution,
        replicas=replica_count(args.distribution),
        precision=args.precision,
    )
    print(json.dumps(result))


def measure(args) -> dict:
    """Compiles every configuration, times them in rounds; the result as a dict."""

    size, steps = args.batch_size, args.steps
    shape = (args.image_size, args.image_size, 3)
    images = np.random.default_rng(0).integers(0, 256, (size * steps, *shape), "uint8")
    load_before = os.getloadavg()[0]

    # name -> (images per step, a function running `steps` steps)
    runs = {
        "bare": (size, bare_run(images[:size], steps)),
        "bare_2n": (2 * size, bare_run(images[: 2 * size], steps)),
    }
    for mode in args.view_batching:
        for source in ("tfdata", "numpy"):
            runs[f"simclr_{mode}_{source}"] = (size, simclr_run(images, size, mode, source))
    if DEFAULT_VIEW_BATCHING in args.view_batching:
        for name, guard in (("no_guard", NoGuard), ("sync_guard", SyncGuard)):
            run = simclr_run(images, size, DEFAULT_VIEW_BATCHING, "numpy", guard)
            runs[f"simclr_{DEFAULT_VIEW_BATCHING}_numpy_{name}"] = (size, run)

    compile_seconds = {name: seconds(run) for name, (_, run) in runs.items()}
    timings = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, (_, run) in runs.items():
            timings[name].append(seconds(run))
    rate = {
        name: count * steps / statistics.median(timings[name]) for name, (count, _) in runs.items()
    }

    result = {
        "benchmark": "pretrain_throughput",
        "encoder": "mobilenet_v2 alpha=1.0",
        "image_size": args.image_size,
        "batch_size": size,
        "steps": steps,
        "rounds": args.rounds,
        "bare_images_per_s": round(rate["bare"], 1),
        "bare_2n_images_per_s": round(rate["bare_2n"], 1),
    }
    for mode in args.view_batching:
        views_rate = (rate["bare_2n"] if mode == "joint" else rate["bare"]) / 2
        for source in ("tfdata", "numpy"):
            key = f"simclr_{mode}_{source}"
            result[f"{key}_images_per_s"] = round(rate[key], 1)
            result[f"{key}_ratio"] = round(rate[key] / rate["bare"], 3)
            result[f"{key}_overhead"] = round(1 - rate[key] / views_rate, 3)
    if DEFAULT_VIEW_BATCHING in args.view_batching:
        key = f"simclr_{DEFAULT_VIEW_BATCHING}_numpy"
        result["nan_guard_cost"] = round(1 - rate[key] / rate[f"{key}_no_guard"], 3)
        result["nan_guard_cost_sync"] = round(
            1 - rate[f"{key}_sync_guard"] / rate[f"{key}_no_guard"], 3
        )
        ratios = [result[f"simclr_{DEFAULT_VIEW_BATCHING}_{s}_ratio"] for s in ("tfdata", "numpy")]
        result.update(
            default_view_batching=DEFAULT_VIEW_BATCHING,
            target_ratio=TARGET_RATIO,
            met=min(ratios) >= TARGET_RATIO,
        )
    result.update(
        compile_seconds={name: round(s, 1) for name, s in compile_seconds.items()},
        load_average=[round(load_before, 1), round(os.getloadavg()[0], 1)],
        backend=keras.backend.backend(),
        device=keras.distribution.list_devices()[0],
        cpus=os.cpu_count(),
        machine=platform.machine(),
    )
    return result


if __name__ == "__main__":
    main()
