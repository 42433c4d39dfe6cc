"""The run's report: `results.csv`, `results.md` (ours beside the paper's) and the figures.

Rebuilt from the finished stages' `metrics.json` and `log.csv`, so a resumed run reports what
an uninterrupted one would; `keras_ssl.plots` draws the figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from keras_ssl import plots, pretext
from keras_ssl._files import write_csv, write_text
from keras_ssl.evaluate.tables import markdown_table
from keras_ssl.experiments.schema import MULTILABEL_METRICS, Experiment


def comparison_rows(experiment: Experiment, metrics: Sequence[Mapping]) -> list[dict]:
    """One row per evaluation stage, ours beside the paper's (percent; NaN where it has none)."""
    rows = []
    for m in metrics:
        paper = experiment.evaluation(m["evaluation"]).reference_for(m["variant"])
        paper, ours = paper.get(m["fraction"], math.nan), 100 * m["accuracy"]
        # The selected model's validation accuracy: NaN for kNN and for selection on test.
        validation = (m.get("early_stopping_metrics") or {}).get("accuracy", math.nan)
        validation = validation if m.get("selected_on", "val") == "val" else math.nan
        rows.append(
            {key: m[key] for key in ("variant", "evaluation", "kind", "fraction", "labels_used")}
            | {"accuracy": round(ours, 2), "val_accuracy": round(100 * validation, 2)}
            | {"top_3_accuracy": round(100 * m.get("top_3_accuracy", math.nan), 2)}
            | {"paper": paper, "difference": round(ours - paper, 2)}
            | {key: m.get(key) for key in ("best_epoch", "epochs_run", "seconds")}
        )
    return rows


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def _evaluations_in(experiment: Experiment, rows: Sequence[Mapping]) -> list:
    return [e for e in experiment.evaluations if any(r["evaluation"] == e.name for r in rows)]


def _scores(row: Mapping, paper: bool = True) -> list[float]:
    """Our validation, test and test top-3 accuracy (NaN where missing), then the paper's
    accuracy and ours − paper: the columns every per-evaluation table shows."""
    ours = [row.get(key, math.nan) for key in ("val_accuracy", "accuracy", "top_3_accuracy")]
    theirs = row.get("paper", math.nan)
    return ours + [theirs, ours[1] - theirs] if paper else ours


def fractions_table(experiment: Experiment, rows: Sequence[Mapping]) -> str:
    """A variant's table: a row per fraction, a column per evaluation, the paper's beside.

    "Gain" is the first evaluation on the pretrained encoder minus the first baseline;
    "Difference" is the first evaluation with reference numbers minus the paper's.
    """
    variant, evaluations = rows[0]["variant"], _evaluations_in(experiment, rows)
    ours = {(r["evaluation"], r["fraction"]): r["accuracy"] for r in rows}
    pretrained = next((e.name for e in evaluations if e.kind != "baseline"), None)
    baseline = next((e.name for e in evaluations if e.kind == "baseline"), None)
    referenced = [e for e in evaluations if e.reference_for(variant)]
    header = ["Labeled data", *(f"{e.name} (%)" for e in evaluations)]
    header += [f"Gain, {pretrained} − {baseline} (pp)"] if pretrained and baseline else []
    header += [f"{e.name}, paper (%)" for e in referenced]
    header += [f"Difference, {referenced[0].name} − paper (pp)"] if referenced else []
    table = []
    for fraction in sorted({r["fraction"] for r in rows}):
        accuracy = {e.name: ours.get((e.name, fraction), math.nan) for e in evaluations}
        papers = [e.reference_for(variant).get(fraction, math.nan) for e in referenced]
        gain = [accuracy[pretrained] - accuracy[baseline]] if pretrained and baseline else []
        difference = [accuracy[referenced[0].name] - papers[0]] if referenced else []
        table.append([_percent(fraction), *accuracy.values(), *gain, *papers, *difference])
    return markdown_table(header, table, text_columns=1)


def evaluations_table(experiment: Experiment, rows: Sequence[Mapping]) -> str:
    """A variant's table at one label fraction: a row per evaluation (e.g. the learning
    rates of a sweep, SimCLR Pets' §4.1 table), ours beside the paper's."""
    header = ["Evaluation", "Labeled data", "Validation (%)", "Test (%)", "Test top-3 (%)"]
    by_name = {r["evaluation"]: r for r in rows}
    table = [[e.name, _percent(by_name[e.name]["fraction"]), *_scores(by_name[e.name])]
             for e in experiment.evaluations if e.name in by_name]  # fmt: skip
    return markdown_table([*header, "Paper (%)", "Difference (pp)"], table, text_columns=2)


