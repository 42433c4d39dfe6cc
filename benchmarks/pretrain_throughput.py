"""Throughput of a SimCLR training step against the encoder's bare forward + backward pass.

Prints one JSON line. Both are measured in one process, on the same batch (MobileNetV2
alpha 1.0 at 32x32, batch 256, Adam), through `model.fit`:

- `bare`: the encoder alone, forward + backward on 256 images, with a trivial loss on
  its features;
- `simclr`: `keras_ssl.SimCLR` with `simclr_augment(32)`: two augmented views per
  image (512 encoder passes), projection head and NT-Xent.

Images/s counts the 256 source images of a step. Two views cost twice the encoder work,
so 0.5 is the nominal ceiling of `ratio` = simclr / bare; the target is >= 0.45
(augmentation and loss add at most 10 %). On a CPU the encoder runs a batch of 512 views
more efficiently per image than one of 256, so `ratio` can pass 0.5; `bare_2n` (the bare
encoder on 512 images) gives the exact ceiling, and `overhead` = 1 - simclr / (bare_2n / 2)
is the share of a SimCLR step spent outside the encoder (augmentation, projection, loss).
`first_step_seconds` is the wall time from `fit` to the end of the first step (graph
tracing included).

Usage: .venv/bin/python benchmarks/pretrain_throughput.py [--batch-size 256] [--steps 8]
"""

import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_ssl  # noqa: E402
from keras_ssl import augment, encoders, heads  # noqa: E402

TARGET_RATIO = 0.45


class StepTimer(keras.callbacks.Callback):
    """Records the wall time at the end of every training step."""

    def on_train_begin(self, logs=None):
        self.start, self.ends = time.perf_counter(), []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())


def measure(model, batch, batch_size, steps, warmup):
    """(images/s over the steps after `warmup`, seconds to the first finished step)."""
    timer = StepTimer()
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    model.fit(dataset, steps_per_epoch=warmup + steps, epochs=1, verbose=0, callbacks=[timer])
    timed = timer.ends[warmup - 1 :]
    seconds_per_step = (timed[-1] - timed[0]) / (len(timed) - 1)
    return batch_size / seconds_per_step, timer.ends[0] - timer.start


def simclr_mobilenet_v2(image_size: int) -> keras_ssl.SimCLR:
    """The benchmarked model: SimCLR, MobileNetV2 alpha 1.0, simclr_augment, Adam 1e-3."""
    model = keras_ssl.SimCLR(
        encoders.mobilenet_v2(input_shape=(image_size, image_size, 3), alpha=1.0),
        heads.projection_head(256, 128),
        augment.simclr_augment(image_size, seed=0),
        temperature=0.1,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps after the first")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    shape = (args.image_size, args.image_size, 3)
    images = rng.integers(0, 256, (args.batch_size, *shape)).astype("uint8")

    keras.utils.set_random_seed(0)
    bare = encoders.mobilenet_v2(input_shape=shape, alpha=1.0)
    bare.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss=lambda _, features: keras.ops.mean(features)
    )
    targets = np.zeros((args.batch_size, 1), "float32")
    bare_rate, bare_first = measure(
        bare, (images, targets), args.batch_size, args.steps, args.warmup
    )
    # The same encoder on a batch of 2N images: what SimCLR's two views cost at best.
    views, view_targets = np.concatenate([images, images]), np.concatenate([targets, targets])
    bare_2n_rate, _ = measure(
        bare, (views, view_targets), 2 * args.batch_size, args.steps, args.warmup
    )

    keras.utils.set_random_seed(0)
    simclr = simclr_mobilenet_v2(args.image_size)
    simclr_rate, simclr_first = measure(simclr, images, args.batch_size, args.steps, args.warmup)

    ratio = simclr_rate / bare_rate
    print(
        json.dumps(
            {
                "benchmark": "pretrain_throughput",
                "encoder": "mobilenet_v2 alpha=1.0",
                "image_size": args.image_size,
                "batch_size": args.batch_size,
                "timed_steps": args.steps,
                "bare_images_per_s": round(bare_rate, 1),
                "simclr_images_per_s": round(simclr_rate, 1),
                "ratio": round(ratio, 3),
                "bare_2n_images_per_s": round(bare_2n_rate, 1),
                "overhead": round(1 - simclr_rate / (bare_2n_rate / 2), 3),
                "target_ratio": TARGET_RATIO,
                "met": ratio >= TARGET_RATIO,
                "bare_first_step_seconds": round(bare_first, 1),
                "simclr_first_step_seconds": round(simclr_first, 1),
                "backend": keras.backend.backend(),
                "cpus": os.cpu_count(),
                "machine": platform.machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
