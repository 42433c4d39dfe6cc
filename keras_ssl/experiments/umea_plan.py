"""The plan of the Umeå experiment: its stages in order, and the `--dry-run` description."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from keras_ssl.experiments import finetuning, report
from keras_ssl.experiments.config import ExperimentConfig, to_yaml

SPLIT_FILE = "split.json"
_PRETRAIN_FILES = ("encoder.keras", "log.csv", "checkpoint-epochNNNN.weights.h5")
_FINETUNE_FILES = ("metrics.json", "model.keras", "log.csv")


def _files(folder: str, names: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"{folder}/{name}" for name in names)


@dataclasses.dataclass(frozen=True)
class Stage:
    """One step of the run: its name (also its folder), what it does and what it writes."""

    name: str
    kind: str  # "data", "pretrain", "finetune", "baseline" or "report"
    description: str
    outputs: tuple[str, ...]
    variant: str | None = None
    fraction: float | None = None


def variant_name(weights: str | None) -> str:
    """The folder name of an encoder initialisation: "imagenet", "random" or the file stem."""
    if weights is None:
        return "random"
    if weights == "imagenet":
        return "imagenet"
    return "file-" + Path(weights).stem


def plan(config: ExperimentConfig) -> list[Stage]:
    """The stages of a run of `config`, in the order they run."""
    pre, fine = config.pretrain, config.finetune
    stages = [
        Stage(
            "data",
            "data",
            f"load {config.data.source!r}, split off the held-out test set (data.test="
            f"{config.data.test}) and a validation set (data.val={config.data.val})",
            ("config.yaml", "run_info.json", SPLIT_FILE),
        )
    ]
    for weights in pre.weights:
        variant = variant_name(weights)
        stages.append(
            Stage(
                f"pretrain/{variant}",
                "pretrain",
                f"{pre.method} pretraining of {pre.encoder} (weights={weights!r}) at "
                f"{pre.image_size}x{pre.image_size}, {pre.epochs} epochs of batch {pre.batch_size}",
                _files(f"pretrain/{variant}", _PRETRAIN_FILES),
                variant,
            )
        )
        for fraction in fine.fractions:
            name = f"finetune/{variant}/{finetuning.fraction_label(fraction)}"
            what = f"fine-tune the pretrained encoder on {fraction * 100:g}% of the training labels"
            stages.append(
                Stage(
                    name,
                    "finetune",
                    f"{what} (recipe {fine.recipe!r})",
                    _files(name, _FINETUNE_FILES),
                    variant,
                    fraction,
                )
            )
        for fraction in fine.baseline_fractions:
            name = f"finetune/{variant}/baseline-{finetuning.fraction_label(fraction)}"
            what = f"baseline: {pre.encoder} (weights={weights!r}) without pretraining"
            stages.append(
                Stage(
                    name,
                    "baseline",
                    f"{what}, every layer trained, on {fraction * 100:g}% of the labels",
                    _files(name, _FINETUNE_FILES),
                    variant,
                    fraction,
                )
            )
    stages.append(
        Stage(
            "report",
            "report",
            "Table 1 beside the paper's, and Figures 3-5",
            ("results.csv", "results.md", *report.FIGURES.values()),
        )
    )
    return stages


def describe(config: ExperimentConfig) -> str:
    """The plan and every resolved hyperparameter, as printed by `--dry-run`."""
    fine = config.finetune
    lines = [f"Umeå experiment, profile {config.profile!r}: {len(plan(config))} stages", ""]
    for index, stage in enumerate(plan(config), start=1):
        lines.append(f"{index:>3}. {stage.name}: {stage.description}")
        lines.append(f"       -> {', '.join(stage.outputs)}")
    lines += ["", "Resolved configuration (config.yaml):", to_yaml(config).rstrip(), ""]
    lines.append(f"Model selection: {report.selection_protocol(config)}.")
    recipes = [("pretrained encoder", fine.resolved_recipe())]
    if fine.baseline_fractions:
        recipes.append(("baseline without pretraining", fine.resolved_baseline_recipe()))
    for side, recipe in recipes:
        lines.append(f"Fine-tuning recipe of the {side}, {recipe.name!r}:")
        lines += [f"  {key}: {value!r}" for key, value in recipe.get_config().items()]
    if config.pretrain.method == "simclr":
        lines.append(
            f"Views per pretraining step: 2 x {config.pretrain.batch_size} = "
            f"{2 * config.pretrain.batch_size}; NT-Xent temperature {config.pretrain.temperature}."
        )
    return "\n".join(lines)
