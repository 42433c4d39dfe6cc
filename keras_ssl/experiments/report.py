"""The run's report: `results.csv`, `results.md` (ours beside the paper's) and the figures.

Everything here is rebuilt from the files of the finished stages (`metrics.json`,
`log.csv`), so a resumed run reports exactly what a run without interruption would.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from keras_ssl.experiments.run_folder import atomic_write, write_csv, write_text
from keras_ssl.experiments.schema import MULTILABEL_METRICS, Experiment


def _number(value) -> str:
    return (
        "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"
    )


def comparison_rows(experiment: Experiment, metrics: Sequence[Mapping]) -> list[dict]:
    """One row per evaluation stage, ours beside the paper's (percent; NaN where it has none)."""
    rows = []
    for m in metrics:
        evaluation = experiment.evaluation(m["evaluation"])
        paper = evaluation.reference_for(m["variant"]).get(m["fraction"], math.nan)
        ours = 100 * m["accuracy"]
        rows.append(
            {
                "variant": m["variant"],
                "evaluation": m["evaluation"],
                "kind": m["kind"],
                "fraction": m["fraction"],
                "labels_used": m["labels_used"],
                "accuracy": round(ours, 2),
                "val_accuracy": round(100 * _validation_accuracy(m), 2),
                "top_3_accuracy": round(100 * m.get("top_3_accuracy", math.nan), 2),
                "paper": paper,
                "difference": round(ours - paper, 2),
                "best_epoch": m.get("best_epoch"),
                "epochs_run": m.get("epochs_run"),
                "seconds": m.get("seconds"),
            }
        )
    return rows


def _header(columns: Sequence[str], labels: int) -> list[str]:
    """A Markdown table's header lines: `labels` text columns, then right-aligned numbers."""
    alignments = ["---"] * labels + ["---:"] * (len(columns) - labels)
    return ["| " + " | ".join(columns) + " |", "| " + " | ".join(alignments) + " |"]


def _validation_accuracy(metrics: Mapping) -> float:
    """The selected model's validation accuracy (NaN for kNN and selection on test)."""
    if metrics.get("selected_on", "val") != "val":
        return math.nan
    return (metrics.get("early_stopping_metrics") or {}).get("accuracy", math.nan)


def markdown_table(experiment: Experiment, rows: Sequence[Mapping]) -> str:
    """A variant's table: a row per fraction, a column per evaluation, the paper's beside.

    "Gain" is the first evaluation on the pretrained encoder minus the first baseline;
    "Difference" is the first evaluation with reference numbers minus the paper's.
    """
    variant = rows[0]["variant"]
    evaluations = [
        e for e in experiment.evaluations if any(r["evaluation"] == e.name for r in rows)
    ]
    ours = {(r["evaluation"], r["fraction"]): r["accuracy"] for r in rows}
    pretrained = next((e.name for e in evaluations if e.kind != "baseline"), None)
    baseline = next((e.name for e in evaluations if e.kind == "baseline"), None)
    referenced = [e for e in evaluations if e.reference_for(variant)]
    header = ["Labeled data", *(f"{e.name} (%)" for e in evaluations)]
    if pretrained and baseline:
        header.append(f"Gain, {pretrained} − {baseline} (pp)")
    header += [f"{e.name}, paper (%)" for e in referenced]
    if referenced:
        header.append(f"Difference, {referenced[0].name} − paper (pp)")
    lines = _header(header, labels=1)
    for fraction in sorted({r["fraction"] for r in rows}):
        cells = [ours.get((e.name, fraction), math.nan) for e in evaluations]
        if pretrained and baseline:
            cells.append(
                ours.get((pretrained, fraction), math.nan)
                - ours.get((baseline, fraction), math.nan)
            )
        papers = [e.reference_for(variant).get(fraction, math.nan) for e in referenced]
        cells += papers
        if referenced:
            cells.append(ours.get((referenced[0].name, fraction), math.nan) - papers[0])
        lines.append(f"| {fraction * 100:g}% | {' | '.join(map(_number, cells))} |")
    return "\n".join(lines)


