"""The `keras-ssl` command: reproduce an experiment, pretrain, fine-tune, evaluate."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from contextlib import suppress
from functools import partial
from pathlib import Path


def _fractions(text: str) -> list[float]:
    """`0.01,0.1,1` or `1%,10%` -> fractions (checked with the config)."""
    values = []
    for part in map(str.strip, text.split(",")):
        try:
            values.append(float(part[:-1]) / 100 if part.endswith("%") else float(part))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not a number; give fractions in (0, 1] like 0.01,0.1,1.0 or 1%,10%"
            ) from None
    return values


def _int_list(text: str) -> list[int]:
    """`1,3,5` -> `[1, 3, 5]`."""
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 1,3,5; got {text!r}") from None


def _count_or_fraction(text: str) -> int | float:
    """A count of images (`50`) or a fraction of them (`0.1`)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count or a fraction; got {text!r}") from None
    return int(value) if value >= 1 and value.is_integer() else value


def _weights(text: str) -> str | None:
    return None if text.lower() in ("none", "null", "random") else text


def _freeze(text: str) -> int | float | str:
    """A count or a fraction of the encoder's layers, else a name (`all`, a freeze point)."""
    for kind in (int, float):
        with suppress(ValueError):
            return kind(text)
    return text


# Options as (flag, config key, `add_argument` kwargs), one table per group. An option with a key
# sets that key of the experiment document (errors name both); its default is the document's.
# fmt: off
_DATA = [
    ("--data", "data.source", {"metavar": "SOURCE", "help": "the images: a folder or .zip of <class>/<image> files, or a catalogue name (cifar10: TFDS, needs internet the first time; cifar10_keras: keras.datasets)"}),
    ("--split", "data.split", {"metavar": "NAME", "help": "catalogue split or subfolder to load (default: train / the whole folder)"}),
    ("--max-images", "data.max_images", {"type": int, "metavar": "N", "help": "use a seeded, class-balanced subset of N images"}),
]
_RUN = [
    ("--set", None, {"dest": "assignments", "action": "append", "default": [], "metavar": "KEY=VALUE", "help": "change a setting of the experiment document, e.g. --set pretrain.method_args.temperature=0.2 (repeatable; values are YAML)"}),
    ("--force", None, {"action": "store_true", "help": "delete a run of other settings in the output folder and start over"}),
    ("--dry-run", None, {"action": "store_true", "help": "print the plan and every resolved setting, check the inputs, train nothing"}),
    ("--verbose", None, {"type": int, "choices": (0, 1, 2), "help": "Keras progress: 0 silent, 1 progress bars, 2 one line per epoch (default: 1 on a terminal, else 2)"}),
    ("--distribution", "distribution.strategy", {"metavar": "STRATEGY", "help": "none, mirrored (all local devices: tf.distribute or JAX DataParallel), multi_worker or tpu; batch sizes are global"}),
    ("--precision", "distribution.precision", {"metavar": "POLICY", "help": "float32, mixed_float16 or mixed_bfloat16"}),
]
_SEED = [("--seed", "seed", {"type": int, "help": "seed of splits, weights and data order"})]
_REPRODUCE = [
    ("experiment", None, {"nargs": "?", "help": "a shipped experiment's name (see --list) or an experiment .yaml file"}),
    ("--list", None, {"action": "store_true", "help": "list the shipped experiments and their profiles"}),
    ("--profile", None, {"metavar": "NAME", "help": "one of the experiment's profiles (default: the file's default_profile)"}),
    ("--output", None, {"metavar": "DIR", "help": "the run folder (default: runs/EXPERIMENT-PROFILE)"}),
    ("--stop-after", None, {"metavar": "STAGE", "help": "stop after this stage, e.g. pretrain/random (see --dry-run)"}),
]
_PRETRAIN = [
    ("--output", None, {"required": True, "metavar": "FILE", "help": "where to save the pretrained encoder (.keras)"}),
    ("--checkpoint-dir", None, {"metavar": "DIR", "help": "the run folder of checkpoints and logs (default: OUTPUT without .keras + '-pretraining')"}),
    ("--method", "pretrain.method", {"metavar": "NAME", "help": "pretext method ({method})"}),
    ("--encoder", "encoder.name", {"metavar": "NAME", "help": "encoder ({encoder})"}),
    ("--weights", "encoder.weights", {"type": _weights, "metavar": "INIT", "help": "initial weights: imagenet, none or a weights file"}),
    ("--image-size", "encoder.image_size", {"type": int, "metavar": "PX", "help": "encoder input side; images are resized on the device"}),
    ("--augment", "pretrain.augment", {"metavar": "NAME", "help": "augmentation preset: simclr, umea, rotation, none (default: the method's own views)"}),
    ("--epochs", "pretrain.epochs", {"type": int, "metavar": "N", "help": "epochs"}),
    ("--batch-size", "pretrain.batch_size", {"type": int, "metavar": "N", "help": "images per step"}),
    ("--learning-rate", "pretrain.learning_rate", {"type": float, "metavar": "LR", "help": "learning rate of the optimizer (pretrain.optimizer)"}),
]
_RECIPE = "evaluations.finetune.recipe"
_FINETUNE = [
    ("--encoder", "encoder.weights", {"required": True, "metavar": "FILE", "help": "the pretrained encoder (.keras), e.g. from keras-ssl pretrain"}),
    ("--fractions", "evaluations.finetune.fractions", {"type": _fractions, "metavar": "LIST", "help": "label fractions: 0.01,0.1 or 1%%,10%% (default: every label, 1.0)"}),
    ("--recipe", _RECIPE, {"metavar": "NAME", "help": "fine-tuning recipe: full, linear_probe, umea, supervised (default: full)"}),
    ("--epochs", f"{_RECIPE}_args.epochs", {"type": int, "metavar": "N", "help": "most epochs (default: the recipe's)"}),
    ("--learning-rate", f"{_RECIPE}_args.learning_rate", {"type": float, "metavar": "LR", "help": "learning rate (default: the recipe's)"}),
    ("--batch-size", f"{_RECIPE}_args.batch_size", {"type": int, "metavar": "N", "help": "batch size (default: the recipe's)"}),
    ("--freeze-first", f"{_RECIPE}_args.freeze_first", {"type": _freeze, "metavar": "N", "help": "encoder layers to freeze: a count, a fraction, a freeze-point name or 'all' (default: the recipe's)"}),
    ("--test", "data.test", {"type": _count_or_fraction, "metavar": "SIZE", "help": "held-out test images split off --data: a count or a fraction"}),
    ("--test-data", "data.test_source", {"metavar": "SOURCE", "help": "a separate held-out labeled set instead of splitting --data"}),
    ("--val", "data.val", {"type": _count_or_fraction, "metavar": "SIZE", "help": "validation images split off the training part: what model selection watches"}),
    ("--select-on-test", "data.select_on", {"action": "store_const", "const": "test", "help": "watch the test images instead, as the Umeå report did (needs --val 0; optimistic accuracies)"}),
    ("--output", None, {"required": True, "metavar": "DIR", "help": "the run folder"}),
]
_EVALUATE = [
    ("--model", None, {"required": True, "metavar": "FILE", "help": "the classifier (.keras), e.g. from keras-ssl finetune"}),
    ("--image-size", "image_size", {"type": int, "metavar": "PX", "help": "resize the images to PX x PX when loading (default: keep)"}),
    ("--top-k", None, {"type": _int_list, "default": [1, 3], "metavar": "LIST", "help": "k values of top-k accuracy, e.g. 1,3,5 (default: 1,3)"}),
    ("--batch-size", None, {"type": int, "default": 256, "metavar": "N", "help": "batch size (default: 256)"}),
    ("--seed", None, {"type": int, "default": 0, "help": "seed of --max-images (default: 0)"}),
]
_BASE_DOCUMENTS = {  # the document each command starts from; its options' values are set into it
    "pretrain": {"name": "pretrain", "data": {"test": 0, "val": 0}, "pretrain": {}, "variants": {"main": {}}},
    "finetune": {"name": "finetune", "pretrain": None, "evaluations": {"finetune": {"kind": "finetune", "recipe": "full"}}},
}
_COMMANDS = {  # name: (summary, description, example, options)
    "reproduce": ("run an experiment file end to end (a shipped one by name, or your own .yaml)",
        "Run an experiment: split the data, pretrain every variant, run every evaluation at every label fraction, then write results.csv, results.md (ours beside the paper's) and the figures into the output folder. Run the same command again to resume after a stop.",
        "keras-ssl reproduce --list\n  keras-ssl reproduce umea --profile paper --dry-run\n  keras-ssl reproduce umea --profile cpu-small --data path/to/cifar10-train.zip\n  keras-ssl reproduce mine.yaml --set 'evaluations.finetune.fractions=[0.1, 1.0]'",
        [*_REPRODUCE, *_DATA, *_RUN]),
    "pretrain": ("pretrain an encoder without labels -> encoder .keras",
        "Pretrain an encoder on unlabeled images and save it as a .keras file. The model and its optimizer state are checkpointed every epoch in --checkpoint-dir; the same command resumes after a stop. Method and encoder arguments: --set pretrain.method_args.NAME=VALUE, --set encoder.args.NAME=VALUE.",
        "keras-ssl pretrain --data path/to/cifar10-train.zip --encoder small_cnn --image-size 32 --epochs 5 --output encoder.keras",
        [*_PRETRAIN, *_DATA, *_SEED, *_RUN]),
    "finetune": ("fine-tune an encoder on fractions of the labels -> models and results.csv",
        "Fine-tune a saved encoder into a classifier on class-balanced fractions of the labels. A held-out test set is split off the data (or given with --test-data) and scored once per fraction; a validation split watches early stopping. For every fraction, OUTPUT/finetune/main/<N>pct/ gets model.keras, log.csv and metrics.json; finished fractions are skipped when the command is run again.",
        "keras-ssl finetune --encoder encoder.keras --data path/to/cifar10-train.zip --fractions 1%,10% --output ft",
        [*_FINETUNE, *_DATA, *_SEED, *_RUN]),
    "evaluate": ("evaluate a classifier on labeled data -> JSON on stdout",
        "Evaluate a trained classifier (.keras) on labeled images: accuracy, top-k accuracy, per-class precision / recall / F1 and the confusion matrix, as one JSON object.",
        "keras-ssl evaluate --model ft/finetune/main/10pct/model.keras --data test.zip --top-k 1,3,5",
        [*_EVALUATE, *_DATA]),
}
# fmt: on


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of `keras-ssl`, with one sub-parser per command.

    Args:
        command: the command being run, if known; its help shows the defaults.
    """
    parser = argparse.ArgumentParser(prog="keras-ssl", description=__doc__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    registry = {"method": "a registered pretext method", "encoder": "a registered encoder"}
    if command == "pretrain":
        from keras_ssl import encoders, pretext

        methods = (f"{name}: {pretext.describe(name)}" for name in pretext.available())
        registry = {"method": "; ".join(methods), "encoder": ", ".join(encoders.available())}
    for name, (summary, description, example, options) in _COMMANDS.items():
        defaults = _defaults(name) if name == command and name in _BASE_DOCUMENTS else {}
        sub = commands.add_parser(
            name, help=summary, description=description, epilog=f"example:\n  {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,  # the example's lines
        )  # fmt: skip
        for flag, key, kwargs in options:
            kwargs = {**kwargs, "help": kwargs["help"].format(**registry)}
            if flag == "--data" and name != "reproduce":
                kwargs["required"] = True
            shown = kwargs.get("required") or "default:" in kwargs["help"]
            if defaults.get(key) is not None and not shown:
                kwargs["help"] += f" (default: {defaults[key]})"
            sub.add_argument(flag, **kwargs)
    return parser


def _defaults(command: str) -> dict:
    """`{config key: default}` of a command's options: its base document's, else the schema's."""
    from keras_ssl.data.config import DataConfig

    models, defaults = {"data": DataConfig}, {}
    if command == "pretrain":  # the schema imports Keras, as pretrain's help does anyway
        from keras_ssl.experiments import schema

        models.update(encoder=schema.EncoderSpec, pretrain=schema.PretrainSpec,
                      distribution=schema.DistributionSpec)  # fmt: skip
        defaults["seed"] = schema.Experiment.model_fields["seed"].default
    for section, model in models.items():
        given = _BASE_DOCUMENTS[command].get(section) or {}
        for name, field in model.model_fields.items():
            defaults[f"{section}.{name}"] = given.get(name, field.default)
    return defaults


