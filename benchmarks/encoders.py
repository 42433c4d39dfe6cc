"""Every registered encoder of the seeds at 32×32 and 96×96: size, FLOPs and training speed.

For each encoder and image size, printed as one JSON line and then a Markdown table:

- `parameters`: trainable parameters of the encoder (no head);
- `gflops`: forward FLOPs per image (multiply-adds counted twice), from TensorFlow's
  graph profiler on the encoder's forward pass;
- `first_step_s`: seconds from calling `fit` to the end of the first step (tracing
  the training graph included): what a user waits before the first progress-bar tick;
- `images_per_s`: forward + backward throughput of a training step (the encoder, a
  10-class Dense head, cross-entropy, SGD) on a batch of `--batch-size` random images,
  median of `--rounds` timed `fit` calls of `--steps` steps after the first;
- `achieved_gflops`: images/s × 3 × forward FLOPs (a backward pass costs about twice the
  forward), the arithmetic rate the CPU sustains for this network.

Networks whose achieved rate is far below the others' spend their time in operations
that do little arithmetic per byte moved: depthwise convolutions (MobileNetV2,
EfficientNet-B0), small attention matrices and LayerNorm / reshapes (ViT, PiT at 32 px).

Usage (from the repository root; TensorFlow backend, for the FLOP count):
    .venv/bin/python benchmarks/encoders.py [--encoders resnet18,vit_small] [--sizes 32,96]
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_ssl import encoders  # noqa: E402

# The seeds' encoders, each with the arguments that make it the papers' network.
ENCODERS = {
    "resnet18": {},  # CIFAR stem (SimSiam 004)
    "resnet50": {},  # SimCLR on Pets (002)
    "efficientnet_b0": {},  # SimSiam 004
    "vit_small": {"patch_size": 16},  # ViT-S/16 (DINO 003, SimSiam 004)
    "vit_small/8": {"patch_size": 8},  # ViT-S/8 (DINO 003)
    "pit_tiny": {},  # SimSiam 004
    "mobilenet_v2": {},  # the Umeå and rotation reports (000, 001)
}


class FirstStepTimer(keras.callbacks.Callback):
    """Seconds from `on_train_begin` to the end of the first batch."""

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()
        self.first_step = None

    def on_train_batch_end(self, batch, logs=None):
        if self.first_step is None:
            self.first_step = time.perf_counter() - self.start


def build(name: str, size: int) -> keras.Model:
    registered = name.split("/")[0]
    return encoders.get(registered, input_shape=(size, size, 3), **ENCODERS[name])


def forward_gflops(encoder: keras.Model, size: int) -> float:
    """Forward FLOPs of one image, counted by TensorFlow's profiler on the frozen graph."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    function = tf.function(lambda x: encoder(x, training=False))
    concrete = function.get_concrete_function(tf.TensorSpec((1, size, size, 3), tf.float32))
    graph = convert_variables_to_constants_v2(concrete).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = tf.compat.v1.profiler.profile(graph, options=options)
    return profile.total_float_ops / 1e9


def training_speed(encoder: keras.Model, size: int, args) -> tuple[float, float]:
    """(seconds to the first finished step, median images/s of the following steps)."""
    model = keras.Sequential([encoder, keras.layers.Dense(10)])
    model.compile(
        optimizer=keras.optimizers.SGD(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.batch_size, size, size, 3)).astype("float32")
    labels = rng.integers(0, 10, args.batch_size)
    dataset = tf.data.Dataset.from_tensors((images, labels)).repeat()
    timer = FirstStepTimer()
    model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0, callbacks=[timer])
    rates = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        model.fit(dataset, steps_per_epoch=args.steps, epochs=1, verbose=0)
        rates.append(args.steps * args.batch_size / (time.perf_counter() - start))
    return timer.first_step, statistics.median(rates)


def measure(name: str, size: int, args) -> dict:
    keras.utils.set_random_seed(0)
    encoder = build(name, size)
    parameters = sum(int(np.prod(w.shape)) for w in encoder.trainable_weights)
    gflops = forward_gflops(encoder, size)
    first_step, rate = training_speed(encoder, size, args)
    return {
        "encoder": name,
        "image_size": size,
        "parameters": parameters,
        "gflops": round(gflops, 3),
        "first_step_s": round(first_step, 1),
        "images_per_s": round(rate, 1),
        "achieved_gflops": round(rate * 3 * gflops, 1),
        "batch_size": args.batch_size,
        "load_average": round(os.getloadavg()[0], 2),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoders", default=",".join(ENCODERS))
    parser.add_argument("--sizes", default="32,96")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default="/tmp/keras_ssl_benchmarks/encoders.json")
    args = parser.parse_args()
    rows = []
    for name in args.encoders.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            row = measure(name, size, args)
            print(json.dumps(row), flush=True)
            rows.append(row)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"settings": vars(args), "rows": rows}, f, indent=1)
    print("\n| encoder | px | parameters | GFLOPs/img | first step (s) | images/s | GFLOP/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['encoder']} | {r['image_size']} | {r['parameters']:,} | {r['gflops']} "
            f"| {r['first_step_s']} | {r['images_per_s']} | {r['achieved_gflops']} |"
        )


if __name__ == "__main__":
    main()