def evaluations_table(experiment: Experiment, rows: Sequence[Mapping]) -> str:
    """A variant's table at one label fraction: a row per evaluation (e.g. the learning
    rates of a sweep, SimCLR Pets' §4.1 table), ours beside the paper's."""
    variant = rows[0]["variant"]
    header = ["Evaluation", "Labeled data", "Validation (%)", "Test (%)", "Test top-3 (%)"]
    header += ["Paper (%)", "Difference (pp)"]
    lines = _header(header, labels=2)
    by_name = {r["evaluation"]: r for r in rows}
    for e in experiment.evaluations:
        row = by_name.get(e.name)
        if row is None:
            continue
        paper = e.reference_for(variant).get(row["fraction"], math.nan)
        cells = [row["val_accuracy"], row["accuracy"], row["top_3_accuracy"], paper]
        cells.append(row["accuracy"] - paper)
        numbers = " | ".join(map(_number, cells))
        lines.append(f"| {e.name} | {row['fraction'] * 100:g}% | {numbers} |")
    return "\n".join(lines)


def variants_table(experiment: Experiment, rows: Sequence[Mapping]) -> str:
    """Every variant in one table, as the papers compare them: a row per variant and
    fraction, per evaluation our validation, test and test top-3 accuracy beside the paper's.

    Example (SimSiam 004's Table 1 layout):

    | Variant | Labeled data | finetune, validation (%) | finetune, test (%) | finetune, paper (%) | ... |
    """
    evaluations = [
        e for e in experiment.evaluations if any(r["evaluation"] == e.name for r in rows)
    ]
    by_key = {(r["variant"], r["evaluation"], r["fraction"]): r for r in rows}
    header = ["Variant", "Labeled data"]
    for e in evaluations:
        header += [f"{e.name}, validation (%)", f"{e.name}, test (%)", f"{e.name}, test top-3 (%)"]
        if e.reference:
            header += [f"{e.name}, paper (%)", f"{e.name} − paper (pp)"]
    lines = _header(header, labels=2)
    for variant in experiment.variants:
        for fraction in sorted({r["fraction"] for r in rows if r["variant"] == variant.name}):
            cells = []
            for e in evaluations:
                row = by_key.get((variant.name, e.name, fraction), {})
                ours = row.get("accuracy", math.nan)
                cells += [
                    row.get("val_accuracy", math.nan),
                    ours,
                    row.get("top_3_accuracy", math.nan),
                ]
                if e.reference:
                    paper = (
                        e.reference_for(variant.name).get(fraction, math.nan) if row else math.nan
                    )
                    cells += [paper, ours - paper]
            numbers = " | ".join(map(_number, cells))
            lines.append(f"| {variant.name} | {fraction * 100:g}% | {numbers} |")
    return "\n".join(lines)


def _is_multi_label(metrics: Mapping) -> bool:
    return bool((metrics.get("test") or {}).get("multilabel"))


def multilabel_table(experiment: Experiment, metrics: Sequence[Mapping]) -> str:
    """Multi-label stages in SimSiam 004's Table 3 layout: a row per variant, evaluation
    and split, macro and micro accuracy, recall and ROC-AUC (fractions), the paper's in
    brackets beside the metric the experiment file compares it with."""
    header = ["Variant", "Evaluation", "Images", *(m.replace("_", " ") for m in MULTILABEL_METRICS)]
    lines = _header(header, labels=3)
    for m in filter(_is_multi_label, metrics):
        paper = experiment.evaluation(m["evaluation"]).reference_metrics.get(m["variant"], {})
        for split in ("validation", "test"):
            if m.get(split) is None:
                continue
            cells = []
            for name in MULTILABEL_METRICS:
                ours, theirs = m[split].get(name), paper.get(f"{split}.{name}")
                cell = "–" if ours is None else f"{ours:.4f}"
                cells.append(cell if theirs is None else f"{cell} (paper {theirs:.4f})")
            lines.append(f"| {m['variant']} | {m['evaluation']} | {split} | {' | '.join(cells)} |")
    return "\n".join(lines)


_MULTILABEL_NOTE = (
    "Macro: the mean over attributes; micro: pooled over every (image, attribute) entry. With "
    "every attribute labelled on every image, macro and micro accuracy are equal; recall is "
    "the share of present attributes predicted present (threshold 0.5). The other tables' "
    "accuracy of a multi-label stage is the micro accuracy."
)


