"""The label-efficiency sweep: one recipe over several label fractions, as a tidy table.

Reproduces the experiment behind the Umeå report's Table 1 and Figure 5 (`000`,
§3.2): the same pretrained encoder fine-tuned on 1 %, 5 %, … 100 % of the labels.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from keras_ssl.data import label_fraction, train_val_test_split
from keras_ssl.finetune._core import (
    FinetuneResult,
    RunOptions,
    build_model,
    checked_inputs,
    evaluate_model,
)
from keras_ssl.finetune._inputs import LabeledData, check_labels, labeled_data
from keras_ssl.finetune.models import copy_encoder
from keras_ssl.finetune.probe import embedded, feature_model, train_probe
from keras_ssl.finetune.recipes import FinetuneConfig, get_recipe
from keras_ssl.finetune.training import train_finetune

# Always in the table, in this order; further validation metrics (e.g. `auc`) follow.
COLUMNS = (
    "fraction",
    "labels_used",
    "accuracy",
    "top3_accuracy",
    "val_loss",
    "best_epoch",
    "epochs_run",
    "seconds",
    "recipe",
    "seed",
)


@dataclass
class SweepResult:
    """The results of `label_efficiency_sweep`.

    Attributes:
        table: one row per fraction, sorted by fraction; columns `COLUMNS` (accuracy
            metrics are the validation metrics of the returned, best-epoch model, the
            split it was selected on; `top3_accuracy` is NaN with 3 classes or fewer),
            then `test_*` held-out scores when the sweep had `test_data`. `seconds` is each run's
            wall time; with cached features, the one embedding of all images before
            the first run is not in it.
        histories: fraction -> that run's Keras history (metric -> value per epoch).
        recipe: the recipe used.
        models: fraction -> trained model, when the sweep kept them.
    """

    table: pd.DataFrame
    histories: dict[float, dict[str, list[float]]]
    recipe: FinetuneConfig | None = None
    models: dict[float, keras.Model] = field(default_factory=dict, repr=False)

    @property
    def fractions(self) -> list[float]:
        return [float(f) for f in self.table["fraction"]]

    def to_csv(self, path: str | os.PathLike | None = None) -> str:
        """The table as CSV text; also written to `path` if given."""
        return _write(self.table.to_csv(index=False), path)

    def to_markdown(self, path: str | os.PathLike | None = None, float_format: str = ".4f") -> str:
        """The table as a GitHub Markdown table (no `tabulate` needed); also written to `path`."""
        columns = list(self.table.columns)
        lines = [
            "| " + " | ".join(columns) + " |",
            "| " + " | ".join("---:" if _numeric(self.table[c]) else "---" for c in columns) + " |",
        ]
        for row in self.table.itertuples(index=False):
            cells = [_cell(value, float_format) for value in row]
            lines.append("| " + " | ".join(cells) + " |")
        return _write("\n".join(lines) + "\n", path)

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """Rows, histories and recipe as JSON (NaN written as null); `from_json` reads it."""
        content = {
            "recipe": None if self.recipe is None else self.recipe.get_config(),
            "rows": [
                {k: _json_value(v) for k, v in row.items()}
                for row in self.table.to_dict(orient="records")
            ],
            "histories": {repr(f): h for f, h in self.histories.items()},
        }
        return _write(json.dumps(content, indent=1), path)

    @classmethod
    def from_json(cls, source: str | os.PathLike) -> SweepResult:
        """Reads `to_json` output, from a path or the JSON text itself."""
        text = str(source)
        if not text.lstrip().startswith("{"):
            text = Path(source).read_text()
        content = json.loads(text)
        recipe = content.get("recipe")
        return cls(
            table=_table(content["rows"]),
            histories={float(f): h for f, h in content.get("histories", {}).items()},
            recipe=None if recipe is None else FinetuneConfig.from_config(recipe),
        )

    def merge(self, other: SweepResult) -> SweepResult:
        """This sweep's rows and `other`'s, e.g. a resumed sweep's; `other` wins on a tie."""
        mine = self.table[~self.table["fraction"].isin(other.table["fraction"])]
        return SweepResult(
            table=_table(pd.concat([mine, other.table]).to_dict(orient="records")),
            histories={**self.histories, **other.histories},
            recipe=other.recipe or self.recipe,
            models={**self.models, **other.models},
        )