def _option_values(args) -> dict:
    """`{config key: value}` of the options given on the command line."""
    options = _COMMANDS[args.command][3]
    given = {key: getattr(args, flag[2:].replace("-", "_")) for flag, key, _ in options if key}
    values = {key: value for key, value in given.items() if value is not None}
    if "data.test_source" in values:
        values["data.test"] = 0
    if values.get(_RECIPE) == "supervised":
        values["evaluations.finetune.kind"] = "baseline"
    return values


def _experiment(args, experiments) -> tuple:
    """The experiment a command runs, and its output folder."""
    values = _option_values(args)
    if args.command == "reproduce":
        if not args.experiment:
            message = "Give an experiment (a name or a .yaml file); --list shows the shipped ones."
            raise experiments.ConfigError(message)
        experiment = experiments.load(args.experiment, args.profile, args.assignments, values)
        return experiment, args.output or f"runs/{experiment.name}-{experiment.profile}"
    experiment = experiments.resolve(_BASE_DOCUMENTS[args.command], None, args.assignments, values)
    if args.command == "finetune":
        return experiment, args.output
    output = Path(args.output)
    if output.suffix != ".keras" or output.is_dir():
        problem = "is a folder; give a file name" if output.is_dir() else "must end in .keras"
        raise experiments.ConfigError(f"The encoder file {args.output!r} (--output) {problem}.")
    return experiment, args.checkpoint_dir or str(output.with_name(output.stem + "-pretraining"))


