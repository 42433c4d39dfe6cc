"""The `keras-ssl` command: reproduce the Umeå experiment, pretrain, fine-tune, evaluate.

```
keras-ssl reproduce umea --profile cpu-small --data ../shared/data/cifar10-train.zip
keras-ssl pretrain --data images.zip --encoder mobilenet_v2 --epochs 75 --output encoder.keras
keras-ssl finetune --encoder encoder.keras --data labeled.zip --fractions 0.01,0.1 --output ft/
keras-ssl evaluate --model ft/10pct/model.keras --data test.zip
```

Every argument, path, data layout, fraction, profile and method is checked before
anything trains; a bad one ends the command with one line naming it and exit
status 2. Long commands are resumable: run the same command again after a kill.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from collections.abc import Sequence

from keras_ssl.experiments import config as experiment_config
from keras_ssl.experiments.config import ConfigError
from keras_ssl.experiments.profiles import available_profiles

_FORMATTER = argparse.RawDescriptionHelpFormatter
_DATA_HELP = (
    "the images: a folder or .zip of <class>/<image> files, or a catalogue name "
    "(cifar10: TFDS, needs internet the first time; cifar10_keras: keras.datasets)"
)


def _fractions(text: str) -> tuple[float, ...]:
    """`0.01,0.1,1` or `1%,10%` -> sorted fractions in (0, 1]."""
    values = []
    for part in text.split(","):
        part = part.strip()
        try:
            values.append(float(part[:-1]) / 100 if part.endswith("%") else float(part))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not a number; give fractions in (0, 1] like 0.01,0.1,1.0 or 1%,10%"
            ) from None
    try:
        return experiment_config.check_fractions(values, name="--fractions")
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}")
    return value


def _split_size(text: str) -> int | float:
    message = f"expected a count (e.g. 10000) or a fraction in [0, 1) (e.g. 0.2); got {text!r}"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(message) from None
    if value >= 1 and value.is_integer():
        return int(value)
    if 0 <= value < 1:
        return value
    raise argparse.ArgumentTypeError(message)


def _top_k(text: str) -> tuple[int, ...]:
    return tuple(_positive_int(part) for part in text.split(","))


def _weights(text: str) -> str | None:
    return None if text.lower() in ("none", "null", "random") else text


def _defaults(settings_class) -> argparse.Namespace:
    """The field defaults of a settings dataclass, read without making one: making one
    checks the encoder name against the registry, which would import Keras before --help."""
    return argparse.Namespace(
        **{
            f.name: f.default
            for f in dataclasses.fields(settings_class)
            if f.default is not dataclasses.MISSING
        }
    )


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=None,
        help="Keras progress: 0 silent, 1 progress bars, 2 one line per epoch "
        "(default: 1 on a terminal, else 2)",
    )


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of splits, subsets, weights and data order (default: 0)",
    )
    _add_verbose(parser)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `keras-ssl`, with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="keras-ssl", description=__doc__.split("\n\n")[0], formatter_class=_FORMATTER
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _reproduce_parser(commands)
    _pretrain_parser(commands)
    _finetune_parser(commands)
    _evaluate_parser(commands)
    return parser


def _reproduce_parser(commands) -> None:
    p = commands.add_parser(
        "reproduce",
        help="reproduce a paper's experiment end to end (umea: Table 1 and Figures 3-5)",
        description=(
            "Reproduce the Umeå report's experiment: split the data, pretrain the encoder "
            "(SimCLR), fine-tune on 1-100% of the labels and train the supervised baseline, "
            "then write results.csv, results.md (Table 1 beside the paper's) and the figures "
            "into the output folder. Run the same command again to resume after a stop."
        ),
        epilog=(
            "profiles:\n"
            "  paper      the report's settings (MobileNetV2 at 96x96, ImageNet and random\n"
            "             initialisation, 75 epochs, 40,000 / 10,000): for a GPU\n"
            "  cpu-small  the whole pipeline on 10,000 real images at 32x32 in < 30 min on 2 CPU cores\n"
            "  smoke      about a minute: a small CNN on 500 images, 2 epochs\n\n"
            "examples:\n"
            "  keras-ssl reproduce umea --profile paper --dry-run\n"
            "  keras-ssl reproduce umea --profile cpu-small --data ../shared/data/cifar10-train.zip\n"
            "  keras-ssl reproduce umea --profile smoke --set pretrain.epochs=3 --output runs/try"
        ),
        formatter_class=_FORMATTER,
    )
    p.add_argument(
        "experiment", choices=("umea",), help="the experiment: umea (Nilsson 2025, Umeå University)"
    )
    p.add_argument(
        "--profile",
        default="cpu-small",
        metavar="NAME",
        help=f"settings profile: {', '.join(available_profiles())} (default: cpu-small)",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="YAML or JSON file of settings applied on top of the profile",
    )
    p.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change one setting, e.g. --set pretrain.epochs=3 --set 'finetune.fractions=[0.1, 1.0]' (repeatable; values are YAML)",
    )
    p.add_argument(
        "--data", metavar="SOURCE", help=_DATA_HELP + " (default: the profile's, cifar10)"
    )
    p.add_argument(
        "--max-images",
        type=_positive_int,
        metavar="N",
        help="use a class-balanced subset of N images (data.max_images)",
    )
    p.add_argument("--output", metavar="DIR", help="the run folder (default: runs/umea-PROFILE)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan and every resolved setting, check the inputs, train nothing",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="delete a run of other settings in --output and start over",
    )
    p.add_argument(
        "--stop-after",
        metavar="STAGE",
        help="stop after this stage, e.g. pretrain/random (see --dry-run for names)",
    )
    _add_verbose(p)


def _pretrain_parser(commands) -> None:
    p = commands.add_parser(
        "pretrain",
        help="pretrain an encoder without labels (SimCLR or rotation) -> encoder .keras",
        description=(
            "Pretrain an encoder on unlabeled images and save it as a .keras file. The "
            "whole model and its optimizer state are checkpointed every epoch in "
            "--checkpoint-dir; the same command resumes after a stop."
        ),
        epilog="example:\n  keras-ssl pretrain --data ../shared/data/cifar10-train.zip --encoder small_cnn --image-size 32 --epochs 5 --output encoder.keras",
        formatter_class=_FORMATTER,
    )
    d = _defaults(experiment_config.PretrainSettings)
    p.add_argument(
        "--data", required=True, metavar="SOURCE", help=_DATA_HELP + "; labels, if any, are ignored"
    )
    p.add_argument(
        "--split",
        metavar="NAME",
        help="catalogue split or subfolder to load (default: train / the whole folder)",
    )
    p.add_argument(
        "--max-images",
        type=_positive_int,
        metavar="N",
        help="pretrain on a seeded subset of N images",
    )
    p.add_argument(
        "--output",
        required=True,
        metavar="FILE",
        help="where to save the pretrained encoder (.keras)",
    )
    p.add_argument(
        "--checkpoint-dir",
        metavar="DIR",
        help="folder of the per-epoch checkpoints and log.csv (default: OUTPUT without .keras + '-pretraining')",
    )
    p.add_argument(
        "--method",
        default=d.method,
        metavar="NAME",
        help=f"pretext task: {', '.join(experiment_config.METHODS)} (default: {d.method})",
    )
    p.add_argument(
        "--encoder",
        default=d.encoder,
        metavar="NAME",
        help=f"encoder architecture, e.g. mobilenet_v2, small_cnn (default: {d.encoder})",
    )
    p.add_argument(
        "--weights",
        type=_weights,
        default=None,
        metavar="INIT",
        help="initial weights: imagenet, none or a weights file (default: none)",
    )
    p.add_argument(
        "--alpha",
        type=_positive_float,
        metavar="A",
        help="MobileNetV2 width multiplier (default: 1.0)",
    )
    p.add_argument(
        "--image-size",
        type=_positive_int,
        default=d.image_size,
        metavar="PX",
        help=f"encoder input side; images are resized on the device (default: {d.image_size})",
    )
    p.add_argument(
        "--augment",
        default=d.augment,
        metavar="NAME",
        help=f"augmentation preset for the views: umea, simclr, rotation, none (default: {d.augment})",
    )
    p.add_argument(
        "--epochs",
        type=_positive_int,
        default=d.epochs,
        metavar="N",
        help=f"epochs (default: {d.epochs})",
    )
    p.add_argument(
        "--batch-size",
        type=_positive_int,
        default=d.batch_size,
        metavar="N",
        help=f"images per step (default: {d.batch_size})",
    )
    p.add_argument(
        "--learning-rate",
        type=_positive_float,
        default=d.learning_rate,
        metavar="LR",
        help=f"Adam learning rate (default: {d.learning_rate:g})",
    )
    p.add_argument(
        "--temperature",
        type=_positive_float,
        default=d.temperature,
        metavar="T",
        help=f"NT-Xent temperature, SimCLR only (default: {d.temperature})",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="delete checkpoints of other settings in --checkpoint-dir and start over",
    )
    _add_common(p)


def _finetune_parser(commands) -> None:
    p = commands.add_parser(
        "finetune",
        help="fine-tune an encoder on fractions of the labels -> metrics JSON and models",
        description=(
            "Fine-tune a pretrained encoder into a classifier on one or more class-balanced "
            "fractions of the labels. A held-out test set is split off the data (or given "
            "with --test-data). For every fraction, OUTPUT/<N>pct/ gets model.keras, log.csv "
            "and metrics.json; OUTPUT/results.csv sums them up. Finished fractions are "
            "skipped when the command is run again."
        ),
        epilog="example:\n  keras-ssl finetune --encoder encoder.keras --data ../shared/data/cifar10-train.zip --fractions 1%,10% --output ft",
        formatter_class=_FORMATTER,
    )
    p.add_argument(
        "--encoder",
        required=True,
        metavar="FILE",
        help="the pretrained encoder (.keras), e.g. from keras-ssl pretrain",
    )
    p.add_argument("--data", required=True, metavar="SOURCE", help=_DATA_HELP)
    p.add_argument(
        "--split",
        metavar="NAME",
        help="catalogue split or subfolder to load (default: train / the whole folder)",
    )
    p.add_argument(
        "--max-images",
        type=_positive_int,
        metavar="N",
        help="use a class-balanced subset of N images",
    )
    p.add_argument(
        "--fractions",
        type=_fractions,
        default=(1.0,),
        metavar="LIST",
        help="label fractions, comma-separated, in (0, 1] or as percentages: 0.01,0.1 or 1%%,10%% (default: 1.0)",
    )
    p.add_argument(
        "--recipe",
        default="umea",
        metavar="NAME",
        help="fine-tuning recipe: umea, full, linear_probe, supervised (default: umea)",
    )
    p.add_argument(
        "--epochs",
        type=_positive_int,
        metavar="N",
        help="most epochs (default: the recipe's, 50 for umea)",
    )
    p.add_argument(
        "--learning-rate",
        type=_positive_float,
        metavar="LR",
        help="learning rate (default: the recipe's)",
    )
    p.add_argument(
        "--batch-size", type=_positive_int, metavar="N", help="batch size (default: the recipe's)"
    )
    p.add_argument(
        "--freeze-first",
        type=int,
        metavar="N",
        help="encoder layers to freeze (default: the recipe's, 100 for umea)",
    )
    p.add_argument(
        "--test",
        type=_split_size,
        default=0.2,
        metavar="SIZE",
        help="held-out test images split off --data: a count or a fraction (default: 0.2)",
    )
    p.add_argument(
        "--test-data",
        metavar="SOURCE",
        help="a separate held-out labeled set instead of splitting --data",
    )
    p.add_argument(
        "--val",
        type=_split_size,
        default=0.1,
        metavar="SIZE",
        help="validation images split off the training part (seeded, class-balanced): what early stopping, best-weight restore and the learning-rate schedule watch (default: 0.1)",
    )
    p.add_argument(
        "--select-on-test",
        action="store_true",
        help="watch the test images instead, as the Umeå report did (needs --val 0; the accuracies are then selected on the images they are measured on, so optimistic)",
    )
    p.add_argument("--output", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--force",
        action="store_true",
        help="delete a run of other settings in --output and start over",
    )
    _add_common(p)


def _evaluate_parser(commands) -> None:
    p = commands.add_parser(
        "evaluate",
        help="evaluate a classifier on labeled data -> JSON on stdout",
        description=(
            "Evaluate a trained classifier (.keras) on labeled images: accuracy, top-k "
            "accuracy, per-class precision / recall / F1 and the confusion matrix, "
            "printed as one JSON object on stdout."
        ),
        epilog="example:\n  keras-ssl evaluate --model ft/10pct/model.keras --data test_images.zip --top-k 1,3,5",
        formatter_class=_FORMATTER,
    )
    p.add_argument(
        "--model",
        required=True,
        metavar="FILE",
        help="the classifier (.keras), e.g. from keras-ssl finetune",
    )
    p.add_argument("--data", required=True, metavar="SOURCE", help=_DATA_HELP)
    p.add_argument(
        "--split",
        metavar="NAME",
        help="catalogue split or subfolder to load (default: train / the whole folder)",
    )
    p.add_argument(
        "--image-size",
        type=_positive_int,
        metavar="PX",
        help="resize the images to PX x PX when loading (default: keep)",
    )
    p.add_argument(
        "--max-images",
        type=_positive_int,
        metavar="N",
        help="evaluate on a class-balanced subset of N images",
    )
    p.add_argument(
        "--top-k",
        type=_top_k,
        default=(1, 3),
        metavar="LIST",
        help="k values of top-k accuracy, e.g. 1,3,5 (default: 1,3)",
    )
    p.add_argument(
        "--batch-size",
        type=_positive_int,
        default=256,
        metavar="N",
        help="batch size (default: 256)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of --max-images (default: 0)")


def main(argv: Sequence[str] | None = None) -> int:
    """Runs `keras-ssl` with `argv` (default: `sys.argv[1:]`); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from keras_ssl.experiments import commands

    try:
        return getattr(commands, args.command)(args, command=_command_line(argv))
    except ConfigError as error:
        print(f"keras-ssl {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"\nkeras-ssl {args.command}: interrupted; run the same command again to resume.",
            file=sys.stderr,
        )
        return 130


def _command_line(argv) -> str:
    return shlex.join(["keras-ssl", *(sys.argv[1:] if argv is None else argv)])
