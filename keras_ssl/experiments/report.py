"""The run's report: `results.csv`, `results.md` (Table 1 beside the paper's) and the figures.

Everything here is rebuilt from the files of the finished stages (`metrics.json`,
`log.csv`), so a resumed run reports exactly what a run without interruption would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from keras_ssl.experiments import paper
from keras_ssl.experiments.config import ExperimentConfig
from keras_ssl.experiments.run_folder import atomic_write, write_csv, write_text

FIGURES = {
    "fig3": "figures/fig3_pretext_loss.png",
    "fig4": "figures/fig4_training_curves.png",
    "fig5": "figures/fig5_label_efficiency.png",
}


def _variant_title(variant: str) -> str:
    return {"imagenet": "ImageNet initialisation", "random": "random initialisation"}.get(
        variant, f"initialised from {variant}"
    )


def write_tables(folder: Path, config: ExperimentConfig, metrics: Sequence[Mapping], info: Mapping):
    """Writes `results.csv` (every stage) and `results.md` (one Table 1 per variant)."""
    rows = paper.comparison_rows(metrics)
    write_csv(folder / "results.csv", rows)
    lines = [
        f"# Umeå experiment, profile `{config.profile}`",
        "",
        _summary(config, info),
        "",
    ]
    for variant in dict.fromkeys(row["variant"] for row in rows):
        lines += [
            f"## Encoder: {config.pretrain.encoder}, {_variant_title(variant)}",
            "",
            paper.markdown_table([row for row in rows if row["variant"] == variant]),
            "",
        ]
    lines += [
        "Paper: Table 1 of the Umeå report (MobileNetV2, ImageNet initialisation, 96×96, "
        "75 pretraining epochs, CIFAR-10 40,000 / 10,000). Gain = ours pretrained − ours "
        "without pretraining; Difference = ours pretrained − paper pretrained; in percentage "
        "points. Figures: " + ", ".join(f"`{p}`" for p in FIGURES.values()) + ".",
        "",
    ]
    write_text(folder / "results.md", "\n".join(lines))
    return rows


def _summary(config: ExperimentConfig, info: Mapping) -> str:
    data = info.get("data", {})
    stages = info.get("stages", {})
    total = sum(stage.get("seconds", 0.0) for stage in stages.values())
    versions = info.get("versions", {})
    commands = [s["command"] for s in info.get("sessions", []) if s.get("command")]
    return "\n".join(
        [
            *([f"- Command: `{commands[0]}`"] if commands else []),
            f"- Data: `{config.data.source}`: {data.get('train', '?')} training images, "
            f"{data.get('test', '?')} held-out test images ({data.get('num_classes', '?')} "
            f"classes), {data.get('val', '?')} validation images; accuracy is measured on the "
            "held-out images.",
            f"- Pretraining: {config.pretrain.method}, {config.pretrain.encoder} "
            f"{config.pretrain.encoder_args} at {config.pretrain.image_size}×"
            f"{config.pretrain.image_size}, {config.pretrain.epochs} epochs, batch "
            f"{config.pretrain.batch_size}, {config.pretrain.optimizer} "
            f"{config.pretrain.learning_rate:g}.",
            f"- Fine-tuning: recipe `{config.finetune.recipe}` {config.finetune.recipe_overrides}; "
            f"baseline without pretraining at {_percentages(config.finetune.baseline_fractions)}"
            f" of the labels, recipe `supervised` {config.finetune.baseline_overrides}.",
            f"- **Model selection:** {selection_protocol(config)}.",
            f"- Wall time of all stages: {total / 60:.1f} min; seed {config.seed}; keras_ssl "
            f"{versions.get('keras_ssl', '?')}, TensorFlow {versions.get('tensorflow', '?')}, "
            f"Keras {versions.get('keras', '?')}.",
        ]
    )


def selection_protocol(config: ExperimentConfig) -> str:
    """One line on what model selection watches, for `--dry-run` and `results.md`."""
    if config.selects_on_test:
        return (
            "early stopping, best-weight restore and the learning-rate schedule watch the "
            "held-out TEST images (finetune.select_on=test, the report's protocol): accuracies "
            "are selected on the images they are measured on, so they are optimistic"
        )
    return (
        f"early stopping, best-weight restore and the learning-rate schedule watch a validation "
        f"split carved from the training images (data.val={config.data.val}); the held-out test "
        "images are scored once, at the end of each stage"
    )


def _percentages(fractions) -> str:
    return ", ".join(f"{f * 100:g} %" for f in fractions) if fractions else "no fraction"


def _save(figure, path: Path) -> None:
    atomic_write(path, lambda temporary: figure.savefig(temporary, dpi=120, bbox_inches="tight"))


def _grid(rows: int, columns: int, width: float, height: float):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width * columns, height * rows), layout="constrained")
    return figure, np.atleast_1d(figure.subplots(rows, columns)).ravel()


def _panels(count: int, width: float, height: float):
    return _grid(1, count, width, height)


def write_figures(
    folder: Path,
    config: ExperimentConfig,
    metrics: Sequence[Mapping],
    pretext_logs: Mapping[str, Path],
    views: tuple[np.ndarray, Callable] | None = None,
) -> list[Path]:
    """Figures 3, 4 and 5 of the report (one panel per variant), and extras.

    Args:
        folder: the run folder.
        config: the run's config.
        metrics: the finished stages' metrics.
        pretext_logs: variant -> the pretraining `log.csv`.
        views: `(images, augment)` for the augmented-views figure (Fig. 2), or None.

    Returns:
        The paths written.
    """
    from keras_ssl import plots

    variants = list(pretext_logs)
    written = []
    figure, axes = _panels(len(variants), 6, 4)
    for ax, variant in zip(axes, variants):
        plots.plot_pretext_loss(
            pretext_logs[variant],
            loss_name="NT-Xent" if config.pretrain.method == "simclr" else "cross-entropy",
            title=f"Pretext loss, {_variant_title(variant)}",
            ax=ax,
        )
    _save(figure, folder / FIGURES["fig3"])
    written.append(folder / FIGURES["fig3"])

    runs = sorted(
        metrics, key=lambda m: (variants.index(m["variant"]), m["baseline"], m["fraction"])
    )
    if runs:
        # One small panel per model, as the report's Fig. 4 (8 models): on one axes the
        # 16 curves would hide each other.
        columns = min(4, len(runs))
        figure, axes = _grid(-(-len(runs) // columns), columns, 3.6, 2.8)
        for ax, m in zip(axes, runs):
            label = paper.row_label(m["fraction"], m["baseline"])
            title = f"{label}, {m['variant']}" if len(variants) > 1 else label
            plots.plot_training_curves({"": m["history"]}, title=title, ax=ax)
            ax.legend(["training", "validation"], fontsize="x-small")
        for ax in axes[len(runs) :]:
            ax.set_axis_off()
        _save(figure, folder / FIGURES["fig4"])
        written.append(folder / FIGURES["fig4"])

    figure, axes = _panels(len(variants), 6, 4)
    for ax, variant in zip(axes, variants):
        runs = [m for m in metrics if m["variant"] == variant]
        curves = {
            baseline: [
                {"fraction": m["fraction"], "accuracy": m["accuracy"]}
                for m in runs
                if m["baseline"] == baseline
            ]
            for baseline in (False, True)
        }
        if curves[False]:
            plots.plot_label_efficiency(
                curves[False],
                baseline=curves[True] or None,
                paper={f: a / 100 for f, a in paper.TABLE_1.items()},
                label=f"Ours, pretrained ({_variant_title(variant)})",
                paper_label="Paper (Table 1)",
                baseline_label="Ours, no pretraining",
                title="Accuracy vs. labeled data",
                ax=ax,
            )
            ax.axhline(paper.SUPERVISED_100, color="0.6", linestyle="-.", label="Paper supervised")
            ax.legend(fontsize="small")
    _save(figure, folder / FIGURES["fig5"])
    written.append(folder / FIGURES["fig5"])

    for m in metrics:
        if m["baseline"] or m["fraction"] != 1.0:
            continue
        path = folder / f"figures/confusion_matrix_{m['variant']}_100pct.png"
        figure = plots.plot_confusion_matrix(
            m["test"]["confusion_matrix"], m["test"]["class_names"],
            title=f"Fine-tuned on 100% of the labels, {_variant_title(m['variant'])}",
        )  # fmt: skip
        _save(figure, path)
        written.append(path)
    if views is not None:
        path = folder / "figures/fig2_augmented_views.png"
        _save(plots.plot_augmented_views(views[0], views[1], title="Augmented views"), path)
        written.append(path)
    return written
