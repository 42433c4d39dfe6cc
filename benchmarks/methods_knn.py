"""Every registered pretext method with the same encoder, image size and wall-clock budget.

CIFAR-10 from the shared zip (JPEG copy) is split once, class-balanced and seeded,
40,000 / 10,000. Each method pretrains a fresh encoder on the 40,000 training images
(labels unused) for `--budget` seconds of `fit` (the first step's tracing included),
with the method's own default augmentation and arguments (DINO's head smaller and with
BatchNorm, see METHOD_ARGS); then the frozen encoder embeds both parts and a weighted
kNN (k = 200, T = 0.1, cosine: InstDisc's and lightly's convention,
`keras_ssl.evaluate.knn_accuracy`) classifies the 10,000 held-out images with the
40,000 labelled ones as memory bank. The same encoder with
random weights is the floor every method must beat; its BatchNorm moving statistics are
first adapted to the training images (a few batches in training mode, no weight
update), as pretraining adapts them, so that the floor is not an artefact of
statistics that never saw an image.

The encoder is `small_cnn` by default (`--encoder mobilenet_v2 --alpha 0.35` for the
report's): an untrained MobileNetV2 at 32×32 maps every image to nearly the same
vector in inference mode (per-dimension spread 1e-6 across images even after the
BatchNorm adaptation; its last map is 1×1), so its random floor is chance, 10 %.

Printed: one JSON line per method and a Markdown table: kNN top-1, pretraining images/s,
steps, the final collapse monitor (`representation_std`; about 1/sqrt(d) when healthy,
0 when collapsed) where the method logs it.

Usage (from the repository root):
    .venv/bin/python benchmarks/methods_knn.py --budget 300 \\
        --methods random,simclr,rotation,simsiam,byol,moco,dino
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_ssl import data, encoders, evaluate, pretext  # noqa: E402

CIFAR_ZIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-train.zip"
CACHE = Path("/tmp/keras_ssl_benchmarks/cifar10_train_uint8.npz")  # outside the repository


# DINO's paper head has 65,536 outputs: on this CPU that is 9 steps in 240 s. lightly's
# CIFAR-10 benchmark uses 2048 and BatchNorm in the head with its ResNet
# (`DINOProjectionHead(512, 2048, 256, 2048, batch_norm=True)`); so do we.
METHOD_ARGS = {"dino": {"output_dim": 2048, "head_batch_norm": True}}


class TimeBudget(keras.callbacks.Callback):
    """Stops `fit` after `seconds` of wall time (checked after every batch)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self.steps = 0

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


def load_split(max_train: int | None):
    """(train images, train labels, test images, test labels): 40,000 / 10,000, seeded."""
    if not CACHE.exists():
        imageset = data.load(CIFAR_ZIP).to_memory()
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        np.savez(CACHE, images=imageset.images, labels=imageset.labels)
    with np.load(CACHE) as arrays:
        images, labels = arrays["images"], arrays["labels"]
    split = data.train_val_test_split(labels, val=0, test=10_000, seed=0)
    train = split["train"] if max_train is None else split["train"][:max_train]
    return images[train], labels[train], images[split["test"]], labels[split["test"]]


def build_encoder(args):
    keras.utils.set_random_seed(0)
    kwargs = {"input_shape": (args.image_size, args.image_size, 3)}
    if args.encoder == "mobilenet_v2":
        kwargs["alpha"] = args.alpha
    return encoders.get(args.encoder, **kwargs)


def pretrain(method: str, encoder, images, args) -> dict:
    """`fit` for the budget; the images/s and the last logged metrics."""
    model = pretext.get(method, encoder, **json.loads(args.method_args).get(method, {}))
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    budget = TimeBudget(args.budget)
    dataset = data.pretraining_pipeline(data.ImageSet(images=images), args.batch_size, seed=0)
    start = time.perf_counter()
    history = model.fit(dataset, epochs=1000, callbacks=[budget], verbose=0)
    seconds = time.perf_counter() - start
    last = {key: float(values[-1]) for key, values in history.history.items()}
    return {
        "steps": budget.steps,
        "seconds": round(seconds, 1),
        "images_per_s": round(budget.steps * args.batch_size / seconds, 1),
        "representation_std": last.get("representation_std"),
        "final_loss": last.get("loss"),
    }


def adapt_batch_norm(encoder, images, batch_size: int, steps: int = 20) -> None:
    """Moves the BatchNorm moving statistics towards the images' (weights untouched)."""
    for start in range(0, min(len(images), steps * batch_size), batch_size):
        encoder(images[start : start + batch_size], training=True)


def knn(encoder, train, test, args) -> float:
    bank, _ = evaluate.compute_embeddings(encoder, train[0], verbose=0)
    queries, _ = evaluate.compute_embeddings(encoder, test[0], verbose=0)
    return evaluate.knn_accuracy(bank, train[1], queries, test[1], k=200, temperature=0.1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default="random," + ",".join(pretext.available()))
    parser.add_argument("--budget", type=float, default=300, help="seconds of fit per method")
    parser.add_argument("--encoder", default="small_cnn")
    parser.add_argument("--alpha", type=float, default=0.35)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--max-train", type=int, default=None, help="fewer training images")
    parser.add_argument(
        "--method-args",
        default=json.dumps(METHOD_ARGS),
        help="JSON: method -> arguments for keras_ssl.pretext.get (default: %(default)s)",
    )
    parser.add_argument("--out", default="/tmp/keras_ssl_benchmarks/methods_knn.json")
    args = parser.parse_args()
    x_train, y_train, x_test, y_test = load_split(args.max_train)
    rows = []
    for method in args.methods.split(","):
        encoder = build_encoder(args)
        row = {"method": method}
        if method == "random":
            adapt_batch_norm(encoder, x_train, args.batch_size)
        else:
            row.update(pretrain(method, encoder, x_train, args))
        row["knn_top1"] = round(knn(encoder, (x_train, y_train), (x_test, y_test), args), 4)
        print(json.dumps(row), flush=True)
        rows.append(row)
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"settings": settings, "rows": rows}, indent=1))
    print("\n| method | kNN top-1 (%) | images/s | steps | representation_std |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        std = row.get("representation_std")
        print(
            f"| {row['method']} | {100 * row['knn_top1']:.1f} | {row.get('images_per_s', '–')} "
            f"| {row.get('steps', '–')} | {'–' if std is None else f'{std:.3f}'} |"
        )


if __name__ == "__main__":
    main()
