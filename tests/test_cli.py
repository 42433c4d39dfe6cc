"""The `keras-ssl` command: help, every bad input of issue 5 §5, and pretrain → finetune → evaluate."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_ssl import cli, data, experiments
from keras_ssl.experiments import RunFolder


@pytest.fixture(scope="module")
def images(make_cifar_folder, tmp_path_factory):
    """20 real CIFAR-10 JPEGs of each class in `<class>/` folders."""
    return make_cifar_folder(tmp_path_factory.mktemp("cli") / "images", per_class=20)


def _run(capsys, *argv):
    """Runs the command in this process: (exit status, stdout, stderr)."""
    try:
        status = cli.main([str(a) for a in argv])
    except SystemExit as exit:  # argparse: --help and usage errors
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("command", ["reproduce", "pretrain", "finetune", "evaluate"])
def test_help_explains_every_option(command, capsys):
    status, out, _ = _run(capsys, command, "--help")
    assert status == 0
    parser = cli.build_parser(command)
    subparser = parser._subparsers._group_actions[0].choices[command]
    for action in subparser._actions:
        assert action.help, action.dest  # no option without an explanation
        for option in action.option_strings:
            assert option in out, option


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("keras-ssl")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    for command in ("reproduce", "pretrain", "finetune", "evaluate"):
        assert command in result.stdout


def test_paper_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    output = tmp_path / "paper"
    status, out, _ = _run(
        capsys, "reproduce", "umea", "--profile", "paper", "--dry-run", "--output", output
    )
    assert status == 0
    assert "Experiment 'umea' (SimCLR-pretrained MobileNetV2 on CIFAR-10" in out
    assert "profile 'paper': 20 stages" in out
    assert (
        "  2. pretrain/imagenet: simclr pretraining of mobilenet_v2 (weights='imagenet') at 96x96, 75 epochs of batch 128"
        in out
    )
    assert "freeze_first: 100" in out and "(a new run). --dry-run: nothing was trained." in out
    assert not output.exists()


def _error(capsys, *argv):
    status, out, err = _run(capsys, *argv)
    assert status == 2, (out, err)
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def test_missing_data_path(tmp_path, capsys):
    message = _error(
        capsys,
        "reproduce",
        "umea",
        "--profile",
        "smoke",
        "--data",
        tmp_path / "nowhere.zip",
        "--output",
        tmp_path / "run",
    )
    assert message.startswith("keras-ssl reproduce: error: Data path ")
    assert (
        "nowhere.zip' (`data.source` (--data)) does not exist. Give a folder or .zip of <class>/<image> files"
        in message
    )
    assert not (tmp_path / "run").exists()


@pytest.mark.filterwarnings("ignore::keras_ssl.data.SkippedFilesWarning")
def test_folder_without_class_folders(images, tmp_path, capsys):
    flat = tmp_path / "flat"
    flat.mkdir()
    for path in sorted(images.glob("*/*.jpg"))[:5]:
        (flat / path.name).write_bytes(path.read_bytes())
    message = _error(
        capsys,
        "reproduce",
        "umea",
        "--profile",
        "smoke",
        "--data",
        flat,
        "--output",
        tmp_path / "run",
    )
    assert "has no class folders (expected root/<class>/<image>)" in message
    empty = tmp_path / "empty" / "cat"
    empty.mkdir(parents=True)
    (empty / "notes.txt").write_text("no images")
    message = _error(
        capsys,
        "reproduce",
        "umea",
        "--profile",
        "smoke",
        "--data",
        empty.parent,
        "--output",
        tmp_path / "run",
    )
    assert "Found no image files (.bmp, .gif, .jpeg, .jpg, .png, .webp) in" in message
    assert not (tmp_path / "run").exists()


def test_unknown_experiment_profile_method_and_recipe(tmp_path, capsys):
    message = _error(capsys, "reproduce", "umea", "--profile", "fast", "--dry-run")
    assert message == (
        "keras-ssl reproduce: error: Unknown profile 'fast' (`profile`); expected one of: "
        "paper, cpu-small, smoke."
    )
    message = _error(capsys, "reproduce", "byol-cifar", "--dry-run")
    assert message == (
        "keras-ssl reproduce: error: Unknown experiment 'byol-cifar'; expected one of: "
        "dino-cifar10, rotation-tiny-imagenet, simclr-pets, simsiam-ablation, simsiam-celeba, "
        "simsiam-stl10, umea, or "
        "the path of an experiment .yaml file."
    )
    message = _error(
        capsys,
        "pretrain",
        "--method",
        "jigsaw",
        "--data",
        tmp_path,
        "--output",
        tmp_path / "e.keras",
    )
    assert message == (
        "keras-ssl pretrain: error: Unknown method 'jigsaw' (`pretrain.method` (--method)); "
        "expected one of: byol, dino, moco, rotation, simclr, simsiam."
    )
    message = _error(capsys, "reproduce", "umea", "--set", "pretrain.method=jigsaw", "--dry-run")
    assert "Unknown method 'jigsaw'" in message
    (tmp_path / "e.keras").write_bytes(b"")  # exists: the recipe is checked next
    message = _error(
        capsys, "finetune", "--recipe", "fancy", "--encoder", tmp_path / "e.keras", "--data",
        tmp_path, "--output", tmp_path / "ft",
    )  # fmt: skip
    assert (
        "Unknown recipe 'fancy' (`evaluations.finetune.recipe` (--recipe)); expected one of: full, linear_probe, supervised, umea"
        in message
    )


def test_method_choices_and_help_come_from_the_registry(capsys):
    from keras_ssl import pretext

    status, out, _ = _run(capsys, "pretrain", "--help")
    assert status == 0
    for name in pretext.available():
        assert f"{name}: {pretext.describe(name)}"[:40] in " ".join(out.split())
    status, out, _ = _run(capsys, "reproduce", "--list")
    assert status == 0 and "umea: SimCLR-pretrained" in out and "rotation-tiny-imagenet:" in out


@pytest.mark.parametrize(
    "fractions, expected",
    [
        ("0,0.5", "every fraction must be a number in (0, 1]; got 0.0"),
        ("0.1,1.5", "every fraction must be a number in (0, 1]; got 1.5"),
        ("10,50", "(percentages? 10 % is 0.1)"),
        ("1%,abc", "'abc' is not a number"),
        ("0.1,10%", "has duplicate fractions: [0.1]"),
    ],
)
def test_fractions_out_of_range(fractions, expected, tmp_path, capsys):
    (tmp_path / "e.keras").write_bytes(b"")  # exists: the fractions are checked next
    message = _error(
        capsys,
        "finetune",
        "--fractions",
        fractions,
        "--encoder",
        tmp_path / "e.keras",
        "--data",
        tmp_path,
        "--output",
        tmp_path / "ft",
    )
    assert "--fractions" in message and expected in message


def test_fractions_in_a_config_override(capsys):
    message = _error(
        capsys,
        "reproduce",
        "umea",
        "--set",
        "evaluations.finetune.fractions=[0.01, -0.5]",
        "--dry-run",
    )
    assert (
        "`evaluations.finetune.fractions`: every fraction must be a number in (0, 1]; got -0.5."
        in message
    )


def test_output_folder_of_another_config(images, tmp_path, capsys):
    output = tmp_path / "run"
    RunFolder(output).claim(experiments.load("umea", "smoke").get_config())
    message = _error(
        capsys, "reproduce", "umea", "--profile", "smoke", "--data", images, "--output", output
    )
    assert (
        f"Output folder '{output}' holds a run of other settings; refusing to mix results."
        in message
    )
    assert (
        "data.source: 'cifar10' -> " in message
        and "Use another output folder, or `force` (--force)" in message
    )
    assert sorted(p.name for p in output.iterdir()) == ["config.yaml"]


def test_tfds_without_internet_suggests_a_path(monkeypatch, tmp_path, capsys):
    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(data, "load", offline)
    message = _error(
        capsys, "reproduce", "umea", "--profile", "smoke", "--output", tmp_path / "run"
    )
    assert "Could not load 'cifar10' (OSError: Name or service not known)" in message
    assert (
        "give `data.source` (--data) a folder or .zip of <class>/<image> files instead" in message
    )


def test_unknown_stop_after_stage(capsys):
    message = _error(
        capsys, "reproduce", "umea", "--profile", "smoke", "--stop-after", "pretrain", "--dry-run"
    )
    assert (
        "Unknown stage 'pretrain' (`stop_after` (--stop-after)); stages: data, pretrain/random, "
        in message
    )


def test_pretrain_finetune_evaluate_end_to_end(images, tmp_path, capsys):
    encoder = tmp_path / "encoder.keras"
    common = ["--encoder", "small_cnn", "--image-size", 32, "--batch-size", 50, "--verbose", 0]
    status, out, err = _run(
        capsys, "pretrain", "--data", images, "--epochs", 1, *common, "--output", encoder
    )
    assert status == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["epochs"] == 1 and encoder.is_file()
    assert (
        tmp_path / "encoder-pretraining/pretrain/main/checkpoint-epoch0001.weights.h5"
    ).is_file()
    # Run again: the finished pretraining is found, not repeated.
    status, out, err = _run(
        capsys, "pretrain", "--data", images, "--epochs", 1, *common, "--output", encoder
    )
    assert status == 0 and "pretrain/main: finished earlier, skipped" in err
    # Same checkpoint folder, other settings: refused.
    message = _error(
        capsys, "pretrain", "--data", images, "--epochs", 2, *common, "--output", encoder
    )
    assert "pretrain.epochs: 1 -> 2. Use another output folder, or `force` (--force)" in message

    ft = tmp_path / "ft"
    argv = [
        "finetune",
        "--encoder",
        encoder,
        "--data",
        images,
        "--fractions",
        "50%,1.0",
        "--recipe",
        "full",
        "--epochs",
        2,
        "--test",
        50,
        "--output",
        ft,
        "--verbose",
        0,
    ]
    status, out, err = _run(capsys, *argv)
    assert status == 0, err
    rows = json.loads(out)
    for row in rows:
        row["model"] = str(
            ft / "finetune/main" / f"{round(row['fraction'] * 100):d}pct/model.keras"
        )
    assert [(r["fraction"], r["labels_used"]) for r in rows] == [
        (0.5, 70),
        (1.0, 130),
    ]  # 7 of 13 a class (200 images: 50 test, 20 validation)
    for row in rows:
        metrics = json.loads((Path(row["model"]).parent / "metrics.json").read_text())
        assert (
            round(100 * metrics["accuracy"], 2) == row["accuracy"]
            and metrics["recipe"]["epochs"] == 2
        )
    status, out, err = _run(capsys, *argv)  # finished fractions are skipped
    assert status == 0 and err.count("finished earlier, skipped") == 2

    model_path = Path(rows[1]["model"])
    status, out, err = _run(
        capsys, "evaluate", "--model", model_path, "--data", images, "--top-k", "1,3,5"
    )
    assert status == 0, err
    report = json.loads(out)
    model = keras.models.load_model(model_path)
    imageset = data.load(images)
    scores = model.predict(imageset.numpy_images(), verbose=0)
    assert report["num_examples"] == 200
    assert report["accuracy"] == pytest.approx(np.mean(scores.argmax(1) == imageset.labels))
    top5 = np.argsort(-scores, axis=1)[:, :5]
    assert report["top_5_accuracy"] == pytest.approx(
        np.mean((top5 == imageset.labels[:, None]).any(1))
    )
    assert set(report["classification_report"]) >= set(imageset.class_names)


def test_evaluate_checks_the_model_against_the_data(
    images, tiny_imagenet_zip_path, tmp_path, capsys
):
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    path = tmp_path / "model.keras"
    model.save(path)
    message = _error(
        capsys, "evaluate", "--model", path, "--data", tiny_imagenet_zip_path, "--split", "val"
    )
    assert (
        "The model takes 32x32 images but" in message
        and "holds 64x64; resize them when loading (`image_size` (--image-size) 32)." in message
    )
    message = _error(
        capsys,
        "evaluate",
        "--model",
        path,
        "--data",
        tiny_imagenet_zip_path,
        "--split",
        "val",
        "--image-size",
        32,
    )
    assert "The model has 10 outputs but" in message and "has 40 classes" in message
    message = _error(capsys, "evaluate", "--model", tmp_path / "missing.keras", "--data", images)
    assert message.endswith("missing.keras' does not exist.")
    message = _error(capsys, "evaluate", "--model", tmp_path / "model.h5", "--data", images)
    assert "model.h5' must be a .keras file" in message


def test_weights_that_cannot_be_fetched_fail_before_anything_is_written(
    images, tmp_path, monkeypatch, capsys
):
    from keras_ssl import encoders

    build = encoders.get

    def offline(name, **kwargs):
        if kwargs.get("weights") != "imagenet":
            return build(name, **kwargs)
        raise Exception(
            "URL fetch failure on https://storage.googleapis.com/...: Name or service not known"
        )

    monkeypatch.setattr(encoders, "get", offline)
    output = tmp_path / "run"
    message = _error(
        capsys, "reproduce", "umea", "--profile", "paper", "--data", images, "--output", output
    )
    assert (
        "Could not load weights 'imagenet' (`encoder.weights`) for mobilenet_v2 "
        "(Exception: URL fetch failure" in message
    )
    assert "or remove the variant (variants.<name>=null)" in message
    assert not output.exists()


# Settings that cannot run together: each must fail the dry run in one line naming its key,
# before anything is loaded or trained.
IMPOSSIBLE_CONFIGS = [
    (["evaluations.baseline.recipe_args.cache_features=true"], "evaluations.baseline.recipe_args", "cache_features=True"),
    (["evaluations.baseline.recipe_args.freeze_first=all"], "evaluations.baseline.recipe_args", "set freeze_first to 0 (got 'all')"),
    (["evaluations.finetune.recipe_args.freeze_first=500"], "evaluations.finetune.recipe_args", "500"),
    (["evaluations.finetune.recipe_args.freeze_first=block_99"], "evaluations.finetune.recipe_args", "block_99"),
    (["evaluations.finetune.recipe_args.monitor=val_auc"], "evaluations.finetune.recipe_args", "'val_auc' is not logged"),
    (["evaluations.finetune.recipe_args.multi_label=true"], "evaluations.finetune.recipe_args", "one class per image; set multi_label: false"),
    (["evaluations.finetune.recipe=linear_probe", "evaluations.finetune.recipe_args.augment=true"],
     "evaluations.finetune.recipe_args", "cache_features"),
    (["evaluations.finetune.kind=knn", "evaluations.finetune.k=0"], "evaluations.finetune.k", ">= 1"),
    (["data.val=0"], "data.select_on", "`data.val` is 0"),
    (["data.select_on=test"], "data.select_on", "set data.val=0"),
    (["data.select_on=best"], "data.select_on", "expected one of: val, test"),
    (["evaluations.baseline.fractions=[0, 1]"], "evaluations.baseline.fractions", "(0, 1]"),
    (["pretrain.batch_size=1"], "pretrain.batch_size", ">= 2"),
    (["pretrain.patience=3", "data.val=0", "data.select_on=test"], "variants.random.pretrain.patience", "`data.val` is 0"),
    (["pretrain.method_args.temperature=-1"], "pretrain.method_args", "temperature"),
    (["pretrain.method_args.mode=all"], "pretrain.method_args", "['mode'] are not arguments of 'simclr'"),
    (["pretrain.augment_args.crop=0.2"], "pretrain.augment_args", "for 'umea': Unknown argument"),
]  # fmt: skip


@pytest.mark.parametrize("assignments, key, problem", IMPOSSIBLE_CONFIGS)
def test_impossible_configs_fail_the_dry_run_naming_the_key(
    assignments, key, problem, images, tmp_path, capsys
):
    argv = ["reproduce", "umea", "--profile", "smoke", "--data", images, "--dry-run"]
    for assignment in assignments:
        argv += ["--set", assignment]
    message = _error(capsys, *argv, "--output", tmp_path / "run")
    assert f"`{key}`" in message and problem in message
    assert not (tmp_path / "run").exists()


def test_linear_probe_with_a_baseline_is_possible(images, tmp_path, capsys):
    """The pretrained side's recipe does not decide the baseline's (it has its own)."""
    status, out, _ = _run(
        capsys, "reproduce", "umea", "--profile", "smoke", "--data", images, "--dry-run",
        "--set", "evaluations.finetune.recipe=linear_probe",
        "--set", "evaluations.finetune.recipe_args={}", "--output", tmp_path / "run",
    )  # fmt: skip
    assert status == 0
    assert "Recipe of evaluation 'baseline', 'supervised':" in out


def test_distribution_and_precision_options_reach_the_experiment(tmp_path, capsys):
    argv = ["reproduce", "umea", "--profile", "paper", "--dry-run", "--output", tmp_path / "r",
            "--distribution", "mirrored", "--precision", "mixed_bfloat16"]  # fmt: skip
    status, out, _ = _run(capsys, *argv)
    assert status == 0
    assert "distribution:\n  strategy: mirrored\n  precision: mixed_bfloat16" in out
    message = _error(
        capsys,
        "pretrain",
        "--data",
        tmp_path,
        "--distribution",
        "horovod",
        "--dry-run",
        "--output",
        tmp_path / "e.keras",
    )
    assert "Unknown strategy 'horovod' (`distribution.strategy`" in message
    assert "--distribution" in message


def test_float_spellings_and_late_failing_values_are_settled_before_anything_runs(
    images, tmp_path, capsys
):
    """`1e-3` is a number in a file and in --set; values that would fail late fail first."""
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "name: mine\nencoder: {name: small_cnn, image_size: 32}\n"
        "pretrain: {method: rotation, epochs: 1, batch_size: 32, learning_rate: 1e-3}\n"
    )
    argv = ["reproduce", str(mine), "--data", images, "--dry-run", "--output", tmp_path / "r"]
    status, out, _ = _run(capsys, *argv, "--set", "pretrain.weight_decay=5E-4")
    assert status == 0 and "learning_rate: 0.001" in out and "weight_decay: 0.0005" in out
    message = _error(capsys, *argv, "--set", "seed=99999999999")
    assert message.endswith("`seed` must be an integer in [0, 4294967296); got 99999999999.")
    message = _error(capsys, "evaluate", "--model", tmp_path / "m.keras", "--data", images,
                     "--top-k", "1,0")  # fmt: skip
    assert message == "keras-ssl evaluate: error: `top_k` must be an integer >= 1; got 0."


def test_an_output_folder_and_a_diverged_run_end_in_one_line(images, tmp_path, capsys, monkeypatch):
    (tmp_path / "encoder.keras").mkdir()
    argv = ["pretrain", "--data", images, "--encoder", "small_cnn", "--image-size", "32"]
    message = _error(capsys, *argv, "--output", tmp_path / "encoder.keras", "--dry-run")
    assert message.endswith("(--output) is a folder; give a file name.")
    from keras_ssl import experiments
    from keras_ssl.callbacks import NaNLossError

    def diverge(*args, **kwargs):
        raise NaNLossError("The training loss became nan at epoch 1, batch 3.")

    monkeypatch.setattr(experiments, "run", diverge)
    status, _, err = _run(capsys, *argv, "--output", tmp_path / "e.keras")
    assert status == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "became nan at epoch 1, batch 3. The same command resumes with the same settings" in err