def write_tables(folder: Path, experiment: Experiment, metrics: Sequence[Mapping], info: Mapping):
    """Writes `results.csv` (every stage) and `results.md` (a table per variant)."""
    rows = comparison_rows(experiment, metrics)
    write_csv(folder / "results.csv", rows)
    title = f" ({experiment.title})" if experiment.title else ""
    lines = [f"# Experiment `{experiment.name}`{title}, profile `{experiment.profile}`", ""]
    lines += [_summary(experiment, info), ""]
    if len(experiment.variants) > 1:
        lines += ["## Every variant", "", variants_table(experiment, rows), ""]
    for variant in experiment.variants:
        variant_rows = [r for r in rows if r["variant"] == variant.name]
        if variant_rows:
            lines += [f"## Variant `{variant.name}`: {_variant_line(variant)}", ""]
            one_fraction = len({r["fraction"] for r in variant_rows}) == 1
            if one_fraction and len(variant_rows) > 2:
                lines += [evaluations_table(experiment, variant_rows), ""]
            else:
                lines += [markdown_table(experiment, variant_rows), ""]
    if any(map(_is_multi_label, metrics)):
        lines += ["## Multi-label metrics", "", multilabel_table(experiment, metrics), ""]
        lines += [_MULTILABEL_NOTE, ""]
    if experiment.reference:
        lines += [f"Paper: {experiment.reference}", ""]
    figures = ", ".join(f"`figures/{name}.png`" for name in experiment.figure_files)
    lines += ["Accuracies on the held-out test images, in percent; differences in points."]
    lines += [f"Figures: {figures}." if figures else "", ""]
    write_text(folder / "results.md", "\n".join(lines))
    return rows


def _variant_line(variant) -> str:
    encoder = variant.encoder
    line = f"{encoder.name} {encoder.args or ''} weights={encoder.weights!r} at {encoder.image_size}×{encoder.image_size}"
    spec = variant.pretrain
    if spec is None:
        return line + ", not pretrained"
    extras = [
        f"{spec.schedule} schedule" if spec.schedule != "constant" else "",
        f"{spec.warmup_epochs} warm-up epochs" if spec.warmup_epochs else "",
        f"gradients clipped at norm {spec.clipnorm:g}" if spec.clipnorm else "",
        f"weight decay {spec.weight_decay:g}" if spec.weight_decay else "",
        f"{spec.gradient_accumulation_steps} accumulated batches a step"
        if spec.gradient_accumulation_steps
        else "",
        f"on `{spec.source}`" + (f" ({spec.split})" if spec.split else "") if spec.source else "",
    ]
    return (
        f"{line}; {spec.method} {spec.method_args or ''}, {spec.epochs} epochs of batch "
        f"{spec.batch_size}, {spec.optimizer} {spec.learning_rate:g}, augment {spec.augment!r}"
        + "".join(f", {extra}" for extra in extras if extra)
    )


def _summary(experiment: Experiment, info: Mapping) -> str:
    data = info.get("data", {})
    total = sum(stage.get("seconds", 0.0) for stage in info.get("stages", {}).values())
    versions = info.get("versions", {})
    commands = [s["command"] for s in info.get("sessions", []) if s.get("command")]
    evaluations = "; ".join(
        f"`{e.name}`: {e.kind}"
        + (
            f" (recipe `{e.resolved_recipe().name}` {e.recipe_args})"
            if e.resolved_recipe()
            else f" (k={e.k})"
        )
        + (f" on classes {', '.join(e.classes)}" if e.classes else "")
        for e in experiment.evaluations
    )
    return "\n".join(
        [
            *([f"- Command: `{commands[0]}`"] if commands else []),
            f"- Data: `{experiment.data.source}`: {data.get('train', '?')} training, "
            f"{data.get('val', '?')} validation and {data.get('test', '?')} held-out test images "
            f"({data.get('num_classes', '?')} "
            f"{'attributes, multi-label' if data.get('multi_label') else 'classes'}).",
            *[
                f"- Pretraining images from `{source}`: {count}."
                for source, count in data.get("pretraining_images", {}).items()
            ],
            f"- Evaluations: {evaluations}.",
            f"- **Model selection:** {selection_protocol(experiment)}.",
            f"- Wall time of all stages: {total / 60:.1f} min; seed {experiment.seed}; keras_ssl "
            f"{versions.get('keras_ssl', '?')}, TensorFlow {versions.get('tensorflow', '?')}, "
            f"Keras {versions.get('keras', '?')} ({versions.get('keras_backend', '?')}).",
        ]
    )


