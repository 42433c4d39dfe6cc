"""The measurements behind the Umeå `cpu-small` profile: pretraining options, on validation.

Issue 13 asked the 30-minute CPU budget to go where it buys most, chosen on a
validation split, with the from-scratch baseline tuned as much as the pretrained
side. One run of this script prints JSON lines:

- `--scratch`: the from-scratch baseline (the same MobileNetV2 re-initialised, every
  layer trained, `finetune.supervised_baseline`) at 1 % and 10 % of the labels, for
  each learning rate of `--scratch-lrs`, at most 15 epochs of at least 20 steps;
- then SimCLR pretraining with the given options and, after the epochs of `--at`
  (and before any, "epoch0"), the quality of the frozen encoder's features at 1 % and
  10 % of the labels: a weighted kNN (k = 20, cosine, as in `keras_ssl.evaluate`) and a
  logistic regression on standardised features (best of C in 0.01, 0.1, 1).

Every accuracy is on a validation split of 1,000 images; 10,000 further images are
split off and never used, so that a later test on them stays clean. The pool of
`--pool` training images (unlabeled for SimCLR) is the source of the label fractions.

Usage:
    .venv/bin/python benchmarks/umea_cpu_small_options.py --alpha 0.35 --lr 1e-2 \\
        --crop-min 0.2 --epochs 8 --at 1,2,4,6,8 [--scratch]
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import keras_ssl  # noqa: E402
from keras_ssl import augment, data, encoders, evaluate, finetune, heads  # noqa: E402

CIFAR_ZIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-train.zip"
CACHE = Path("/tmp/keras_ssl_umea_options/cifar10_train_uint8.npz")  # outside the repo
FRACTIONS = (0.01, 0.1)


def load_cifar():
    """All 50,000 training images and labels, decoded once and cached outside the repo."""
    if not CACHE.exists():
        imageset = data.load(CIFAR_ZIP).to_memory()
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        np.savez(CACHE, images=imageset.images, labels=imageset.labels)
    with np.load(CACHE) as arrays:
        return arrays["images"], arrays["labels"]


def splits(images, labels, pool_size):
    """(pool images, pool labels, val images, val labels, label-fraction indices)."""
    split = data.train_val_test_split(labels, val=1_000, test=10_000, seed=0)
    pool = np.random.default_rng(0).permutation(split["train"])[:pool_size]
    x, y = images[pool], labels[pool]
    fractions = {f: data.label_fraction(y, f, seed=0) for f in FRACTIONS}
    return x, y, images[split["val"]], labels[split["val"]], fractions


def views(args):
    """SimCLR's views with crops of `crop_min`-100 % of the area, or crops and flips only."""
    crop = augment.RandomResizedCrop(
        32, 32, scale=(args.crop_min, 1.0), horizontal_flip=True, seed=0
    )
    if args.views == "crop":
        return augment.AugmentPipeline([crop])
    return augment.simclr_augment(
        32, jitter_strength=args.jitter, seed=0, crop_scale=(args.crop_min, 1.0)
    )


def feature_quality(encoder, x, y, val_x, val_y, fractions):
    """kNN and logistic-regression accuracy of frozen features, per label fraction."""
    val_features = encoder.predict(val_x, batch_size=500, verbose=0)
    out = {}
    for fraction, idx in fractions.items():
        features = encoder.predict(x[idx], batch_size=500, verbose=0)
        knn = evaluate.knn_accuracy(features, y[idx], val_features, val_y, k=min(20, len(idx)))
        scaler = StandardScaler().fit(features)
        logreg = max(
            LogisticRegression(C=c, max_iter=2000)
            .fit(scaler.transform(features), y[idx])
            .score(scaler.transform(val_features), val_y)
            for c in (0.01, 0.1, 1.0)
        )
        out[str(fraction)] = {"knn": round(float(knn), 3), "logreg": round(float(logreg), 3)}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--alpha", type=float, default=0.35)
    add("--cifar-stem", action="store_true")
    add("--epochs", type=int, default=8)
    add("--at", default="1,2,4,6,8", help="epochs after which features are probed")
    add("--pool", type=int, default=8_000)
    add("--temperature", type=float, default=0.5)
    add("--views", choices=["simclr", "crop"], default="simclr")
    add("--crop-min", type=float, default=0.08)
    add("--jitter", type=float, default=0.5)
    add("--batch-size", type=int, default=256)
    add("--lr", type=float, default=1e-3)
    add("--scratch", action="store_true", help="also train the from-scratch baseline")
    add("--scratch-lrs", default="1e-3,3e-3")
    args = parser.parse_args()

    x, y, val_x, val_y, fractions = splits(*load_cifar(), args.pool)

    def build_encoder():
        return encoders.mobilenet_v2((32, 32, 3), alpha=args.alpha, cifar_stem=args.cifar_stem)

    result = {"options": vars(args)}
    if args.scratch:
        for fraction, idx in fractions.items():
            for lr in (float(v) for v in args.scratch_lrs.split(",")):
                start = time.perf_counter()
                baseline = finetune.supervised_baseline(
                    build_encoder, (x[idx], y[idx]), (val_x, val_y), 10, learning_rate=lr,
                    epochs=15, patience=5, min_steps_per_epoch=20, seed=0, verbose=0,
                )  # fmt: skip
                result[f"scratch {fraction} lr={lr:g}"] = {
                    "val_accuracy": round(baseline.accuracy, 3),
                    "best_epoch": baseline.best_epoch,
                    "seconds": round(time.perf_counter() - start),
                }
                print(json.dumps(result), flush=True)

    keras.utils.set_random_seed(0)
    encoder = build_encoder()
    model = keras_ssl.SimCLR(
        encoder, heads.projection_head(256, 128), views(args), temperature=args.temperature
    )
    model.compile(optimizer=keras.optimizers.Adam(args.lr))
    result["epoch0"] = feature_quality(encoder, x, y, val_x, val_y, fractions)
    print(json.dumps(result), flush=True)
    probe_after = {int(v) for v in args.at.split(",")}

    class Probe(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 in probe_after:
                quality = feature_quality(encoder, x, y, val_x, val_y, fractions)
                result[f"epoch{epoch + 1}"] = {"loss": round(logs["loss"], 3), **quality}
                print(json.dumps(result), flush=True)

    dataset = data.pretraining_pipeline(data.ImageSet(images=x), args.batch_size, seed=0)
    model.fit(dataset, epochs=args.epochs, verbose=2, callbacks=[Probe()])


if __name__ == "__main__":
    main()
