"""Throughput of the pretraining input pipeline on the shared CIFAR-10 zip (50,000 JPEGs).

Prints one JSON line: images/s when loading (listing the zip and decoding every file
once to find corrupt ones), in the first pass of `pretraining_pipeline` (reading from
the zip and decoding), and the mean of the cached passes after it, with the targets of
issue 3 and whether they are met:

- first pass (decoding) >= 2,000 images/s;
- cached passes >= 10 x the images/s a SimCLR MobileNetV2 step at 32x32 consumes on
  this machine, measured in this process (or given with --step-images-per-s), so
  input is never the bottleneck.

Usage: .venv/bin/python benchmarks/input_pipeline.py [--data PATH] [--batch-size 256]
       [--step-images-per-s N]
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_ssl.data import load_image_folder, pretraining_pipeline  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10-train.zip"
DECODE_TARGET = 2_000  # images/s
CACHED_FACTOR = 10  # x the images/s of a SimCLR MobileNetV2 step


def simclr_step_images_per_s(batch_size: int) -> float:
    """Images/s of a SimCLR MobileNetV2 step at 32x32 (see pretrain_throughput.py)."""
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from pretrain_throughput import measure, simclr_mobilenet_v2

    images = np.random.default_rng(0).integers(0, 256, (batch_size, 32, 32, 3)).astype("uint8")
    return measure(simclr_mobilenet_v2(32), images, batch_size, steps=4, warmup=1)[0]


def images_per_second(dataset) -> tuple[float, int]:
    start, count = time.perf_counter(), 0
    for batch in dataset:
        count += int(batch.shape[0])
    return count / (time.perf_counter() - start), count


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DATA), help="a folder or zip of images")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--cached-passes", type=int, default=3)
    parser.add_argument(
        "--step-images-per-s",
        type=float,
        default=None,
        help="images/s of a SimCLR MobileNetV2 step; measured here when not given",
    )
    args = parser.parse_args()
    step_rate = args.step_images_per_s or simclr_step_images_per_s(args.batch_size)
    cached_target = CACHED_FACTOR * step_rate

    start = time.perf_counter()
    imageset = load_image_folder(args.data)
    load_seconds = time.perf_counter() - start

    dataset = pretraining_pipeline(imageset, args.batch_size, cache=True, seed=0)
    first, images = images_per_second(dataset)
    cached = [images_per_second(dataset)[0] for _ in range(args.cached_passes)]
    cached_mean = sum(cached) / len(cached)
    print(
        json.dumps(
            {
                "benchmark": "input_pipeline",
                "data": args.data,
                "images": len(imageset),
                "images_per_pass": images,
                "batch_size": args.batch_size,
                "load_seconds": round(load_seconds, 2),
                "load_images_per_s": round(len(imageset) / load_seconds),
                "first_pass_images_per_s": round(first),
                "cached_images_per_s": round(cached_mean),
                "cached_passes": [round(c) for c in cached],
                "simclr_step_images_per_s": round(step_rate, 1),
                "targets": {"first_pass": DECODE_TARGET, "cached": round(cached_target)},
                "met": {
                    "first_pass": first >= DECODE_TARGET,
                    "cached": cached_mean >= cached_target,
                },
                "cpus": os.cpu_count(),
                "machine": platform.machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
