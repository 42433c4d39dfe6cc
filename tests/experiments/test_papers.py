"""The three other papers as experiment files: their settings against the papers, the
schema pieces they need, and their smoke profiles end to end on real images."""

import csv
import json
import math

import keras
import numpy as np
import pytest

from keras_ssl import experiments
from keras_ssl.experiments import ConfigError
from keras_ssl.experiments.schema import PretrainSpec, resolve
from keras_ssl.experiments.stages import plan
from keras_ssl.pretext.training import build_optimizer


def _read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


# -- the paper profiles hold the papers' settings ------------------------------------------


def test_simsiam_ablation_paper_profile_holds_the_papers_settings():
    """004 §2.1, §3, §4.1 and Table 1."""
    experiment = experiments.load("simsiam-ablation", profile="paper")
    assert [v.name for v in experiment.variants] == ["none", "noise", "cifar10"]
    none, noise, cifar = experiment.variants
    encoder = cifar.encoder
    assert (encoder.name, encoder.args, encoder.weights, encoder.image_size) == (
        "resnet18", {"cifar_stem": True}, None, 32,
    )  # fmt: skip
    assert none.pretrain is None and none.encoder == encoder
    pre = cifar.pretrain
    assert (pre.method, pre.epochs, pre.batch_size, pre.gradient_accumulation_steps) == (
        "simsiam", 100, 64, 8,
    )  # fmt: skip
    # 1e-3 × BatchSize / 256 with the effective batch 64 × 8.
    assert pre.learning_rate == pytest.approx(1e-3 * 64 * 8 / 256)
    assert (pre.optimizer, pre.schedule, pre.weight_decay) == ("adam", "cosine", 1e-5)
    assert pre.source is None and noise.pretrain.source == "gaussian_noise"
    assert noise.pretrain == PretrainSpec(**{**pre.__dict__, "source": "gaussian_noise"})
    data = experiment.data
    assert (data.source, data.test, data.test_source, data.test_split) == (
        "cifar10", 0, "cifar10", "test",
    )  # fmt: skip
    (finetune,) = experiment.evaluations
    recipe = finetune.resolved_recipe()
    assert (recipe.optimizer, recipe.learning_rate, recipe.weight_decay, recipe.batch_size) == (
        "adam", 1e-3, 1e-5, 64,
    )  # fmt: skip
    assert recipe.freeze_first == 0
    table_1 = {"none": 75.23, "noise": 83.12, "cifar10": 88.89}
    assert {v: finetune.reference_for(v)[1.0] for v in table_1} == table_1


def test_simsiam_stl10_paper_profile_holds_table_2():
    """004 Table 2: four backbones; ImageNet rows only where Keras publishes weights."""
    experiment = experiments.load("simsiam-stl10", profile="paper")
    variants = {v.name: v for v in experiment.variants}
    names = {v.encoder.name for v in variants.values()}
    assert names == {"resnet18", "efficientnet_b0", "vit_small", "pit_tiny"}
    assert [n for n, v in variants.items() if v.encoder.weights] == ["efficientnet_b0_imagenet"]
    for name, variant in variants.items():
        assert variant.encoder.image_size == 96
        if name.endswith("_stl10"):
            pre = variant.pretrain
            assert (pre.method, pre.source, pre.split, pre.epochs) == (
                "simsiam", "stl10", "unlabelled", 100,
            )  # fmt: skip
        else:
            assert variant.pretrain is None
    data = experiment.data
    assert (data.source, data.split, data.test_source, data.test_split) == (
        "stl10", "train", "stl10", "test",
    )  # fmt: skip
    (finetune,) = experiment.evaluations
    table_2 = {
        "resnet18_none": 65.73, "resnet18_stl10": 70.23, "efficientnet_b0_none": 65.30,
        "efficientnet_b0_stl10": 69.84, "efficientnet_b0_imagenet": 95.03, "vit_none": 53.74,
        "vit_stl10": 60.45, "pit_none": 58.14, "pit_stl10": 64.21,
    }  # fmt: skip
    assert {v: finetune.reference_for(v)[1.0] for v in variants} == table_2


