"""The figures of the Umeå report (Figs. 2-5), confusion-matrix heatmaps and accuracy bars.

Every function takes plain data (histories, rows of results, matrices), an optional
`ax` to draw into (the `*_grid` functions and `plot_pretext_runs` lay out their own
panels), an optional `path` to save a PNG, and returns the matplotlib `Figure`.
Figures are built with `matplotlib.figure.Figure`, not `pyplot`, so no global figure
list grows and no display is needed (saving uses the Agg renderer); in a notebook a
returned figure shows inline when it is the cell's last expression (or via
`display(fig)`), and a figure whose `ax` came from `plt.subplots` shows as usual.
`save_figures` writes several figures as PNGs at once, each file atomically.
"""

from __future__ import annotations

import functools
import numbers
import os
import pathlib
from collections.abc import Callable, Iterable, Mapping, Sequence

import keras
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullLocator

from keras_ssl._files import atomic_write

DPI = 120


def _axes(ax, figsize):
    """Returns `(figure, axes)`: `ax` and its figure, or a new figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    figure = Figure(figsize=figsize, layout="constrained")
    return figure, figure.add_subplot()


def _grid(count: int, panel_size: tuple[float, float], columns: int) -> tuple[Figure, np.ndarray]:
    """A figure of `count` panels of `panel_size` inches, `columns` a row; spare axes hidden."""
    if count < 1:
        raise ValueError("Nothing to plot: the figure needs at least one panel.")
    columns = min(columns, count)
    rows = -(-count // columns)
    figure = Figure(figsize=(panel_size[0] * columns, panel_size[1] * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for ax in axes[count:]:
        ax.set_axis_off()
    return figure, axes


def _finish(figure: Figure, path, dpi: int = DPI) -> Figure:
    if path is not None:
        path = os.fspath(path)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        figure.savefig(path, dpi=dpi, bbox_inches="tight")
    return figure


def _history_frame(history) -> pd.DataFrame:
    """One row per epoch from a keras `History`, a dict of lists, a DataFrame or a CSV path.

    The index is the epoch number starting at 1 (CSVLogger's 0-based `epoch`
    column is shifted).
    """
    if isinstance(history, (str, os.PathLike)):
        frame = pd.read_csv(history)
        if frame.empty:
            raise ValueError(f"{history} has no epochs to plot.")
        epochs = frame.pop("epoch") + 1 if "epoch" in frame else np.arange(1, len(frame) + 1)
        return frame.set_axis(pd.Index(epochs, name="epoch"))
    if isinstance(history, keras.callbacks.History):
        history = history.history
    if isinstance(history, pd.DataFrame):
        frame = history.reset_index(drop=True)
    elif isinstance(history, Mapping):
        lengths = {key: len(values) for key, values in history.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"Every metric needs one value per epoch; got lists of lengths {lengths}."
            )
        frame = pd.DataFrame({key: list(values) for key, values in history.items()})
    else:
        raise ValueError(
            "A history must be a keras History, a dict of per-epoch lists, a DataFrame or "
            f"a CSVLogger file path; got {type(history).__name__}."
        )
    if frame.empty:
        raise ValueError("The history is empty: no epoch to plot.")
    return frame.set_axis(pd.Index(np.arange(1, len(frame) + 1), name="epoch"))


def _require(frame: pd.DataFrame, metric: str, what: str) -> None:
    if metric not in frame:
        raise ValueError(f"{what} has no {metric!r} values; it has {sorted(frame.columns)}.")


def plot_pretext_loss(
    history,
    metric: str = "loss",
    loss_name: str = "NT-Xent",
    title: str = "Pretext training loss",
    ax=None,
    path=None,
) -> Figure:
    """Pretext loss per epoch (Umeå Fig. 3), with the validation loss if logged.

    Args:
        history: A keras `History`, a dict of per-epoch lists, a DataFrame, or
            the path of a `keras.callbacks.CSVLogger` file.
        metric: The logged key to plot; `val_{metric}` is added when present.
        loss_name: Shown in the y label, e.g. "NT-Xent" or "cross-entropy".
        title: Axes title.
        ax: Axes to draw into; a new figure if `None`.
        path: Where to save a PNG, if given.

    Returns:
        The matplotlib Figure.

    Example:
    >>> history = simclr.fit(dataset, epochs=75)
    >>> plot_pretext_loss(history, path="figures/pretext_loss.png")
    """
    frame = _history_frame(history)
    _require(frame, metric, "The history")
    figure, ax = _axes(ax, (6, 4))
    ax.plot(frame.index, frame[metric], marker=".", label="Training")
    if f"val_{metric}" in frame:
        ax.plot(frame.index, frame[f"val_{metric}"], marker=".", linestyle="--", label="Validation")
    ax.set(title=title, xlabel="Epoch", ylabel=f"Loss ({loss_name})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.grid(alpha=0.3)
    ax.legend()
    return _finish(figure, path)


def _label(run: str, split: str) -> str:
    return f"{run} ({split})" if run else split


def plot_training_curves(
    histories: Mapping,
    metric: str = "accuracy",
    title: str | None = None,
    ax=None,
    path=None,
) -> Figure:
    """Training (solid) and validation (dashed) curves of several runs (Umeå Fig. 4).

    Metrics whose name contains "acc" are drawn in percent.

    Args:
        histories: Run name -> history (any form `plot_pretext_loss` accepts); a
            single run named "" is labelled just "training" and "validation".
        metric: The logged key, e.g. "accuracy" or "loss"; `val_{metric}` is
            drawn dashed when present.
        title: Axes title; defaults to "Training and validation {metric}".
        ax: Axes to draw into; a new figure if `None`.
        path: Where to save a PNG, if given.

    Returns:
        The matplotlib Figure.

    Example:
    >>> plot_training_curves({"1% labels": h1, "10% labels": h10, "supervised": h_sup})
    """
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError("`histories` must be a non-empty dict of run name -> history.")
    percent = "acc" in metric
    scale = 100.0 if percent else 1.0
    figure, ax = _axes(ax, (7, 4.5))
    colors = sns.color_palette(n_colors=len(histories))
    for color, (name, history) in zip(colors, histories.items(), strict=True):
        frame = _history_frame(history)
        _require(frame, metric, f"Run {name!r}")
        line = {"color": color, "marker": "."}  # a dot per epoch: a one-epoch run shows too
        ax.plot(frame.index, frame[metric] * scale, **line, label=_label(name, "training"))
        if f"val_{metric}" in frame:
            ax.plot(
                frame.index,
                frame[f"val_{metric}"] * scale,
                **line,
                linestyle="--",
                label=_label(name, "validation"),
            )
    pretty = metric.replace("_", " ").capitalize()
    ax.set(
        title=title or f"Training and validation {metric.replace('_', ' ')}",
        xlabel="Epoch",
        ylabel=f"{pretty} (%)" if percent else pretty,
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return _finish(figure, path)


def _efficiency_frame(results, name: str) -> pd.DataFrame:
    """Mean / min / max accuracy per fraction from a DataFrame, list of dicts or {fraction: acc}."""
    if isinstance(results, Mapping) and "fraction" not in results:
        results = [{"fraction": f, "accuracy": a} for f, a in results.items()]
    frame = pd.DataFrame(results)
    if frame.empty or not {"fraction", "accuracy"} <= set(frame.columns):
        raise ValueError(
            f"`{name}` needs rows with `fraction` and `accuracy`; got columns {list(frame.columns)}."
        )
    fraction, accuracy = frame["fraction"].astype(float), frame["accuracy"].astype(float)
    if not ((fraction > 0) & (fraction <= 1)).all():
        raise ValueError(f"`{name}` fractions must lie in (0, 1]; got {sorted(set(fraction))}.")
    if not ((accuracy >= 0) & (accuracy <= 1)).all():
        raise ValueError(
            f"`{name}` accuracies must lie in [0, 1] (not percent); got max {accuracy.max()}."
        )
    return accuracy.groupby(fraction).agg(["mean", "min", "max"])


def plot_label_efficiency(
    results,
    baseline=None,
    paper=None,
    label: str = "Ours",
    paper_label: str = "Paper",
    baseline_label: str = "Supervised baseline (100% labels)",
    title: str = "Accuracy vs. labeled data",
    ax=None,
    path=None,
) -> Figure:
    """Accuracy against the percentage of labels used (Umeå Fig. 5).

    The x axis is logarithmic and labelled with the measured percentages.
    Several rows with the same fraction (seeds) are drawn as their mean with a
    min-max band.

    Args:
        results: A DataFrame, list of dicts or `{fraction: accuracy}` dict, with
            `fraction` in (0, 1] and `accuracy` in [0, 1] (e.g. the sweep table).
        baseline: the baseline without pretraining: one accuracy in [0, 1] (drawn as
            a horizontal dotted line), or accuracies per fraction in the forms of
            `results` (drawn as a curve).
        paper: The paper's numbers in the same forms, drawn as a second line.
        label, paper_label, baseline_label: Legend entries.
        title: Axes title.
        ax: Axes to draw into; a new figure if `None`.
        path: Where to save a PNG, if given.

    Returns:
        The matplotlib Figure.

    Example:
    >>> plot_label_efficiency(sweep_table, baseline=0.83,
    ...                       paper={0.01: 0.62, 0.1: 0.75, 1.0: 0.84})
    """
    curves = [(_efficiency_frame(results, "results"), label, "o")]
    if paper is not None:
        curves.append((_efficiency_frame(paper, "paper"), paper_label, "s"))
    if baseline is not None and not isinstance(baseline, numbers.Real):
        curves.append((_efficiency_frame(baseline, "baseline"), baseline_label, "^"))
        baseline = None
    if baseline is not None and not 0 <= baseline <= 1:
        raise ValueError(f"`baseline` must be an accuracy in [0, 1]; got {baseline!r}.")
    figure, ax = _axes(ax, (6, 4))
    for frame, name, marker in curves:
        percent = frame.index * 100
        ax.plot(percent, frame["mean"] * 100, marker=marker, label=name)
        if (frame["max"] > frame["min"]).any():
            ax.fill_between(percent, frame["min"] * 100, frame["max"] * 100, alpha=0.2)
    if baseline is not None:
        ax.axhline(baseline * 100, color="0.3", linestyle=":", label=baseline_label)
    ticks = sorted(set().union(*(frame.index * 100 for frame, _, _ in curves)))
    ax.set_xscale("log")
    ax.set_xticks(ticks, [f"{tick:g}" for tick in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set(title=title, xlabel="Labeled data (%)", ylabel="Accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend()
    return _finish(figure, path)


def _displayable(batch: np.ndarray) -> np.ndarray:
    """Float RGB in [0, 1]: 0-255 data is divided by 255, standardized data is min-max scaled."""
    batch = np.asarray(batch, dtype=np.float32)
    if batch.ndim != 4 or batch.shape[-1] not in (1, 3):
        raise ValueError(f"Images must be [N, H, W, 1 or 3]; got shape {batch.shape}.")
    if batch.min() < 0 or batch.max() > 255:
        low = batch.min(axis=(1, 2, 3), keepdims=True)
        high = batch.max(axis=(1, 2, 3), keepdims=True)
        batch = (batch - low) / np.maximum(high - low, 1e-12)
    elif batch.max() > 1:
        batch = batch / 255.0
    return np.repeat(batch, 3, axis=-1) if batch.shape[-1] == 1 else batch


def _mosaic(rows: list[np.ndarray], pad: int = 2) -> np.ndarray:
    """Tiles rows of image batches into one white-padded image; tiles sit top-left in cells."""
    height = max(row.shape[1] for row in rows) + pad
    width = max(row.shape[2] for row in rows) + pad
    mosaic = np.ones((len(rows) * height + pad, rows[0].shape[0] * width + pad, 3), np.float32)
    for r, row in enumerate(rows):
        for c, tile in enumerate(row):
            top, left = pad + r * height, pad + c * width
            mosaic[top : top + tile.shape[0], left : left + tile.shape[1]] = tile
    return mosaic


def plot_augmented_views(
    images,
    augment: Callable,
    num_images: int = 8,
    num_views: int = 4,
    seed: int = 0,
    title: str = "Augmented views",
    ax=None,
    path=None,
) -> Figure:
    """A grid of original images (top row) and augmented views below them (Umeå Fig. 2).

    Args:
        images: Images `[N, H, W, C]` (C = 1 or 3), uint8 or float.
        augment: Called `num_views` times on the float32 batch of chosen images
            (in their own value range); Keras layers get `training=True`. Its
            own seed decides the views.
        num_images: Number of columns; images are drawn without replacement.
        num_views: Number of augmented rows.
        seed: Seed of the choice of images.
        title: Axes title.
        ax: Axes to draw into; a new figure if `None`.
        path: Where to save a PNG, if given.

    Returns:
        The matplotlib Figure.

    Example:
    >>> plot_augmented_views(x_train, keras.layers.RandomFlip(seed=1), path="views.png")
    """
    images = np.asarray(images)
    for name, value in (("num_images", num_images), ("num_views", num_views)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be an integer >= 1; got {value!r}.")
    if images.ndim != 4 or len(images) < num_images:
        raise ValueError(
            f"Need an image batch [N, H, W, C] with N >= num_images={num_images}; "
            f"got shape {images.shape}."
        )
    chosen = np.sort(np.random.default_rng(seed).choice(len(images), num_images, replace=False))
    batch = images[chosen].astype(np.float32)
    views = []
    for _ in range(num_views):
        view = augment(batch, training=True) if isinstance(augment, keras.Layer) else augment(batch)
        views.append(_displayable(keras.ops.convert_to_numpy(view)))
    rows = [_displayable(batch), *views]
    mosaic = _mosaic(rows)
    figure, ax = _axes(ax, (1.2 * num_images, 1.2 * (num_views + 1)))
    ax.imshow(mosaic, interpolation="nearest")
    cell_height = mosaic.shape[0] / len(rows)
    cell_width = mosaic.shape[1] / num_images
    ax.set_yticks(
        (np.arange(len(rows)) + 0.5) * cell_height,
        ["Original"] + [f"View {v + 1}" for v in range(num_views)],
    )
    ax.set_xticks((np.arange(num_images) + 0.5) * cell_width, [str(i) for i in chosen])
    ax.tick_params(length=0)
    ax.set(title=title, xlabel="Image (index in the input)", ylabel="Augmentation")
    return _finish(figure, path)


def plot_confusion_matrix(
    cm,
    class_names=None,
    normalize: bool = True,
    title: str | None = None,
    annotate: bool | None = None,
    ax=None,
    path=None,
) -> Figure:
    """Confusion-matrix heatmap, rows = true class, columns = predicted class.

    Args:
        cm: Square matrix of counts (e.g. `evaluate_classifier(...)["confusion_matrix"]`).
        class_names: Tick labels, one per class; class ids if `None`.
        normalize: Show each row as a percentage of its true class.
        title: Axes title; a default says whether it is normalized.
        annotate: Write the values in the cells; by default when there are at
            most 20 classes.
        ax: Axes to draw into; a new figure if `None`.
        path: Where to save a PNG, if given.

    Returns:
        The matplotlib Figure.

    Example:
    >>> results = evaluate_classifier(model, (x_test, y_test), class_names)
    >>> plot_confusion_matrix(results["confusion_matrix"], class_names, path="cm.png")
    """
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"`cm` must be a non-empty square matrix; got shape {cm.shape}.")
    if (cm < 0).any():
        raise ValueError("`cm` must hold non-negative counts.")
    num_classes = cm.shape[0]
    if class_names is None:
        class_names = [str(i) for i in range(num_classes)]
    if len(class_names) != num_classes:
        raise ValueError(f"{len(class_names)} `class_names` for a {num_classes}-class matrix.")
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        cm = 100 * np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
    if annotate is None:
        annotate = num_classes <= 20
    side = max(4.0, 0.5 * num_classes + 2)
    figure, ax = _axes(ax, (side + 1, side))
    sns.heatmap(
        cm,
        ax=ax,
        annot=annotate,
        fmt=".0f" if normalize else "g",
        cmap="Blues",
        square=True,
        xticklabels=list(class_names),
        yticklabels=list(class_names),
        vmin=0,
        vmax=100 if normalize else None,
        cbar_kws={"label": "Share of true class (%)" if normalize else "Images (count)"},
    )
    default_title = "Confusion matrix" + (" (normalized by true class)" if normalize else "")
    ax.set(title=title or default_title, xlabel="Predicted class", ylabel="True class")
    return _finish(figure, path)


def plot_pretext_runs(runs: Mapping[str, Mapping], path=None) -> Figure:
    """A row per pretraining: its loss, and the metric its method watches, per epoch.

    Args:
        runs: Run name -> `{"history": ..., "loss_name": ..., "metric": ...}`: a history
            in any form `plot_pretext_loss` accepts, the loss's name for the y label and
            the logged metric of the second panel (e.g. "contrastive_accuracy"; "loss"
            draws the loss again), each with its validation values where logged.
        path: Where to save a PNG, if given.

    Returns:
        The matplotlib Figure.

    Example:
    >>> plot_pretext_runs({"simclr": {"history": "pretrain/simclr/log.csv",
    ...                               "loss_name": "NT-Xent", "metric": "contrastive_accuracy"}})
    """
    figure, axes = _grid(2 * len(runs), (5, 3.6), columns=2)
    for (name, run), loss_ax, metric_ax in zip(runs.items(), axes[::2], axes[1::2]):
        title = f"Pretext loss, {name}"
        plot_pretext_loss(run["history"], loss_name=run["loss_name"], title=title, ax=loss_ax)
        title = f"Pretext {run['metric']}, {name}"
        plot_training_curves({"": run["history"]}, metric=run["metric"], title=title, ax=metric_ax)
    return _finish(figure, path)


def plot_curve_grid(
    histories: Mapping, metric: str = "accuracy", columns: int = 4, path=None
) -> Figure:
    """One small panel per run: `metric` per epoch, training solid and validation dashed.

    Args:
        histories: Panel title -> history (any form `plot_pretext_loss` accepts).
        metric: The logged key, e.g. "accuracy", "top3_accuracy" or "loss".
        columns: Panels a row.
        path: Where to save a PNG, if given.

    Returns:
        The matplotlib Figure.

    Example:
    >>> plot_curve_grid({"1% labels": h1, "10% labels": h10}, metric="loss")
    """
    figure, axes = _grid(len(histories), (3.6, 2.8), columns)
    for ax, (title, history) in zip(axes, histories.items()):
        plot_training_curves({"": history}, metric=metric, title=title, ax=ax)
        ax.legend(fontsize="x-small")
    return _finish(figure, path)


def plot_label_efficiency_grid(
    results: Mapping[str, Mapping],
    papers: Mapping[str, Mapping] | None = None,
    ticks: Iterable[float] | None = None,
    path=None,
) -> Figure:
    """A `plot_label_efficiency` panel per model, a curve (ours and the paper's) per evaluation.

    Args:
        results: Panel name (e.g. a variant) -> evaluation name -> results in a form
            `plot_label_efficiency` accepts; a panel may be empty.
        papers: The paper's numbers, keyed the same way (missing keys: no paper curve).
        ticks: Label fractions to mark on every x axis; by default a panel's own.
        path: Where to save a PNG, if given.

    Returns:
        The matplotlib Figure.

    Example:
    >>> plot_label_efficiency_grid({"simclr": {"finetune": {0.1: 0.6, 1.0: 0.8}}},
    ...                            papers={"simclr": {"finetune": {0.1: 0.62, 1.0: 0.84}}})
    """
    papers = papers or {}
    figure, axes = _grid(len(results), (6, 4), columns=len(results))
    for ax, (panel, curves) in zip(axes, results.items()):
        for name, points in curves.items():
            plot_label_efficiency(
                points, paper=papers.get(panel, {}).get(name) or None, label=f"Ours, {name}",
                paper_label=f"Paper, {name}", title=f"Accuracy vs. labeled data, {panel}", ax=ax,
            )  # fmt: skip
        if ticks is not None:
            percents = sorted({100 * fraction for fraction in ticks})
            ax.set_xticks(percents, [f"{p:g}" for p in percents])
        if curves:
            ax.legend(fontsize="small")
    return _finish(figure, path)


def plot_confusion_matrix_grid(
    results: Mapping[str, Mapping], columns: int = 3, path=None
) -> Figure:
    """A `plot_confusion_matrix` panel (normalized by true class) per model.

    Args:
        results: Panel title -> a classifier's results with `confusion_matrix` and,
            optionally, `class_names` (what `evaluate_classifier` returns).
        columns: Panels a row.
        path: Where to save a PNG, if given.

    Returns:
        The matplotlib Figure.

    Example:
    >>> plot_confusion_matrix_grid({"1% labels": evaluate_classifier(model_1, test, names),
    ...                             "100% labels": evaluate_classifier(model_100, test, names)})
    """
    figure, axes = _grid(len(results), (5, 4.5), columns)
    for ax, (title, result) in zip(axes, results.items()):
        matrix, names = result["confusion_matrix"], result.get("class_names")
        plot_confusion_matrix(matrix, names, title=title, ax=ax)
    return _finish(figure, path)


def plot_accuracy_bars(
    rows,
    x: str = "variant",
    hue: str = "evaluation",
    hue_order: Sequence[str] | None = None,
    title: str = "Test accuracy",
    ax=None,
    path=None,
) -> Figure:
    """Accuracies as grouped, labelled bars: a group per `x`, a bar per `hue` (SimCLR Pets'
    Figs. 3-6, one setting against another).

    Args:
        rows: A DataFrame or list of dicts with the `x` and `hue` columns and `accuracy`
            in [0, 1].
        x, hue: The columns that name the groups and the bars within a group.
        hue_order: The bars' order (and which of them to draw); by first appearance if `None`.
        title: Axes title.
        ax: Axes to draw into; a new figure if `None`.
        path: Where to save a PNG, if given.

    Returns:
        The matplotlib Figure.

    Example:
    >>> plot_accuracy_bars([{"variant": "simclr", "evaluation": "frozen", "accuracy": 0.5},
    ...                     {"variant": "simclr", "evaluation": "finetune", "accuracy": 0.6}])
    """
    frame = pd.DataFrame(rows)
    if frame.empty or not {x, hue, "accuracy"} <= set(frame.columns):
        raise ValueError(
            f"`rows` need `{x}`, `{hue}` and `accuracy` columns; got {list(frame.columns)}."
        )
    if not frame["accuracy"].between(0, 1).all():
        raise ValueError(
            f"Accuracies must lie in [0, 1] (not percent); got max {frame['accuracy'].max()}."
        )
    frame["Accuracy (%)"] = 100 * frame["accuracy"]
    figure, ax = _axes(ax, (max(5.0, 1.6 * frame[x].nunique() + 2), 3.8))
    sns.barplot(frame, x=x, y="Accuracy (%)", hue=hue, hue_order=hue_order, ax=ax)
    for bars in ax.containers:
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_title(title)
    return _finish(figure, path)


def save_figures(
    figures: Iterable[tuple[str, Figure | None]], folder, dpi: int = DPI
) -> list[pathlib.Path]:
    """Saves each figure as `<folder>/<name>.png`; a `None` (nothing to draw) is skipped.

    Each file is written under a temporary name and renamed into place, so a run stopped
    at any point leaves whole PNGs only; figures drawn by a generator are saved one by one.

    Args:
        figures: `(name, figure or None)` pairs.
        folder: Where the PNGs go; created if missing.
        dpi: Resolution of the PNGs.

    Returns:
        The paths written.

    Example:
    >>> save_figures([("bars", plot_accuracy_bars(rows)), ("empty", None)], "run/figures")
    """
    return [
        atomic_write(
            pathlib.Path(folder) / f"{name}.png",
            functools.partial(figure.savefig, dpi=dpi, bbox_inches="tight"),
        )
        for name, figure in figures
        if figure is not None
    ]