def _run(args, command_line: str) -> int:
    from keras_ssl import experiments

    if args.command == "evaluate":
        from keras_ssl.evaluate import evaluate_saved_classifier

        report = evaluate_saved_classifier(args.model, args.data, args.split, args.image_size,
                                           args.max_images, args.seed, args.top_k, args.batch_size)  # fmt: skip
        print(json.dumps(report, indent=1))
        return 0
    if args.command == "reproduce" and args.list:
        for name in experiments.available():
            document = experiments.read(name)
            profiles = ", ".join(document.get("profiles") or {})
            print(f"{name}: {document.get('title', '')}")
            print(f"    profiles: {profiles} (default: {document.get('default_profile')})")
        return 0
    experiment, output = _experiment(args, experiments)
    stop_after = getattr(args, "stop_after", None)
    if args.dry_run:
        print(experiments.describe(experiment))
        resumed = experiments.check(experiment, output, args.force, stop_after)
        state = "resumes the run there" if resumed else "a new run"
        print(f"\nOutput folder: {output} ({state}). --dry-run: nothing was trained.")
        return 0
    verbose = (1 if sys.stdout.isatty() else 2) if args.verbose is None else args.verbose
    log = print if args.command == "reproduce" else partial(print, file=sys.stderr, flush=True)
    result = experiments.run(experiment, output, force=args.force, stop_after=stop_after,
                             verbose=verbose, log=log, command=command_line)  # fmt: skip
    if args.command == "pretrain":
        print(json.dumps(experiments.export_encoder(result.folder, args.output)))
    elif args.command == "finetune":
        print(json.dumps(result.rows, indent=1))
    elif result.stopped_after is None:
        print(f"Results: {result.folder / 'results.md'}, figures in {result.folder / 'figures'}")
    return 0


