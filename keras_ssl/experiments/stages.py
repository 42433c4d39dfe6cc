"""The stages of an experiment, in the order they run, and the `--dry-run` description."""

from __future__ import annotations

import dataclasses

from keras_ssl.config import dump_yaml
from keras_ssl.experiments.schema import Experiment

SPLIT_FILE = "split.json"
_PRETRAIN_FILES = ("encoder.keras", "log.csv", "checkpoint-epochNNNN.weights.h5")


@dataclasses.dataclass(frozen=True)
class Stage:
    """One step of a run: its name (also its folder), what it does and what it writes.

    Attributes:
        name: e.g. "pretrain/random" or "finetune/random/10pct".
        kind: "data", "pretrain", "evaluate" or "report".
        description: one line, for banners and `--dry-run`.
        outputs: the files it writes, relative to the run folder.
        variant, evaluation, fraction: what the stage is of (a pretrain stage: the variant).
    """

    name: str
    kind: str
    description: str
    outputs: tuple[str, ...]
    variant: str | None = None
    evaluation: str | None = None
    fraction: float | None = None


def fraction_label(fraction: float) -> str:
    """The folder name of a label fraction: 1.0 -> "100pct", 0.005 -> "0.5pct"."""
    return f"{round(fraction * 100, 6):g}pct"


def _pretrain_stage(variant) -> Stage:
    spec, encoder, name = variant.pretrain, variant.encoder, f"pretrain/{variant.name}"
    size = f"{encoder.image_size}x{encoder.image_size}"
    description = (
        f"{spec.method} pretraining of {encoder.name} (weights={encoder.weights!r}) at {size}, "
        f"{spec.epochs} epochs of batch {spec.batch_size}"
    )
    outputs = tuple(f"{name}/{file}" for file in _PRETRAIN_FILES)
    return Stage(name, "pretrain", description, outputs, variant.name)


def _evaluation_stage(variant, evaluation, fraction: float) -> Stage:
    name = f"{evaluation.name}/{variant.name}/{fraction_label(fraction)}"
    recipe = evaluation.resolved_recipe()
    how = f"recipe {recipe.name!r}" if recipe is not None else f"k={evaluation.k}"
    classes = f", classes {', '.join(evaluation.classes)}" if evaluation.classes else ""
    what = f"{evaluation.kind} on {fraction * 100:g}% of the training labels ({how}{classes})"
    files = ("metrics.json", "model.keras", "log.csv") if recipe is not None else ("metrics.json",)
    outputs = tuple(f"{name}/{file}" for file in files)
    return Stage(name, "evaluate", what, outputs, variant.name, evaluation.name, fraction)


def plan(experiment: Experiment) -> list[Stage]:
    """The stages of a run of `experiment`, in the order they run."""
    data = experiment.data
    split = (
        f"load {data.source!r}, split off the held-out test set (data.test={data.test}) "
        f"and a validation set (data.val={data.val})"
    )
    stages = [Stage("data", "data", split, ("config.yaml", "run_info.json", SPLIT_FILE))]
    for variant in experiment.variants:
        if variant.pretrain is not None:
            stages.append(_pretrain_stage(variant))
        for evaluation in (e for e in experiment.evaluations if e.measures(variant.name)):
            stages += [_evaluation_stage(variant, evaluation, f) for f in evaluation.fractions]
    figures = tuple(f"figures/{name}.png" for name in experiment.figure_files)
    report = "results.csv, results.md and the figures"
    stages.append(Stage("report", "report", report, ("results.csv", "results.md", *figures)))
    return stages


def describe(experiment: Experiment) -> str:
    """The plan and every resolved setting, as printed by `--dry-run`."""
    from keras_ssl.experiments.report import selection_protocol

    stages = plan(experiment)
    title = f" ({experiment.title})" if experiment.title else ""
    count = f"{len(stages)} stages"
    lines = [f"Experiment {experiment.name!r}{title}, profile {experiment.profile!r}: {count}", ""]
    for index, stage in enumerate(stages, start=1):
        lines.append(f"{index:>3}. {stage.name}: {stage.description}")
        lines.append(f"       -> {', '.join(stage.outputs)}")
    config = dump_yaml(experiment.get_config()).rstrip()
    lines += ["", "Resolved configuration (config.yaml):", config]
    lines += ["", f"Model selection: {selection_protocol(experiment)}."]
    for evaluation in experiment.evaluations:
        recipe = evaluation.resolved_recipe()
        if recipe is not None:
            lines.append(f"Recipe of evaluation {evaluation.name!r}, {recipe.name!r}:")
            lines += [f"  {key}: {value!r}" for key, value in recipe.get_config().items()]
    return "\n".join(lines)
