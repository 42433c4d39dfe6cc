"""The measurements behind a `cpu-small` profile of the rotation report (001), end to end.

The study (report 001, §3-§5, on 40 Tiny ImageNet classes; 2-core CPU, <= 30 min):

1. Split. Tiny ImageNet's train (500 a class) and val (50 a class) folders are pooled
   (22,000 labelled images) and split once, class-balanced and seeded
   (`keras_ssl.data.train_val_test_split`), into train / validation / held-out test
   (default test 0.2, val 0.1: 15,400 / 2,200 / 4,400; per downstream class
   385 / 55 / 110). The test images are scored once, at the end.
2. Pretext. `keras_ssl.RotationPrediction` (4 rotations, `--mode random` draws one
   per image as in the report, `all` uses all four) on the TRAIN images of all 40
   classes, unlabeled; encoder `keras_ssl.encoders.mobilenet_v2(weights=None)`;
   augmentation `keras_ssl.augment.get("rotation")` (horizontal flip, zoom 10 %,
   contrast 10 %, the report's §4.1); Adam 1e-3, batch 32 (§5.2); early stopping on
   the validation images' rotation accuracy (restoring the best weights), learning
   rate x0.5 when the validation loss plateaus (2 epochs).
3. Downstream. Goose (n01855672) vs goldfish (n01443537), the report's Duck vs Fish,
   with their images in each split only. Classifier = encoder (global average
   pooling inside) -> Dense 128 ReLU -> Dense 2 softmax (§4.1), built from
   `keras_ssl.heads.classification_head(2, dropout=0, hidden_dims=(128,))`:
   `keras_ssl.finetune.finetune` cannot build this head (its recipes have no hidden
   layer field), so the classifier is compiled and fitted here with Keras' own
   callbacks. Adam 1e-3, batch 32, <= 40 epochs, early stopping on validation
   accuracy restoring the best weights, LR x0.5 on a validation-loss plateau, the same
   rotation augmentation in the model while training. Three runs, identical settings:
   the pretrained encoder fine-tuned whole (the report), the pretrained encoder frozen,
   and the same architecture from random initialisation (the baseline).

Images are resized once, up front, to `--image-size` (antialiased bilinear); decoding
the archive takes about 25 s, and is cached in `--cache` (outside the repository).

Prints one JSON line per stage and writes the whole result to `--out`.

Usage (from the repository root):
    .venv/bin/python benchmarks/rotation_cpu_small_options.py \\
        --data ../shared/data/tiny-imagenet-200-40class.zip --image-size 32 --alpha 0.35 \\
        --pretext-epochs 10 --pretext-patience 3 --mode random --batch-size 32

Measured (2-core shared CPU, TensorFlow 2.21 / Keras 3.15; timings noisy): see the table
below, filled in from the run this profile is based on.

Run 1, defaults above (--image-size 32 --alpha 0.35 --mode random --batch-size 32,
--pretext-epochs 10 --pretext-patience 3; split 15,400 / 2,200 / 4,400, downstream
770 / 110 / 220). NOTE: for its last ~5 minutes a second copy of this run shared the
2 cores (and other users' jobs did throughout: load average 2-8), so the wall times
are upper bounds.

    pretext epoch           1      2      3      4      5      6
    val rotation acc.   0.235  0.246  0.253  0.249  0.249  0.246   (chance 0.25)
    train loss          1.408  1.387  1.387  1.388  1.386  1.386   (ln 4 = 1.386)
    seconds              82     85     73     48    100     65
    -> stopped after 6 (best epoch 3), LR halved after epoch 4; 461 s in all.

    downstream (goose vs goldfish)  epochs (best)  best val acc  test acc (n=220) +- SE  s
    pretrained, fine-tuned whole        14 (6)        0.627        0.641 +- 0.032      205
    pretrained, encoder frozen          11 (3)        0.573        0.568 +- 0.033       60
    from scratch (same settings)        14 (6)        0.536        0.596 +- 0.033      152

    total 893 s (14.9 min) including 3.5 s loading from the cache (first decode of the
    zip, train + val: ~25 s).

Run 2, same settings with --pretext-epochs 6 (it also stopped after 6), started while run
1 was in its pretext, so its first ~4.5 minutes were shared and the rest ran alone:
every accuracy above repeated exactly (seeded, deterministic); pretext 354 s (epochs
107 / 57 / 52 / 42 / 36 / 47 s), downstream 68 s (fine-tuned), 15 s (frozen), 71 s
(scratch), load 8 s, total 518 s (8.6 min). Unshared, the whole study takes about 8-9
minutes at these settings; epochs 4-6 (~40 s each) are the unshared pretext rate.

Reading: the rotation pretext never left chance (loss stays at ln 4, training accuracy
too), so the "pretrained" encoder is a random MobileNetV2 whose BatchNorm statistics
were adapted; pretrained - scratch = +4.5 points with a standard error of the
difference of ~4.6 points: no evidence of transfer. Side checks on 1,600 images, 3
epochs (no augmentation): MobileNetV2 alpha 0.35 at 32x32 stays at 26-27 % with and
without `cifar_stem`; `keras_ssl.encoders.small_cnn` reaches 35 % (the task and
`RotationPrediction` do learn). Probe (steps/s after warm-up, batch 32, mode random):
32x32 alpha 0.35 ~270 img/s; 64x64 alpha 0.35 ~59 img/s; 64x64 "all" ~18 img/s
(of originals); 64x64 alpha 1.0 ~23 img/s: only 32x32 alpha 0.35 fits several pretext
epochs over 15,400 images in 30 minutes.

Run 3 (--lr 0.003 --batch-size 128 --pretext-epochs 6, stopped by hand after 4 epochs):
val rotation accuracy 0.245 / 0.257 / 0.251 / 0.249, training loss 1.446 -> 1.3865: a
larger rate and batch do not get MobileNetV2 at 32x32 off chance either. The shipped
`cpu-small` profile therefore pretrains `small_cnn` (width 32, depth 3), which learns the
task (val rotation accuracy 0.39 -> 0.53 in 15 epochs; see the README).

This script predates `FinetuneConfig.hidden_dims`: the experiment file
(`rotation-tiny-imagenet.yaml`) now builds the report's head through the recipes.
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's keras_ssl

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_ssl  # noqa: E402
from keras_ssl import augment, data, encoders, finetune, heads  # noqa: E402

DEFAULT_ZIP = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "tiny-imagenet-200-40class.zip"
)
GOLDFISH, GOOSE = "n01443537", "n01855672"


def load_pooled(path, cache):
    """Train and val folders pooled: (uint8 images [N, 64, 64, 3], labels, class names)."""
    cache = Path(cache)
    if not cache.exists():
        train = data.load(path, split="train").to_memory()
        val = data.load(path, split="val").to_memory()
        if list(train.class_names) != list(val.class_names):
            raise ValueError("train and val folders name different classes")
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            cache,
            images=np.concatenate([train.images, val.images]),
            labels=np.concatenate([train.labels, val.labels]),
            names=np.array(train.class_names),
        )
    with np.load(cache) as arrays:
        return arrays["images"], arrays["labels"], [str(n) for n in arrays["names"]]


def resize(images, size):
    """uint8 images resized to size x size (antialiased bilinear), in batches."""
    if images.shape[1] == size:
        return images
    out = [
        np.asarray(keras.ops.image.resize(images[i : i + 2000], (size, size), antialias=True))
        for i in range(0, len(images), 2000)
    ]
    return np.clip(np.round(np.concatenate(out)), 0, 255).astype("uint8")


class EpochLog(keras.callbacks.Callback):
    """Keeps every epoch's logs (rounded) and wall time, and prints them as they come."""

    def __init__(self, tag):
        super().__init__()
        self.tag, self.rows = tag, []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, "seconds": round(time.perf_counter() - self.start, 1)}
        row.update({k: round(float(v), 4) for k, v in (logs or {}).items()})
        self.rows.append(row)
        print(json.dumps({self.tag: row}), flush=True)