def selection_protocol(experiment: Experiment) -> str:
    """One line on what model selection watches, for `--dry-run` and `results.md`."""
    if experiment.selects_on_test:
        return (
            "early stopping, best-weight restore and the learning-rate schedule watch the "
            "held-out TEST images (data.select_on=test, the Umeå report's protocol): accuracies "
            "are selected on the images they are measured on, so they are optimistic"
        )
    return (
        f"early stopping, best-weight restore and the learning-rate schedule watch a validation "
        f"split carved from the training images (data.val={experiment.data.val}); the held-out "
        "test images are scored once, at the end of each stage"
    )


# -- figures ---------------------------------------------------------------------------------


def _save(figure, path: Path) -> Path:
    atomic_write(path, lambda temporary: figure.savefig(temporary, dpi=120, bbox_inches="tight"))
    return path


def _grid(count: int, width: float, height: float, columns: int | None = None):
    from matplotlib.figure import Figure

    columns = min(columns or count, count) or 1
    rows = -(-count // columns) or 1
    figure = Figure(figsize=(width * columns, height * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for ax in axes[count:]:
        ax.set_axis_off()
    return figure, axes


def _pretext_curves(folder: Path, experiment: Experiment, metrics, images):
    """Loss (and the method's metric) of each pretraining, training and validation."""
    from keras_ssl import plots, pretext

    pretrained = [v for v in experiment.variants if v.pretrain is not None]
    if not pretrained:
        return None
    figure, axes = _grid(2 * len(pretrained), 5, 3.6, columns=2)
    for index, variant in enumerate(pretrained):
        log = folder / f"pretrain/{variant.name}/log.csv"
        method = pretext.method_class(variant.pretrain.method)
        plots.plot_pretext_loss(
            log,
            loss_name=method.loss_name,
            title=f"Pretext loss, {variant.name}",
            ax=axes[2 * index],
        )
        plots.plot_training_curves(
            {"": log}, metric=method.monitor, title=f"Pretext {method.monitor}, {variant.name}",
            ax=axes[2 * index + 1],
        )  # fmt: skip
        axes[2 * index + 1].legend(["training", "validation"], fontsize="small")
    return figure


def _curves(metric: str):
    """A figure kind: one small panel per trained model, `metric` per epoch (and `val_`)."""

    def figure_of(folder: Path, experiment: Experiment, metrics, images):
        from keras_ssl import plots

        runs = [m for m in metrics if metric in (m.get("history") or {})]
        if not runs:
            return None
        figure, axes = _grid(len(runs), 3.6, 2.8, columns=4)
        for ax, m in zip(axes, runs):
            title = f"{m['evaluation']} {m['fraction'] * 100:g}%, {m['variant']}"
            plots.plot_training_curves({"": m["history"]}, metric=metric, title=title, ax=ax)
            ax.legend(["training", "validation"], fontsize="x-small")
        return figure

    figure_of.__doc__ = f"Training and validation {metric} per epoch of every trained model."
    return figure_of


def _label_efficiency(folder: Path, experiment: Experiment, metrics, images):
    """Accuracy against the label fraction: every evaluation of a variant, the paper's dashed."""
    from keras_ssl import plots

    figure, axes = _grid(len(experiment.variants), 6, 4)
    for ax, variant in zip(axes, experiment.variants):
        for evaluation in experiment.evaluations:
            points = [{"fraction": m["fraction"], "accuracy": m["accuracy"]} for m in metrics
                      if m["variant"] == variant.name and m["evaluation"] == evaluation.name]  # fmt: skip
            if not points:
                continue
            reference = evaluation.reference_for(variant.name)
            paper = {f: a / 100 for f, a in reference.items()} or None
            plots.plot_label_efficiency(
                points, paper=paper, label=f"Ours, {evaluation.name}",
                paper_label=f"Paper, {evaluation.name}", title=f"Accuracy vs. labeled data, {variant.name}",
                ax=ax,
            )  # fmt: skip
        percents = sorted({100 * f for e in experiment.evaluations for f in e.fractions})
        ax.set_xticks(percents, [f"{p:g}" for p in percents])
        ax.legend(fontsize="small")
    return figure


def _views(folder: Path, experiment: Experiment, metrics, images):
    """Augmented pretraining views of a few training images."""
    from keras_ssl import plots
    from keras_ssl.experiments.pretraining import build_views

    variant = next((v for v in experiment.variants if v.pretrain is not None), None)
    views = None if variant is None else build_views(variant, experiment.seed)
    if views is None:
        return None
    return plots.plot_augmented_views(images, views, title="Augmented views")


def _confusion_matrices(folder: Path, experiment: Experiment, metrics, images):
    """The confusion matrix of each trained model at its evaluation's largest fraction."""
    from keras_ssl import plots

    largest = {
        (m["evaluation"], m["variant"]): m for m in sorted(metrics, key=lambda m: m["fraction"])
    }
    runs = [m for m in largest.values() if "confusion_matrix" in m.get("test", {})]
    if not runs:
        return None
    figure, axes = _grid(len(runs), 5, 4.5, columns=3)
    for ax, m in zip(axes, runs):
        title = f"{m['evaluation']} {m['fraction'] * 100:g}%, {m['variant']}"
        plots.plot_confusion_matrix(
            m["test"]["confusion_matrix"], m["test"]["class_names"], title=title, ax=ax
        )
    return figure


def _accuracy_bars(metrics, evaluations: Sequence[str], title: str):
    """Test accuracy of each variant under each of `evaluations` (their largest fraction)
    as grouped bars: the SimCLR Pets paper's Figs. 3-6 (one setting against another)."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    largest = {
        (m["evaluation"], m["variant"]): m for m in sorted(metrics, key=lambda m: m["fraction"])
    }
    rows = [
        {"variant": variant, "evaluation": evaluation, "accuracy (%)": 100 * m["accuracy"]}
        for (evaluation, variant), m in largest.items()
        if evaluation in evaluations
    ]
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    frame["evaluation"] = pd.Categorical(frame["evaluation"], categories=list(evaluations))
    figure, ax = plt.subplots(figsize=(max(5.0, 1.6 * frame["variant"].nunique() + 2), 3.8))
    sns.barplot(frame, x="variant", y="accuracy (%)", hue="evaluation", ax=ax)
    for bars in ax.containers:
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_title(title.replace("_", " "))
    figure.tight_layout()
    return figure


_FIGURES = {
    "views": _views,
    "pretext_curves": _pretext_curves,
    "training_curves": _curves("accuracy"),
    "top3_curves": _curves("top3_accuracy"),
    "loss_curves": _curves("loss"),
    "label_efficiency": _label_efficiency,
    "confusion_matrix": _confusion_matrices,
}


def write_figures(
    folder: Path, experiment: Experiment, metrics: Sequence[Mapping], images: np.ndarray
) -> list[Path]:
    """The figures the experiment asks for (`figures: {kind: file name}`), under `figures/`.

    Args:
        folder: the run folder.
        experiment: the experiment.
        metrics: the finished evaluation stages' metrics.
        images: a few training images, for the augmented-views figure.

    Returns:
        The paths written (a figure with nothing to show is skipped).
    """
    written = []
    for kind, name in experiment.figures.items():
        if kind == "accuracy_bars":  # one figure per file: {file name: [evaluations]}
            for file, evaluations in name.items():
                figure = _accuracy_bars(metrics, evaluations, file)
                if figure is not None:
                    written.append(_save(figure, folder / f"figures/{file}.png"))
            continue
        figure = _FIGURES[kind](folder, experiment, metrics, images)
        if figure is not None:
            written.append(_save(figure, folder / f"figures/{name}.png"))
    return written
