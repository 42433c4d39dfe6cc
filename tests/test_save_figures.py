"""`plots.save_figures`: PNGs written whole under their names; nothing to draw, no file."""

from matplotlib.figure import Figure
from PIL import Image

from keras_ssl.plots import plot_accuracy_bars, save_figures


def test_each_figure_becomes_a_png_and_none_is_skipped(tmp_path):
    bars = plot_accuracy_bars([{"variant": "a", "evaluation": "finetune", "accuracy": 0.5}])
    blank = Figure()
    blank.add_subplot()
    drawn = []

    def figures():  # drawn one by one, as the report draws them
        for name in ("bars", "empty", "blank"):
            drawn.append(name)
            yield name, {"bars": bars, "empty": None, "blank": blank}[name]

    paths = save_figures(figures(), tmp_path / "figures")
    assert paths == [tmp_path / "figures/bars.png", tmp_path / "figures/blank.png"]
    assert drawn == ["bars", "empty", "blank"]
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["bars.png", "blank.png"]
    with Image.open(paths[0]) as image:
        assert image.format == "PNG" and min(image.size) > 100