def label_efficiency_sweep(
    encoder: keras.Model,
    train_images,
    train_labels,
    val_data=0.1,
    num_classes: int | None = None,
    fractions: Sequence[float] = (0.01, 0.1, 1.0),
    recipe: str | FinetuneConfig = "full",
    seed: int = 0,
    *,
    test_data=None,
    skip: Sequence[float] = (),
    on_result: Callable[[dict, FinetuneResult], None] | None = None,
    keep_models: bool = False,
    verbose: int = 0,
    input_shape: tuple[int, int, int] | None = None,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    **overrides,
) -> SweepResult:
    """Fine-tunes `encoder` on growing class-balanced fractions of the labels.

    Each fraction's subset comes from `keras_ssl.data.label_fraction(train_labels,
    fraction, seed=seed)`: the same fraction of every class, and nested (the 1 %
    subset lies inside the 5 % one). Each run starts from a fresh copy of the
    encoder and is seeded with `seed`, so a fraction's result does not depend on
    which fractions ran before it. All inputs and subsets are checked before the
    first run. With a `cache_features` recipe (`"linear_probe"`) the images are
    embedded once for all fractions.

    Model selection (early stopping, best-weight restore, the learning-rate
    schedule) watches `val_data`, by default a validation split carved from the
    training images; the table's `accuracy`, `top3_accuracy` and `val_loss` are
    measured on it, so they are the selected, optimistic numbers. Give `test_data`
    to score every fraction's model once on held-out images (`test_*` columns).

    Args:
        encoder: the pretrained encoder (not modified).
        train_images: all labeled training images, `[N, H, W, 3]`, values in [0, 255].
        train_labels: their class ids `[N]`.
        val_data: what model selection watches: `(images, labels)` arrays or a
            batched `tf.data.Dataset`, the same for every fraction; or a size (a
            fraction in (0, 1) or a count) of a seeded, class-balanced validation
            split carved from `train_images` first (the fractions then count the
            rest). Never the test images.
        num_classes: number of classes; None: the largest label + 1.
        fractions: label fractions in (0, 1]; 1 %, 10 % and all labels by default (the
            Umeå report's seven are `keras_ssl.data.splits.UMEA_FRACTIONS`).
        recipe: a recipe name or `FinetuneConfig` (see `available_recipes()`).
        seed: seed of the subsets and of every run.
        test_data: held-out `(images, labels)` or a batched dataset, scored once per
            fraction after training (columns `test_accuracy`, `test_loss`, ...); None
            scores nothing.
        skip: fractions not to run (already done, e.g. when resuming a sweep).
        on_result: called after each fraction with its table row (a dict) and its
            `FinetuneResult`, e.g. to save results as they come.
        keep_models: keep every trained model in `SweepResult.models`.
        verbose: 0 silent, 1 one line per fraction, 2 also Keras' progress bars.
        input_shape: image shape if different from the encoder's input (resized inside).
        callbacks: more Keras callbacks for every run.
        **overrides: recipe fields to change, e.g. `epochs=10`.

    Returns:
        A `SweepResult`; `to_csv`, `to_markdown` and `to_json` export its table.

    Raises:
        ValueError: for bad fractions, labels or data (see `finetune`), or a fraction
            that would leave a class without examples; before any training.

    Example:

    ```python
    # 10 % of the training images become the validation split; the test images
    # are scored once per fraction, at the end.
    sweep = label_efficiency_sweep(encoder, x_train, y_train, test_data=(x_test, y_test))
    print(sweep.to_markdown())
    ```
    """
    config = get_recipe(recipe, **overrides)
    if num_classes is None:
        num_classes = int(np.max(train_labels)) + 1
    if _is_size(val_data):
        train_images, train_labels, val_data = _carve_validation(
            train_images, train_labels, val_data, seed
        )
    if config.multi_label:
        raise ValueError(
            "`label_efficiency_sweep` draws class-balanced subsets and needs integer class "
            "labels; for multi-label data, call `finetune` on subsets of your choice."
        )
    train, val = checked_inputs(
        encoder, (train_images, train_labels), val_data, num_classes, config
    )
    test = None
    if test_data is not None:
        test = labeled_data(test_data, "test_data")
        check_labels(test, num_classes, False, "test_data", every_class=False)
    subsets = {
        fraction: _subset(train, fraction, seed, num_classes)
        for fraction in _checked_fractions(fractions)
        if not any(math.isclose(fraction, done) for done in skip)
    }
    options = RunOptions(
        copy=True,
        callbacks=callbacks,
        verbose=verbose - 1 if verbose > 1 else 0,
        input_shape=input_shape,
        seed=seed,
    )
    features = _cached_features(encoder, train, val, config, input_shape, num_classes)
    rows, histories, models = [], {}, {}
    for fraction, indices in subsets.items():
        if features is None:
            result = train_finetune(
                encoder, train.subset(indices), val, num_classes, config, options
            )
        else:
            subset = (features[0].subset(indices), features[1])
            result = train_probe(encoder, None, None, num_classes, config, options, subset)
        row = _row(fraction, result, seed)
        if test is not None:
            scores = evaluate_model(result.model, test, config)
            row.update({f"test_{name}": value for name, value in scores.items()})
        rows.append(row)
        histories[fraction] = result.history
        if keep_models:
            models[fraction] = result.model
        if verbose:
            print(
                f"fraction {fraction:g}: {row['labels_used']} labels, accuracy "
                f"{row['accuracy']:.4f}, best epoch {row['best_epoch']}/{row['epochs_run']}, "
                f"{row['seconds']:.1f} s"
            )
        if on_result is not None:
            on_result(row, result)
    return SweepResult(table=_table(rows), histories=histories, recipe=config, models=models)