def variants_table(experiment: Experiment, rows: Sequence[Mapping]) -> str:
    """Every variant in one table, as the papers compare them (SimSiam 004's Table 1): a row
    per variant and fraction, per evaluation our validation, test and test top-3 accuracy
    beside the paper's."""
    evaluations = _evaluations_in(experiment, rows)
    by_key = {(r["variant"], r["evaluation"], r["fraction"]): r for r in rows}
    header = ["Variant", "Labeled data"]
    for e in evaluations:
        header += [f"{e.name}, validation (%)", f"{e.name}, test (%)", f"{e.name}, test top-3 (%)"]
        header += [f"{e.name}, paper (%)", f"{e.name} − paper (pp)"] if e.reference else []
    table = []
    for variant in experiment.variants:
        for fraction in sorted({r["fraction"] for r in rows if r["variant"] == variant.name}):
            cells = [variant.name, _percent(fraction)]
            for e in evaluations:
                row = by_key.get((variant.name, e.name, fraction), {})
                cells += _scores(row, paper=bool(e.reference))
            table.append(cells)
    return markdown_table(header, table, text_columns=2)


def _is_multi_label(metrics: Mapping) -> bool:
    return bool((metrics.get("test") or {}).get("multilabel"))


def multilabel_table(experiment: Experiment, metrics: Sequence[Mapping]) -> str:
    """Multi-label stages in SimSiam 004's Table 3 layout: a row per variant, evaluation
    and split, macro and micro accuracy, recall and ROC-AUC (fractions, four decimals),
    the paper's in brackets beside the metric the experiment file compares it with."""
    header = ["Variant", "Evaluation", "Images", *(m.replace("_", " ") for m in MULTILABEL_METRICS)]
    table = []
    for m in filter(_is_multi_label, metrics):
        paper = experiment.evaluation(m["evaluation"]).reference_metrics.get(m["variant"], {})
        for split in (split for split in ("validation", "test") if m.get(split) is not None):
            cells = []
            for name in MULTILABEL_METRICS:
                ours, theirs = m[split].get(name), paper.get(f"{split}.{name}")
                cell = "–" if ours is None else f"{ours:.4f}"
                cells.append(cell if theirs is None else f"{cell} (paper {theirs:.4f})")
            table.append([m["variant"], m["evaluation"], split, *cells])
    return markdown_table(header, table, text_columns=3)


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
        ours = [r for r in rows if r["variant"] == variant.name]
        if ours:
            by_evaluation = len({r["fraction"] for r in ours}) == 1 and len(ours) > 2
            table = (evaluations_table if by_evaluation else fractions_table)(experiment, ours)
            lines += [f"## Variant `{variant.name}`: {_variant_line(variant)}", "", table, ""]
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
    encoder, spec = variant.encoder, variant.pretrain
    size = f"{encoder.image_size}×{encoder.image_size}"
    line = f"{encoder.name} {encoder.args or ''} weights={encoder.weights!r} at {size}"
    if spec is None:
        return line + ", not pretrained"
    steps = spec.gradient_accumulation_steps
    split = f" ({spec.split})" if spec.split else ""
    extras = [
        f"{spec.schedule} schedule" if spec.schedule != "constant" else "",
        f"{spec.warmup_epochs} warm-up epochs" if spec.warmup_epochs else "",
        f"gradients clipped at norm {spec.clipnorm:g}" if spec.clipnorm else "",
        f"weight decay {spec.weight_decay:g}" if spec.weight_decay else "",
        f"{steps} accumulated batches a step" if steps else "",
        f"on `{spec.source}`{split}" if spec.source else "",
    ]
    return (
        f"{line}; {spec.method} {spec.method_args or ''}, {spec.epochs} epochs of batch "
        f"{spec.batch_size}, {spec.optimizer} {spec.learning_rate:g}, augment {spec.augment!r}"
        + "".join(f", {extra}" for extra in extras if extra)
    )


def _evaluation_line(e) -> str:
    recipe = e.resolved_recipe()
    how = f" (recipe `{recipe.name}` {e.recipe_args})" if recipe else f" (k={e.k})"
    classes = f" on classes {', '.join(e.classes)}" if e.classes else ""
    return f"`{e.name}`: {e.kind}{how}{classes}"


def _summary(experiment: Experiment, info: Mapping) -> str:
    data, versions = info.get("data", {}), info.get("versions", {})
    total = sum(stage.get("seconds", 0.0) for stage in info.get("stages", {}).values())
    commands = [s["command"] for s in info.get("sessions", []) if s.get("command")]
    labels = "attributes, multi-label" if data.get("multi_label") else "classes"
    pretraining = data.get("pretraining_images", {})
    lines = [
        *(f"- Command: `{command}`" for command in commands[:1]),
        f"- Data: `{experiment.data.source}`: {data.get('train', '?')} training, "
        f"{data.get('val', '?')} validation and {data.get('test', '?')} held-out test images "
        f"({data.get('num_classes', '?')} {labels}).",
        *(f"- Pretraining images from `{source}`: {n}." for source, n in pretraining.items()),
        f"- Evaluations: {'; '.join(map(_evaluation_line, experiment.evaluations))}.",
        f"- **Model selection:** {selection_protocol(experiment)}.",
        f"- Wall time of all stages: {total / 60:.1f} min; seed {experiment.seed}; keras_ssl "
        f"{versions.get('keras_ssl', '?')}, TensorFlow {versions.get('tensorflow', '?')}, "
        f"Keras {versions.get('keras', '?')} ({versions.get('keras_backend', '?')}).",
    ]
    return "\n".join(lines)