def _with_options(message: str, command: str) -> str:
    """A config error with the command-line option of each key it names."""
    recipe_flags = "--epochs, --learning-rate, --batch-size, --freeze-first"
    options = {"stop_after": "--stop-after", "force": "--force", f"{_RECIPE}_args": recipe_flags}
    for flag, key, _ in (option for option in _COMMANDS[command][3] if option[1]):
        options[key] = ", ".join(o for o in (options.get(key), flag) if o)
    for key, option in options.items():
        message = message.replace(f"`{key}`", f"`{key}` ({option})")
    return message


def main(argv: Sequence[str] | None = None) -> int:
    """Runs `keras-ssl` with `argv` (default: `sys.argv[1:]`); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    from keras_ssl.config import ConfigError

    try:
        return _run(args, shlex.join(["keras-ssl", *map(str, argv)]))
    except ConfigError as error:
        message = _with_options(str(error), args.command)
        print(f"keras-ssl {args.command}: error: {message}", file=sys.stderr)
        return 2
    except FloatingPointError as error:  # keras_ssl.callbacks.NaNLossError: training diverged
        again = "The same command resumes with the same settings and diverges again: change them"
        print(f"keras-ssl {args.command}: error: {' '.join(str(error).split())} {again} (e.g. a "
              "lower learning rate) in another --output folder or with --force.", file=sys.stderr)  # fmt: skip
        return 1
    except KeyboardInterrupt:
        message = "interrupted; run the same command again to resume."
        print(f"\nkeras-ssl {args.command}: {message}", file=sys.stderr)
        return 130