def build_encoder(args):
    return encoders.mobilenet_v2(
        (args.image_size, args.image_size, 3), alpha=args.alpha, weights=None
    )


def pretext(args, x_train, x_val):
    """Rotation pretraining; returns (encoder, per-epoch rows, summary)."""
    start = time.perf_counter()
    keras.utils.set_random_seed(args.seed)
    encoder = build_encoder(args)
    model = keras_ssl.RotationPrediction(
        encoder, augment=augment.get("rotation", seed=args.seed), mode=args.mode, seed=args.seed
    )
    model.compile(optimizer=keras.optimizers.Adam(args.lr))
    log = EpochLog("pretext")
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_rotation_accuracy", mode="max", patience=args.pretext_patience,
            restore_best_weights=True,
        ),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2),
        log,
    ]  # fmt: skip
    model.fit(
        x_train, batch_size=args.batch_size, epochs=args.pretext_epochs,
        validation_data=x_val, callbacks=callbacks, verbose=0,
    )  # fmt: skip
    accuracies = [row["val_rotation_accuracy"] for row in log.rows]
    summary = {
        "epochs_run": len(log.rows),
        "best_epoch": int(np.argmax(accuracies)) + 1,
        "best_val_rotation_accuracy": max(accuracies),
        "seconds": round(time.perf_counter() - start, 1),
    }
    return encoder, log.rows, summary