def test_dino_cifar10_paper_profile_holds_the_papers_settings():
    """003 §IV.A (30,000 / 5,000 images at 224 px) and Fig. 2 (ViT-S/16 and /8)."""
    experiment = experiments.load("dino-cifar10", profile="paper")
    variants = {v.name: v for v in experiment.variants}
    assert list(variants) == ["random", "dino", "simclr", "random_s8", "dino_s8"]
    assert (
        variants["dino"].encoder.name == "vit_small" and variants["dino"].encoder.image_size == 224
    )
    assert variants["dino"].encoder.args == {"patch_size": 16}
    assert variants["dino_s8"].encoder.args == {"patch_size": 8}
    assert variants["dino"].pretrain.method == "dino" and variants["random"].pretrain is None
    assert variants["simclr"].pretrain.method == "simclr"
    assert variants["simclr"].pretrain.epochs == variants["dino"].pretrain.epochs  # same budget
    data = experiment.data
    assert data.max_images - data.test == 30_000 and data.test == 5_000
    linear, supervised = experiment.evaluations
    recipe = linear.resolved_recipe()
    assert (linear.kind, recipe.optimizer, recipe.epochs, recipe.freeze_first) == (
        "linear_probe", "sgd", 20, "all",
    )  # fmt: skip
    figure_2 = {"random": 22.0, "dino": 45.9, "random_s8": 21.8, "dino_s8": 44.7}
    assert {v: linear.reference_for(v)[1.0] for v in figure_2} == figure_2
    assert linear.reference_for("simclr") == {}
    assert supervised.kind == "baseline" and supervised.variants == ("random",)
    assert {"top3_curves", "loss_curves", "training_curves"} <= set(experiment.figures)


def test_simclr_pets_paper_profile_holds_the_papers_settings():
    """002 §3.1 and §4.1-4.4: the learning-rate table, batch 32 / 64, frozen, epochs."""
    experiment = experiments.load("simclr-pets", profile="paper")
    variants = {v.name: v for v in experiment.variants}
    assert (variants["simclr"].encoder.name, variants["simclr"].pretrain.method) == (
        "resnet50", "simclr",
    )  # fmt: skip
    assert variants["resnet50_imagenet"].encoder.weights == "imagenet"
    assert variants["vgg16_imagenet"].encoder.name == "vgg16"
    evaluations = {e.name: e for e in experiment.evaluations}
    base = evaluations["finetune"].resolved_recipe()
    assert (base.optimizer, base.learning_rate, base.batch_size, base.epochs) == (
        "adam", 1e-4, 64, 50,
    )  # fmt: skip
    assert (base.monitor, base.reduce_lr_factor, base.patience) == ("val_loss", 0.1, None)
    assert base.hidden_dims == (256,) and base.freeze_first == 0
    assert evaluations["batch_32"].resolved_recipe() == base.replace(batch_size=32)
    assert evaluations["frozen"].resolved_recipe() == base.replace(freeze_first="all")
    for epochs in (10, 20):
        assert evaluations[f"epochs_{epochs}"].resolved_recipe() == base.replace(epochs=epochs)
    table = {0.001: 44, 0.0008: 43, 0.0005: 50, 0.0004: 51, 0.00035: 53, 0.0003: 51, 0.0001: 50}
    for rate, accuracy in table.items():
        sweep = evaluations[f"lr_{rate}"]
        assert sweep.resolved_recipe() == base.replace(learning_rate=rate, epochs=20, batch_size=32)
        assert sweep.variants == ("simclr",) and sweep.reference_for("simclr") == {1.0: accuracy}
    stages = [s.name for s in plan(experiment)]
    assert "lr_0.001/simclr/100pct" in stages and "lr_0.001/resnet50_imagenet/100pct" not in stages