def _is_size(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _carve_validation(images, labels, size, seed: int):
    """(train images, train labels, (val images, val labels)): a seeded, class-balanced split."""
    labels = np.asarray(labels)
    try:
        split = train_val_test_split(labels, val=size, seed=seed)
    except ValueError as error:
        message = f"`val_data={size!r}` cannot be carved from the training images: {error}"
        raise ValueError(message) from None
    if not len(split["val"]):
        raise ValueError(
            f"`val_data={size!r}` carves no validation images: model selection needs some; "
            "give a size > 0 (e.g. 0.1) or validation `(images, labels)`."
        )
    images = np.asarray(images)
    train, val = split["train"], split["val"]
    return images[train], labels[train], (images[val], labels[val])


def _checked_fractions(fractions) -> list[float]:
    if isinstance(fractions, (int, float)):
        fractions = [fractions]
    values = list(fractions)
    if not values:
        raise ValueError("`fractions` is empty: pass label fractions in (0, 1], e.g. (0.1, 1.0).")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            raise ValueError(f"Every fraction must be a number in (0, 1]; got {value!r}.")
    if len(set(values)) != len(values):
        raise ValueError(f"`fractions` has duplicates: {values}.")
    return sorted(float(v) for v in values)


def _subset(train: LabeledData, fraction: float, seed: int, num_classes: int) -> np.ndarray:
    indices = label_fraction(train.labels, fraction, seed=seed)
    subset = LabeledData(labels=train.labels[indices])
    check_labels(subset, num_classes, False, f"train_data at fraction {fraction:g}", True)
    return indices


def _cached_features(encoder, train, val, config, input_shape, num_classes):
    """Features of all training and validation images, for `cache_features` recipes."""
    if not config.cache_features or config.reinitialize:
        return None
    extractor = feature_model(build_model(copy_encoder(encoder), num_classes, config, input_shape))
    return tuple(embedded(extractor, data, config.batch_size) for data in (train, val))


def _row(fraction: float, result: FinetuneResult, seed: int) -> dict:
    metrics = {("val_loss" if k == "loss" else k): v for k, v in result.val_metrics.items()}
    return {
        "fraction": fraction,
        "labels_used": result.train_size,
        **{"top3_accuracy": math.nan, **metrics},
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "seconds": result.seconds,
        "recipe": result.recipe.name,
        "seed": seed,
    }


def _table(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows)
    extra = [c for c in table.columns if c not in COLUMNS]
    table = table.reindex(columns=[*COLUMNS, *extra])
    if len(table):
        table = table.sort_values("fraction", kind="stable").reset_index(drop=True)
    return table.astype({"labels_used": "int64", "best_epoch": "int64", "epochs_run": "int64"})


def _write(text: str, path) -> str:
    if path is not None:
        Path(path).write_text(text)
    return text


def _numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column)


def _cell(value, float_format: str) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else format(value, float_format)
    return str(value)


def _json_value(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value
