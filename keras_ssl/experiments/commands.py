"""What the `keras-ssl` subcommands do, once `keras_ssl.cli` has parsed their arguments.

Each function takes the parsed `argparse.Namespace`, checks every input before
anything trains (raising `ConfigError`, which the command line prints as one line
with exit status 2) and returns the exit status.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from keras_ssl.experiments import finetuning, pretraining, umea
from keras_ssl.experiments.config import (
    ConfigError,
    PretrainSettings,
    apply_overrides,
    load_config,
)
from keras_ssl.experiments.inputs import check_source, load_images, subsample
from keras_ssl.experiments.profiles import profile
from keras_ssl.experiments.run_folder import RunFolder, atomic_write, write_csv

SETTINGS_FILE = "settings.yaml"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def reproduce(args, command: str | None = None) -> int:
    """`keras-ssl reproduce umea`: the experiment of a profile, in one run folder."""
    config = profile(args.profile)
    if args.config:
        config = load_config(args.config, base=config)
    assignments = list(args.assignments)
    if args.data:
        assignments.append(f"data.source={json.dumps(args.data)}")
    if args.max_images:
        assignments.append(f"data.max_images={args.max_images}")
    config = apply_overrides(config, assignments)
    output = args.output or f"runs/umea-{config.profile}"
    if args.dry_run:
        print(umea.describe(config))
        resumed = umea.check(config, output, args.force, args.stop_after)
        state = "resumes the run there" if resumed else "a new run"
        print(f"\nOutput folder: {output} ({state}). --dry-run: nothing was trained.")
        return 0
    result = umea.run(
        config,
        output,
        force=args.force,
        stop_after=args.stop_after,
        verbose=args.verbose,
        command=command,
    )
    if result.stopped_after is None:
        print(f"Results: {result.folder / 'results.md'}, figures in {result.folder / 'figures'}")
    return 0


def _check_file(path: str, what: str, suffix: str = ".keras") -> Path:
    path = Path(path)
    if path.suffix != suffix:
        raise ConfigError(f"{what} {str(path)!r} must be a {suffix} file.")
    return path


def _load_model(path: str, what: str):
    import keras

    path = _check_file(path, what)
    if not path.is_file():
        raise ConfigError(f"{what} {str(path)!r} does not exist.")
    try:
        return keras.models.load_model(path)
    except Exception as error:  # a corrupt or foreign file fails in many ways
        raise ConfigError(
            f"Cannot load {what.lower()} {str(path)!r} ({type(error).__name__}: {error})."
        ) from None


def pretrain(args, command: str | None = None) -> int:
    """`keras-ssl pretrain`: an encoder pretrained on unlabeled images, resumable."""
    output = _check_file(args.output, "--output")
    settings = PretrainSettings(
        method=args.method,
        encoder=args.encoder,
        encoder_args={} if args.alpha is None else {"alpha": args.alpha},
        weights=(args.weights,),
        image_size=args.image_size,
        augment=args.augment,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        temperature=args.temperature,
    )
    folder = RunFolder(
        args.checkpoint_dir or output.with_name(output.stem + "-pretraining"),
        SETTINGS_FILE,
        option="--checkpoint-dir",
    )
    record = {
        "data": {"source": args.data, "split": args.split, "max_images": args.max_images},
        "seed": args.seed,
        "pretrain": dataclasses.asdict(settings),
    }
    check_source(args.data)
    folder.check(record, args.force)
    if args.weights is not None:
        pretraining.build_encoder(settings, args.weights)  # fetch / read the weights now
    imageset = subsample(
        load_images(args.data, args.split, labeled=False), args.max_images, args.seed
    )
    if settings.batch_size > len(imageset):
        raise ConfigError(
            f"--batch-size {settings.batch_size} is larger than the {len(imageset)} images."
        )
    _log(f"Pretraining on {len(imageset)} images of {args.data!r}; checkpoints in {folder.path}")
    folder.claim(record, args.force)
    pretraining.pretrain_encoder(
        imageset.numpy_images(),
        settings,
        folder.path,
        weights=args.weights,
        seed=args.seed,
        verbose=_verbose(args.verbose),
        log=_log,
    )
    source = folder / pretraining.ENCODER_FILE
    atomic_write(output, lambda temporary: shutil.copyfile(source, temporary))
    history = pretraining.read_history(folder.path)
    summary = {
        "encoder": str(output),
        "checkpoint_dir": str(folder.path),
        "epochs": len(history),
        "final_loss": history[-1]["loss"] if history else None,
    }
    print(json.dumps(summary))
    return 0


def finetune(args, command: str | None = None) -> int:
    """`keras-ssl finetune`: a recipe on fractions of the labels, one folder per fraction."""
    from keras_ssl.data import label_fraction, train_val_test_split
    from keras_ssl.finetune import countable_layers, get_recipe

    overrides = {
        "epochs": args.epochs,
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "freeze_first": args.freeze_first,
    }
    overrides = {key: value for key, value in overrides.items() if value is not None}
    try:
        recipe = get_recipe(args.recipe, **overrides)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    _check_file(args.encoder, "--encoder")
    for source in filter(None, (args.data, args.test_data)):
        check_source(source)
    if args.select_on_test != (args.val == 0):
        raise ConfigError(
            "--select-on-test needs --val 0 (the validation images would go unused)"
            if args.select_on_test
            else "--val 0 leaves nothing to select the model on: give --val (e.g. 0.1), or "
            "--select-on-test to select on the test images as the Umeå report did"
        )
    record = {
        "encoder": str(Path(args.encoder).resolve()),
        "data": {
            "source": args.data,
            "split": args.split,
            "max_images": args.max_images,
            "test": args.test,
            "test_data": args.test_data,
            "val": args.val,
            "select_on": "test" if args.select_on_test else "val",
        },
        "seed": args.seed,
        "fractions": list(args.fractions),
        "recipe": recipe.get_config(),
    }
    folder = RunFolder(args.output, SETTINGS_FILE)
    folder.check(record, args.force)
    encoder = _load_model(args.encoder, "Encoder")
    if isinstance(recipe.freeze_first, int) and recipe.freeze_first > len(
        countable_layers(encoder)
    ):
        raise ConfigError(
            f"Recipe {recipe.name!r} freezes {recipe.freeze_first} layers but the encoder has "
            f"{len(countable_layers(encoder))}; pass a smaller --freeze-first (0 trains all)."
        )
    imageset = subsample(load_images(args.data, args.split), args.max_images, args.seed)
    test_size = 0 if args.test_data else args.test
    try:
        split = train_val_test_split(imageset.labels, val=args.val, test=test_size, seed=args.seed)
    except ValueError as error:
        raise ConfigError(
            f"--test / --val do not fit the {len(imageset)} images: {error}"
        ) from None
    train, val = imageset.subset(split["train"]), imageset.subset(split["val"])
    test = load_images(args.test_data) if args.test_data else imageset.subset(split["test"])
    if test.class_names != imageset.class_names:
        raise ConfigError(
            f"--test-data has classes {test.class_names}, --data has {imageset.class_names}: "
            "they must be the same class folders."
        )
    for fraction in args.fractions:
        try:
            label_fraction(train.labels, fraction, seed=args.seed, class_names=train.class_names)
        except ValueError as error:
            raise ConfigError(f"--fractions {fraction:g}: {error}") from None
    folder.claim(record, args.force)
    train_data = (train.numpy_images(), train.labels)
    test_data = (test.numpy_images(), test.labels)
    selection_data = test_data if args.select_on_test else (val.numpy_images(), val.labels)
    rows = []
    for fraction in args.fractions:
        stage = folder / finetuning.fraction_label(fraction)
        if finetuning.stage_done(stage):
            _log(f"== {stage.name}: finished earlier, skipped")
            metrics = finetuning.read_metrics(stage)
        else:
            _log(
                f"== {stage.name}: {recipe.name} on {fraction:.0%} of {len(train)} training labels"
            )
            trainer = finetuning.fraction_trainer(
                encoder, train_data, selection_data, imageset.num_classes, fraction, recipe,
                args.seed, _verbose(args.verbose),
            )  # fmt: skip
            facts = {"fraction": fraction, "encoder": args.encoder, "data": args.data,
                     "selected_on": record["data"]["select_on"]}  # fmt: skip
            metrics = finetuning.run_stage(stage, trainer, test_data, imageset.class_names, facts)
        rows.append({key: metrics[key] for key in _SUMMARY if key in metrics})
        rows[-1]["model"] = str(stage / finetuning.MODEL_FILE)
    write_csv(folder / "results.csv", rows)
    print(json.dumps(rows, indent=1))
    return 0


_SUMMARY = ("fraction", "labels_used", "accuracy", "top_3_accuracy", "best_epoch", "epochs_run")


def evaluate(args, command: str | None = None) -> int:
    """`keras-ssl evaluate`: accuracy, top-k and the per-class report, as JSON on stdout."""
    from keras_ssl.evaluate import evaluate_classifier

    _check_file(args.model, "--model")
    check_source(args.data)
    model = _load_model(args.model, "Model")
    imageset = load_images(args.data, args.split, args.image_size)
    imageset = subsample(imageset, args.max_images, args.seed)
    expected = tuple(model.input_shape[1:3])
    if None not in expected and expected != tuple(imageset.image_shape[:2]):
        raise ConfigError(
            f"The model takes {expected[0]}x{expected[1]} images but {args.data!r} holds "
            f"{imageset.image_shape[0]}x{imageset.image_shape[1]}; pass --image-size {expected[0]}."
        )
    outputs = model.output_shape[-1]
    if outputs != imageset.num_classes:
        raise ConfigError(
            f"The model has {outputs} outputs but {args.data!r} has {imageset.num_classes} "
            f"classes ({', '.join(imageset.class_names)})."
        )
    results = evaluate_classifier(
        model,
        (imageset.numpy_images(), np.asarray(imageset.labels)),
        imageset.class_names,
        top_k=args.top_k,
        batch_size=args.batch_size,
    )
    print(json.dumps({"model": args.model, "data": args.data, **results}, indent=1))
    return 0


def _verbose(verbose: int | None) -> int:
    return (1 if sys.stdout.isatty() else 2) if verbose is None else verbose