@pytest.mark.parametrize(
    "name, stages, line",
    [
        ("simsiam-ablation", 7, "pretrain/noise: simsiam pretraining of resnet18 (weights=None) at 32x32, 100 epochs of batch 64"),
        ("simsiam-stl10", 15, "pretrain/vit_stl10: simsiam pretraining of vit_small (weights=None) at 96x96, 100 epochs of batch 64"),
        ("dino-cifar10", 11, "pretrain/dino_s8: dino pretraining of vit_small (weights=None) at 224x224, 100 epochs of batch 64"),
        ("simclr-pets", 25, "lr_0.00035/simclr/100pct: finetune on 100% of the training labels (recipe 'full')"),
    ],
)  # fmt: skip
def test_paper_profiles_pass_the_dry_run_and_write_nothing(name, stages, line, tmp_path, capsys):
    """Every encoder of the paper profile is built at the paper's size and every setting checked."""
    from keras_ssl import cli

    output = tmp_path / "run"
    argv = ["reproduce", name, "--profile", "paper", "--dry-run", "--output", str(output)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert f"profile 'paper': {stages} stages" in out and line in out
    assert not output.exists()


@pytest.mark.parametrize(
    "name", ["simsiam-ablation", "simsiam-stl10", "simsiam-celeba", "dino-cifar10", "simclr-pets"]
)
def test_every_profile_resolves_and_cpu_small_is_the_default(name):
    assert experiments.profiles(name) == ["paper", "cpu-small", "smoke"]
    assert experiments.load(name).profile == "cpu-small"
    for profile in experiments.profiles(name):
        experiments.load(name, profile=profile)


# -- the schema pieces the papers need -------------------------------------------------------


def _document(**changes):
    document = {
        "name": "x",
        "data": {"source": "cifar10", "test": 0.2, "val": 0.1},
        "encoder": {"name": "small_cnn", "image_size": 32},
        "pretrain": {"method": "simclr"},
        "variants": {"a": {}, "b": {"pretrain": None}},
        "evaluations": {"probe": {"kind": "linear_probe", "fractions": [0.1, 1.0]}},
    }
    for key, value in changes.items():
        document[key] = value
    return document


def test_references_per_variant_and_evaluations_of_some_variants():
    evaluations = {
        "probe": {
            "kind": "linear_probe", "fractions": [1.0], "variants": ["b"],
            "reference": {"a": {1.0: 50}, "b": {"1.0": "40.5"}},
        },
        "flat": {"kind": "finetune", "reference": {1.0: 60}},
    }  # fmt: skip
    experiment = resolve(_document(evaluations=evaluations))
    probe, flat = experiment.evaluations
    assert probe.reference_for("a") == {1.0: 50.0} and probe.reference_for("b") == {1.0: 40.5}
    assert flat.reference_for("a") == flat.reference_for("b") == {1.0: 60.0}
    assert probe.measures("b") and not probe.measures("a") and flat.measures("a")
    assert [s.name for s in plan(experiment) if s.kind == "evaluate"] == [
        "flat/a/100pct", "probe/b/100pct", "flat/b/100pct",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "evaluation, message",
    [
        ({"kind": "finetune", "reference": {"c": {1.0: 50}}}, r"`evaluations.e.reference` names variants \['c'\]"),
        ({"kind": "finetune", "variants": ["a", "z"]}, r"`evaluations.e.variants` names variants \['z'\]"),
        ({"kind": "finetune", "variants": "a"}, r"`evaluations.e.variants` must be a list"),
        ({"kind": "finetune", "reference": {"a": {"x": 1}}}, r"`evaluations.e.reference.a` has the key 'x': input should be a valid number"),
    ],
)  # fmt: skip
def test_evaluations_naming_unknown_variants_fail(evaluation, message):
    with pytest.raises(ConfigError, match=message):
        resolve(_document(evaluations={"e": evaluation}))


def test_a_profile_may_remove_a_variant_the_references_name():
    document = _document(
        evaluations={"e": {"kind": "finetune", "reference": {"a": {1.0: 5}, "b": {1.0: 6}}}},
        profiles={"small": {"variants": {"a": None}}},
    )
    assert [v.name for v in resolve(document, "small").variants] == ["b"]


@pytest.mark.parametrize(
    "pretrain, message",
    [
        ({"split": "unlabelled"}, r"`pretrain.split` / `pretrain.max_images` choose images of"),
        ({"schedule": "linear"}, r"`pretrain.schedule`.*constant, cosine"),
        ({"gradient_accumulation_steps": 1}, r"`pretrain.gradient_accumulation_steps`"),
        ({"weight_decay": -1.0}, r"`pretrain.weight_decay`"),
    ],
)
def test_bad_pretraining_settings_fail_naming_the_key(pretrain, message):
    with pytest.raises(ConfigError, match=message):
        resolve(_document(pretrain={"method": "simclr", **pretrain}))


@pytest.mark.parametrize(
    "figures, message",
    [
        ({"accuracy_bars": {"fig": ["probe", "nope"]}}, r"`figures.accuracy_bars.fig` names evaluations \['nope'\]"),
        ({"accuracy_bars": "fig"}, r"`figures.accuracy_bars` must be a mapping"),
        ({"loss_curves": ["a"]}, r"`figures.loss_curves`"),
    ],
)  # fmt: skip
def test_bar_figures_name_evaluations_of_the_file(figures, message):
    with pytest.raises(ConfigError, match=message):
        resolve(_document(figures=figures))
    bars = resolve(_document(figures={"accuracy_bars": {"a": ["probe"]}, "views": "v"}))
    assert bars.figure_files == ["a", "v"]


def test_a_test_split_needs_a_test_source():
    with pytest.raises(ConfigError, match=r"`data.test_split` chooses the split of"):
        resolve(_document(data={"source": "cifar10", "test": 0.2, "test_split": "test"}))


def test_the_cosine_schedule_decays_to_zero_over_the_epochs_and_accumulation_is_set():
    spec = PretrainSpec(
        schedule="cosine", epochs=4, learning_rate=2e-3, weight_decay=1e-5,
        gradient_accumulation_steps=8,
    )  # fmt: skip
    optimizer = build_optimizer(spec, steps_per_epoch=25)
    total = 4 * 25
    for step in (0, 10, 50, 99, 100):
        expected = 0.5 * 2e-3 * (1 + math.cos(math.pi * step / total))
        # The batch counter the schedule reads (with accumulation, `iterations` counts
        # updates: `_iterations // 8`); the cosine must decay over batches.
        optimizer._iterations.assign(step)
        actual = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        assert actual == pytest.approx(expected, rel=1e-5, abs=1e-9), step
    assert optimizer.weight_decay == 1e-5 and optimizer.gradient_accumulation_steps == 8
    constant = build_optimizer(PretrainSpec(learning_rate=0.1))
    assert float(constant.learning_rate) == pytest.approx(0.1) and constant.weight_decay is None
    with pytest.raises(ValueError, match="needs `steps_per_epoch`"):
        build_optimizer(spec)


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_a_warm_up_rises_linearly_then_the_schedule_follows_and_clipnorm_is_set(schedule):
    spec = PretrainSpec(
        schedule=schedule, epochs=5, warmup_epochs=1, learning_rate=1e-3, clipnorm=3.0
    )
    optimizer = build_optimizer(spec, steps_per_epoch=10)
    for step in (0, 5, 10, 30, 50):
        if step <= 10:  # DINO's linear warm-up from 0 over the first epoch
            expected = 1e-3 * step / 10
        elif schedule == "cosine":  # then a cosine to 0 over the other 40 steps
            expected = 0.5 * 1e-3 * (1 + math.cos(math.pi * (step - 10) / 40))
        else:
            expected = 1e-3
        optimizer._iterations.assign(step)
        actual = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        assert actual == pytest.approx(expected, rel=1e-5, abs=1e-9), step
    assert optimizer.clipnorm == 3.0
    with pytest.raises(ConfigError, match=r"`warmup_epochs` 5 leaves none of the 5"):
        PretrainSpec(epochs=5, warmup_epochs=5)


# -- the smoke profiles end to end on real images ---------------------------------------------


def _run(name, source, folder):
    experiment = experiments.load(name, "smoke", [f"data.source={json.dumps(str(source))}"])
    return experiments.run(experiment, folder, verbose=0, log=lambda line: None)


@pytest.mark.slow
def test_simsiam_ablation_smoke_pretrains_one_variant_on_noise(cifar_zip_path, tmp_path):
    result = _run("simsiam-ablation", cifar_zip_path, tmp_path / "run")
    folder = result.folder
    rows = _read_csv(folder / "results.csv")
    assert [(r["variant"], float(r["paper"])) for r in rows] == [
        ("none", 75.23), ("noise", 83.12), ("cifar10", 88.89),
    ]  # fmt: skip
    info = json.loads((folder / "run_info.json").read_text())
    assert info["data"]["pretraining_images"] == {"gaussian_noise": 256}
    noise_log = _read_csv(folder / "pretrain/noise/log.csv")
    cifar_log = _read_csv(folder / "pretrain/cifar10/log.csv")
    # 256 noise images make 8 batches of 32, 2 accumulated a step; CIFAR's 250 make 7.
    assert float(noise_log[0]["loss"]) != float(cifar_log[0]["loss"])
    markdown = (folder / "results.md").read_text()
    assert "| Variant | Labeled data | finetune, validation (%) | finetune, test (%) |" in markdown
    assert "Pretraining images from `gaussian_noise`: 256." in markdown
    assert "2 accumulated batches a step, on `gaussian_noise`" in markdown


@pytest.mark.slow
def test_dino_cifar10_smoke_draws_top3_and_loss_curves(cifar_zip_path, tmp_path):
    result = _run("dino-cifar10", cifar_zip_path, tmp_path / "run")
    folder = result.folder
    assert "supervised/random/100pct" in result.ran and "supervised/dino/100pct" not in result.ran
    for name in ("fig4_fig8_top1_accuracy", "fig5_fig9_top3_accuracy", "fig6_fig10_loss"):
        assert (folder / f"figures/{name}.png").stat().st_size > 10_000
    metrics = json.loads((folder / "linear/dino/100pct/metrics.json").read_text())
    assert len(metrics["history"]["top3_accuracy"]) == metrics["epochs_run"] == 2
    assert metrics["top_3_accuracy"] >= metrics["accuracy"]
    rows = {
        r["variant"]: r for r in _read_csv(folder / "results.csv") if r["evaluation"] == "linear"
    }
    assert (float(rows["random"]["paper"]), float(rows["dino"]["paper"])) == (22.0, 45.9)
    assert math.isnan(float(rows["simclr"]["paper"]))


@pytest.mark.slow
def test_simclr_pets_smoke_puts_the_rate_table_beside_ours(tiny_imagenet_zip_path, tmp_path):
    result = _run("simclr-pets", tiny_imagenet_zip_path, tmp_path / "run")
    folder = result.folder
    markdown = (folder / "results.md").read_text()
    assert "| Evaluation | Labeled data | Validation (%) | Test (%) | Test top-3 (%) |" in markdown
    row = next(r for r in _read_csv(folder / "results.csv") if r["evaluation"] == "lr_0.001")
    assert row["variant"] == "simclr" and float(row["paper"]) == 44.0
    for name in (
        "fig3_learning_rate",
        "fig4_batch_size",
        "fig5_finetuned_vs_frozen",
        "fig6_epochs",
    ):
        assert (folder / f"figures/{name}.png").stat().st_size > 10_000
    frozen = json.loads((folder / "frozen/simclr/100pct/metrics.json").read_text())
    report = frozen["test"]["classification_report"]
    assert len([k for k in report if k not in ("accuracy", "macro avg", "weighted avg")]) == 40
    assert np.isclose(report["accuracy"], frozen["accuracy"])
