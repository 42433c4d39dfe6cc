"""Tests of keras_ssl.plots: every figure saves a PNG and has the expected axes and data."""

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from keras_ssl.evaluate import confusion_matrix
from keras_ssl.plots import (
    plot_accuracy_bars,
    plot_augmented_views,
    plot_confusion_matrix,
    plot_confusion_matrix_grid,
    plot_curve_grid,
    plot_label_efficiency,
    plot_label_efficiency_grid,
    plot_pretext_loss,
    plot_pretext_runs,
    plot_training_curves,
)


def _assert_png(path):
    assert path.stat().st_size > 1000
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) > 100


@pytest.fixture(scope="module")
def fit_history(tmp_path_factory):
    """A real keras History and CSVLogger file of a 4-epoch fit with validation."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    csv_path = tmp_path_factory.mktemp("log") / "log.csv"
    history = model.fit(
        x,
        y,
        validation_split=0.25,
        epochs=4,
        verbose=0,
        callbacks=[keras.callbacks.CSVLogger(str(csv_path))],
    )
    return history, csv_path


def test_plot_pretext_loss_from_history_dict_and_csv(fit_history, tmp_path):
    history, csv_path = fit_history
    losses = history.history["loss"]
    for source in (history, history.history, csv_path):
        path = tmp_path / f"loss_{type(source).__name__}.png"
        figure = plot_pretext_loss(source, path=path)
        _assert_png(path)
        ax = figure.axes[0]
        assert ax.get_title() == "Pretext training loss"
        assert ax.get_xlabel() == "Epoch" and ax.get_ylabel() == "Loss (NT-Xent)"
        assert len(ax.lines) == 2  # training and validation
        np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3, 4])
        np.testing.assert_allclose(ax.lines[0].get_ydata(), losses, rtol=1e-6)


def test_plot_pretext_loss_draws_into_given_axes():
    figure = Figure()
    ax = figure.add_subplot(1, 2, 2)
    returned = plot_pretext_loss({"loss": [3.0, 2.0, 1.5]}, loss_name="cross-entropy", ax=ax)
    assert returned is figure
    assert len(ax.lines) == 1 and ax.get_ylabel() == "Loss (cross-entropy)"


def test_plot_training_curves(fit_history, tmp_path):
    history, csv_path = fit_history
    runs = {"1% labels": history, "10% labels": csv_path, "no val": {"accuracy": [0.2, 0.4]}}
    path = tmp_path / "curves.png"
    figure = plot_training_curves(runs, path=path)
    _assert_png(path)
    ax = figure.axes[0]
    assert ax.get_title() == "Training and validation accuracy"
    assert ax.get_xlabel() == "Epoch" and ax.get_ylabel() == "Accuracy (%)"
    assert len(ax.lines) == 5  # two runs with validation, one without
    np.testing.assert_allclose(
        ax.lines[1].get_ydata(), np.array(history.history["val_accuracy"]) * 100
    )
    assert ax.lines[1].get_linestyle() == "--" and ax.lines[0].get_linestyle() == "-"
    assert ax.lines[0].get_color() == ax.lines[1].get_color() != ax.lines[2].get_color()
    loss_axes = plot_training_curves({"run": history}, metric="loss").axes[0]
    assert loss_axes.get_ylabel() == "Loss"


def test_plot_label_efficiency(tmp_path):
    results = [
        {"fraction": 0.01, "accuracy": 0.40},
        {"fraction": 0.10, "accuracy": 0.60},
        {"fraction": 0.10, "accuracy": 0.64},  # a second seed: mean 62 %
        {"fraction": 1.00, "accuracy": 0.80},
    ]
    path = tmp_path / "efficiency.png"
    figure = plot_label_efficiency(
        results, baseline=0.85, paper={0.01: 0.5, 0.5: 0.7, 1.0: 0.82}, path=path
    )
    _assert_png(path)
    ax = figure.axes[0]
    assert ax.get_title() == "Accuracy vs. labeled data"
    assert ax.get_xlabel() == "Labeled data (%)" and ax.get_ylabel() == "Accuracy (%)"
    assert ax.get_xscale() == "log"
    assert len(ax.lines) == 3  # ours, paper, baseline
    ours, paper, baseline = ax.lines
    np.testing.assert_allclose(ours.get_xdata(), [1, 10, 100])
    np.testing.assert_allclose(ours.get_ydata(), [40, 62, 80])
    np.testing.assert_allclose(paper.get_ydata(), [50, 70, 82])
    np.testing.assert_allclose(baseline.get_ydata(), [85, 85])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "10", "50", "100"]
    assert len(ax.collections) == 1  # the seed band at 10 %
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Ours",
        "Paper",
        "Supervised baseline (100% labels)",
    ]


def test_plot_augmented_views(cifar_small, tmp_path):
    images = cifar_small[0][:20]
    calls = []

    def invert(batch):
        calls.append(batch.shape)
        return 255.0 - batch

    path = tmp_path / "views.png"
    figure = plot_augmented_views(images, invert, num_images=5, num_views=2, seed=3, path=path)
    _assert_png(path)
    assert calls == [(5, 32, 32, 3)] * 2
    ax = figure.axes[0]
    assert ax.get_title() == "Augmented views"
    assert ax.get_xlabel() == "Image (index in the input)" and ax.get_ylabel() == "Augmentation"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Original", "View 1", "View 2"]
    chosen = [int(t.get_text()) for t in ax.get_xticklabels()]
    assert len(set(chosen)) == 5 and chosen == sorted(chosen)
    mosaic = ax.get_images()[0].get_array()
    assert mosaic.shape == (3 * 34 + 2, 5 * 34 + 2, 3)
    # Row 0 holds the chosen originals, row 1 their inverted views (pad = 2 pixels).
    first = images[chosen[0]] / 255.0
    np.testing.assert_allclose(mosaic[2:34, 2:34], first, atol=1e-6)
    np.testing.assert_allclose(mosaic[36:68, 2:34], 1.0 - first, atol=1e-6)


def test_plot_augmented_views_calls_keras_layers_in_training_mode(cifar_small):
    flip = keras.layers.RandomFlip("horizontal", seed=1)
    images = cifar_small[0][:8].astype("float32")
    figure = plot_augmented_views(images, flip, num_images=8, num_views=3)
    mosaic = figure.axes[0].get_images()[0].get_array()
    originals = mosaic[2:34]
    views = [mosaic[2 + 34 * v : 34 + 34 * v] for v in (1, 2, 3)]
    assert any(not np.allclose(view, originals) for view in views)  # some image was flipped


def test_plot_confusion_matrix(tmp_path):
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 4, size=200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 4, size=200))
    cm = confusion_matrix(y_true, y_pred)
    names = ["cat", "dog", "fish", "duck"]
    path = tmp_path / "cm.png"
    figure = plot_confusion_matrix(cm.tolist(), names, path=path)
    _assert_png(path)
    ax, colorbar = figure.axes
    assert ax.get_title() == "Confusion matrix (normalized by true class)"
    assert ax.get_xlabel() == "Predicted class" and ax.get_ylabel() == "True class"
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert colorbar.get_ylabel() == "Share of true class (%)"
    row_percent = 100 * cm / cm.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(ax.collections[0].get_array().reshape(4, 4), row_percent)
    assert [t.get_text() for t in ax.texts] == [f"{v:.0f}" for v in row_percent.ravel()]
    counts = plot_confusion_matrix(cm, normalize=False).axes
    assert counts[1].get_ylabel() == "Images (count)"
    assert [t.get_text() for t in counts[0].texts] == [str(v) for v in cm.ravel()]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: plot_pretext_loss({"accuracy": [0.1]}),
            r"no 'loss' values; it has \['accuracy'\]",
        ),
        (lambda: plot_pretext_loss({"loss": [1.0, 0.5], "x": [1]}), "one value per epoch"),
        (lambda: plot_pretext_loss({"loss": []}), "empty"),
        (lambda: plot_pretext_loss([1.0, 0.5]), "keras History, a dict"),
        (lambda: plot_training_curves({}), "non-empty dict"),
        (lambda: plot_training_curves({"a": {"loss": [1.0]}}), "Run 'a' has no 'accuracy'"),
        (
            lambda: plot_label_efficiency([{"fraction": 10, "accuracy": 0.5}]),
            r"fractions must lie in \(0, 1\]",
        ),
        (lambda: plot_label_efficiency({0.1: 62.0}), "not percent"),
        (
            lambda: plot_label_efficiency([{"frac": 0.1}]),
            "needs rows with `fraction` and `accuracy`",
        ),
        (lambda: plot_label_efficiency({0.1: 0.6}, baseline=85), "`baseline` must be an accuracy"),
        (lambda: plot_augmented_views(np.zeros((3, 8, 8, 3)), lambda x: x), "N >= num_images=8"),
        (
            lambda: plot_augmented_views(np.zeros((9, 8, 8, 3)), lambda x: x, num_views=0),
            "`num_views`",
        ),
        (lambda: plot_augmented_views(np.zeros((9, 8, 8, 2)), lambda x: x), r"\[N, H, W, 1 or 3\]"),
        (lambda: plot_confusion_matrix(np.ones((2, 3))), "square"),
        (lambda: plot_confusion_matrix(np.ones((2, 2)), ["a"]), "1 `class_names` for a 2-class"),
        (lambda: plot_confusion_matrix(-np.ones((2, 2))), "non-negative"),
        (lambda: plot_curve_grid({}), "at least one panel"),
        (lambda: plot_confusion_matrix_grid({}), "at least one panel"),
        (
            lambda: plot_accuracy_bars([{"variant": "a", "accuracy": 0.5}]),
            "need `variant`, `evaluation`",
        ),
        (
            lambda: plot_accuracy_bars([{"variant": "a", "evaluation": "e", "accuracy": 50}]),
            "not percent",
        ),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_plot_label_efficiency_draws_a_baseline_per_fraction_as_a_curve():
    results = {0.01: 0.40, 0.1: 0.60, 1.0: 0.80}
    figure = plot_label_efficiency(
        results, baseline=[{"fraction": 0.01, "accuracy": 0.2}, {"fraction": 1.0, "accuracy": 0.7}],
        baseline_label="No pretraining",
    )  # fmt: skip
    ax = figure.axes[0]
    ours, baseline = ax.lines
    np.testing.assert_allclose(baseline.get_xdata(), [1, 100])
    np.testing.assert_allclose(baseline.get_ydata(), [20, 70])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Ours", "No pretraining"]
    with pytest.raises(ValueError, match=r"`baseline` must be an accuracy in \[0, 1\]; got 85"):
        plot_label_efficiency(results, baseline=85)


def _visible(figure):
    return [ax for ax in figure.axes if ax.axison and ax.get_label() != "<colorbar>"]


def test_plot_pretext_runs_draws_the_loss_and_the_methods_metric_per_run(fit_history, tmp_path):
    history, csv_path = fit_history
    runs = {
        "simclr": {"history": history, "loss_name": "NT-Xent", "metric": "accuracy"},
        "byol": {"history": csv_path, "loss_name": "normalised MSE", "metric": "loss"},
    }
    path = tmp_path / "pretext.png"
    figure = plot_pretext_runs(runs, path=path)
    _assert_png(path)
    axes = figure.axes
    assert [ax.get_title() for ax in axes] == [
        "Pretext loss, simclr", "Pretext accuracy, simclr", "Pretext loss, byol", "Pretext loss, byol",
    ]  # fmt: skip
    assert (
        axes[0].get_ylabel() == "Loss (NT-Xent)" and axes[2].get_ylabel() == "Loss (normalised MSE)"
    )
    assert [t.get_text() for t in axes[1].get_legend().get_texts()] == ["training", "validation"]
    np.testing.assert_allclose(
        axes[1].lines[0].get_ydata(), np.array(history.history["accuracy"]) * 100
    )


def test_plot_curve_grid_draws_a_panel_per_run(fit_history, tmp_path):
    history, _ = fit_history
    runs = {f"run {i}": history for i in range(5)}
    path = tmp_path / "grid.png"
    figure = plot_curve_grid(runs, metric="loss", columns=4, path=path)
    _assert_png(path)
    assert len(figure.axes) == 8  # two rows of four, the last three hidden
    assert [ax.get_title() for ax in _visible(figure)] == list(runs)
    ax = figure.axes[0]
    assert ax.get_ylabel() == "Loss" and len(ax.lines) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training", "validation"]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), history.history["val_loss"])


def test_plot_label_efficiency_grid_draws_every_evaluation_of_a_panel():
    results = {
        "simclr": {"finetune": {0.1: 0.6, 1.0: 0.8}, "knn": {0.1: 0.5, 1.0: 0.7}},
        "untrained": {},
    }
    papers = {"simclr": {"finetune": {0.1: 0.62, 1.0: 0.84}, "knn": {}}}
    figure = plot_label_efficiency_grid(results, papers, ticks=[0.01, 0.1, 1.0])
    simclr, untrained = figure.axes
    assert simclr.get_title() == "Accuracy vs. labeled data, simclr"
    assert [t.get_text() for t in simclr.get_legend().get_texts()] == [
        "Ours, finetune", "Paper, finetune", "Ours, knn",
    ]  # fmt: skip
    np.testing.assert_allclose(simclr.lines[1].get_ydata(), [62, 84])
    np.testing.assert_allclose(simclr.lines[2].get_ydata(), [50, 70])
    assert [t.get_text() for t in simclr.get_xticklabels()] == ["1", "10", "100"]
    assert not untrained.lines and untrained.get_legend() is None


def test_plot_confusion_matrix_grid_draws_a_normalized_heatmap_per_model(tmp_path):
    results = {
        "finetune 100%": {"confusion_matrix": [[3, 1], [0, 4]], "class_names": ["cat", "dog"]},
        "baseline 100%": {"confusion_matrix": [[2, 2], [1, 3]]},
    }
    path = tmp_path / "matrices.png"
    figure = plot_confusion_matrix_grid(results, path=path)
    _assert_png(path)
    heatmaps = [ax for ax in figure.axes if ax.get_title()]
    assert [ax.get_title() for ax in heatmaps] == list(results)
    assert [t.get_text() for t in heatmaps[0].get_xticklabels()] == ["cat", "dog"]
    assert [t.get_text() for t in heatmaps[1].get_xticklabels()] == ["0", "1"]
    np.testing.assert_allclose(
        heatmaps[0].collections[0].get_array().reshape(2, 2), [[75, 25], [0, 100]]
    )


def test_plot_accuracy_bars_groups_variants_and_orders_the_bars(tmp_path):
    rows = [
        {"variant": "simclr", "evaluation": "frozen", "accuracy": 0.5},
        {"variant": "simclr", "evaluation": "finetune", "accuracy": 0.625},
        {"variant": "random", "evaluation": "finetune", "accuracy": 0.25},
        {"variant": "random", "evaluation": "frozen", "accuracy": 0.2},
    ]
    path = tmp_path / "bars.png"
    figure = plot_accuracy_bars(rows, hue_order=["finetune", "frozen"], title="fig5", path=path)
    _assert_png(path)
    ax = figure.axes[0]
    assert ax.get_title() == "fig5" and ax.get_ylabel() == "Accuracy (%)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["simclr", "random"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["finetune", "frozen"]
    heights = [[bar.get_height() for bar in bars] for bars in ax.containers]
    np.testing.assert_allclose(heights, [[62.5, 25], [50, 20]])
    assert [t.get_text() for t in ax.texts] == ["62.5", "25.0", "50.0", "20.0"]