def downstream(args, encoder, tag, train, val, test, frozen=False):
    """Encoder -> Dense 128 ReLU -> Dense 2 softmax, trained with early stopping; test scored once."""
    start = time.perf_counter()
    keras.utils.set_random_seed(args.seed)
    inputs = keras.Input((args.image_size, args.image_size, 3), name="images")
    x = inputs
    if args.downstream_augment:
        x = augment.get("rotation", seed=args.seed)(x)
    encoder.trainable = not frozen
    features = encoder(x, training=False) if frozen else encoder(x)
    outputs = heads.classification_head(2, dropout=0.0, hidden_dims=(128,))(features)
    model = keras.Model(inputs, outputs, name=f"{tag}_classifier")
    model.compile(
        optimizer=keras.optimizers.Adam(args.lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    log = EpochLog(tag)
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_accuracy", mode="max", patience=args.downstream_patience,
            restore_best_weights=True,
        ),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2),
        log,
    ]  # fmt: skip
    model.fit(
        *train, batch_size=args.batch_size, epochs=args.downstream_epochs,
        validation_data=val, callbacks=callbacks, verbose=0,
    )  # fmt: skip
    val_acc = [row["val_accuracy"] for row in log.rows]
    test_loss, test_acc = model.evaluate(*test, batch_size=256, verbose=0)
    n = len(test[1])
    return {
        "epochs_run": len(log.rows),
        "best_epoch": int(np.argmax(val_acc)) + 1,
        "best_val_accuracy": max(val_acc),
        "test_accuracy": round(float(test_acc), 4),
        "test_n": n,
        "test_standard_error": round(math.sqrt(test_acc * (1 - test_acc) / n), 4),
        "seconds": round(time.perf_counter() - start, 1),
        "epochs": log.rows,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--data", default=str(DEFAULT_ZIP), help="tiny-imagenet-200 zip or folder")
    add("--cache", default="/tmp/keras_ssl_rotation_options/tiny40_pooled_uint8.npz")
    add("--image-size", type=int, default=32)
    add("--alpha", type=float, default=0.35)
    add("--mode", choices=["random", "all"], default="random")
    add("--pretext-epochs", type=int, default=10)
    add("--pretext-patience", type=int, default=3)
    add("--batch-size", type=int, default=32)
    add("--lr", type=float, default=1e-3)
    add("--downstream-epochs", type=int, default=40)
    add("--downstream-patience", type=int, default=8)
    add("--no-downstream-augment", dest="downstream_augment", action="store_false")
    add("--runs", default="pretrained,frozen,scratch", help="downstream runs, comma-separated")
    add("--test", type=float, default=0.2)
    add("--val", type=float, default=0.1)
    add("--limit", type=int, default=None, help="smoke test: first N pretext train images only")
    add("--seed", type=int, default=0)
    add("--out", default="/tmp/keras_ssl_rotation_options/result.json")
    args = parser.parse_args()

    total_start = time.perf_counter()
    result = {
        "options": vars(args),
        "keras_ssl": keras_ssl.__file__,
        "backend": keras.backend.backend(),
    }
    images, labels, names = load_pooled(args.data, args.cache)
    images = resize(images, args.image_size)
    split = data.train_val_test_split(labels, val=args.val, test=args.test, seed=args.seed)
    result["load_seconds"] = round(time.perf_counter() - total_start, 1)
    result["split_sizes"] = {k: len(v) for k, v in split.items()}
    print(json.dumps({k: result[k] for k in ("load_seconds", "split_sizes")}), flush=True)

    pre_train = images[split["train"]][: args.limit]
    encoder, rows, summary = pretext(args, pre_train, images[split["val"]])
    result["pretext"] = {**summary, "epochs": rows}
    print(json.dumps({"pretext_summary": summary}), flush=True)

    classes = [names.index(GOLDFISH), names.index(GOOSE)]  # class 0: goldfish, 1: goose

    def two_class(indices):
        keep = indices[np.isin(labels[indices], classes)]
        return images[keep], (labels[keep] == classes[1]).astype("int32")

    train, val, test = (two_class(split[name]) for name in ("train", "val", "test"))
    result["downstream_sizes"] = {"train": len(train[1]), "val": len(val[1]), "test": len(test[1])}
    for tag in args.runs.split(","):
        if tag == "scratch":
            keras.utils.set_random_seed(args.seed + 1)
            start_encoder = build_encoder(args)
        else:
            start_encoder = finetune.copy_encoder(encoder)
        out = downstream(args, start_encoder, tag, train, val, test, frozen=tag == "frozen")
        result[tag] = out
        print(json.dumps({tag: {k: v for k, v in out.items() if k != "epochs"}}), flush=True)

    result["total_seconds"] = round(time.perf_counter() - total_start, 1)
    print(json.dumps({"total_seconds": result["total_seconds"]}), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