def selection_protocol(experiment: Experiment) -> str:
    """One line on what model selection watches, for `--dry-run` and `results.md`."""
    watch = "early stopping, best-weight restore and the learning-rate schedule watch"
    if experiment.selects_on_test:
        return (
            f"{watch} the held-out TEST images (data.select_on=test, the Umeå report's protocol): "
            "accuracies are selected on the images they are measured on, so they are optimistic"
        )
    return (
        f"{watch} a validation split carved from the training images (data.val="
        f"{experiment.data.val}); the held-out test images are scored once, at the end of "
        "each stage"
    )


# -- figures: each kind's data, drawn by keras_ssl.plots; None where there is nothing to draw ---


def _title(m: Mapping) -> str:
    return f"{m['evaluation']} {_percent(m['fraction'])}, {m['variant']}"


def _at_largest_fraction(metrics: Sequence[Mapping]) -> list[Mapping]:
    """Each (evaluation, variant)'s stage at its largest label fraction."""
    ordered = sorted(metrics, key=lambda m: m["fraction"])
    return list({(m["evaluation"], m["variant"]): m for m in ordered}.values())


def _views(folder, experiment, metrics, images):
    """Augmented pretraining views of a few training images (the first pretrained variant's)."""
    from keras_ssl.experiments.pretraining import build_views

    variant = next((v for v in experiment.variants if v.pretrain is not None), None)
    views = None if variant is None else build_views(variant, experiment.seed)
    return None if views is None else plots.plot_augmented_views(images, views)


def _pretext_curves(folder, experiment, metrics, images):
    runs = {}
    for v in (v for v in experiment.variants if v.pretrain is not None):
        method = pretext.method_class(v.pretrain.method)
        log = folder / f"pretrain/{v.name}/log.csv"
        runs[v.name] = {"history": log, "loss_name": method.loss_name, "metric": method.monitor}
    return plots.plot_pretext_runs(runs) if runs else None


def _curves(metric: str, folder, experiment, metrics, images):
    runs = {_title(m): m["history"] for m in metrics if metric in (m.get("history") or {})}
    return plots.plot_curve_grid(runs, metric) if runs else None


def _label_efficiency(folder, experiment, metrics, images):
    """Accuracy against the label fraction: a panel per variant, a curve per evaluation."""
    results = {v.name: {} for v in experiment.variants}
    papers = {v.name: {} for v in experiment.variants}
    for e in experiment.evaluations:
        for m in (m for m in metrics if m["evaluation"] == e.name):
            results[m["variant"]].setdefault(e.name, {})[m["fraction"]] = m["accuracy"]
        for v in experiment.variants:
            papers[v.name][e.name] = {f: a / 100 for f, a in e.reference_for(v.name).items()}
    ticks = {fraction for e in experiment.evaluations for fraction in e.fractions}
    return plots.plot_label_efficiency_grid(results, papers, ticks=ticks)


def _confusion_matrices(folder, experiment, metrics, images):
    """The confusion matrix of each trained model at its evaluation's largest fraction."""
    runs = {_title(m): m["test"] for m in _at_largest_fraction(metrics)
            if "confusion_matrix" in m.get("test", {})}  # fmt: skip
    return plots.plot_confusion_matrix_grid(runs) if runs else None


def _accuracy_bars(metrics, evaluations: Sequence[str], title: str):
    """Test accuracy of each variant under each of `evaluations` (their largest fraction)
    as grouped bars: the SimCLR Pets paper's Figs. 3-6 (one setting against another)."""
    rows = [{"variant": m["variant"], "evaluation": m["evaluation"], "accuracy": m["accuracy"]}
            for m in _at_largest_fraction(metrics) if m["evaluation"] in evaluations]  # fmt: skip
    if rows:
        return plots.plot_accuracy_bars(rows, hue_order=evaluations, title=title.replace("_", " "))


_FIGURES = {
    "views": _views,
    "pretext_curves": _pretext_curves,
    "training_curves": partial(_curves, "accuracy"),
    "top3_curves": partial(_curves, "top3_accuracy"),
    "loss_curves": partial(_curves, "loss"),
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

    def figures():  # (file name, figure or None), drawn one by one as they are saved
        for kind, name in experiment.figures.items():
            if kind == "accuracy_bars":  # a figure per file: {file name: [evaluations]}
                for file, evaluations in name.items():
                    yield file, _accuracy_bars(metrics, evaluations, file)
            else:
                yield name, _FIGURES[kind](folder, experiment, metrics, images)

    return plots.save_figures(figures(), folder / "figures")
