"""Evaluation kinds: what an experiment measures on a variant's encoder at a label fraction.

A kind is a function registered by name; an experiment file names it as
`evaluations.<name>.kind`. Each gets a `StageInputs` (the split data of the
evaluation's classes, the encoder, the settings) and returns the stage's metrics,
which the runner writes as `metrics.json`. Built in:

| kind | encoder | default recipe |
| --- | --- | --- |
| `finetune` | the pretrained encoder (or the variant's, without pretraining) | `full` |
| `linear_probe` | the same, frozen; a softmax layer on its features | `linear_probe` |
| `baseline` | the same architecture, not pretrained (`init: variant` or `random`) | `supervised` |
| `knn` | the same, frozen; cosine kNN of the test images among the labelled ones | — |

Example, a kind of one's own:

```python
@keras_ssl.experiments.evaluations.register("nearest_centroid")
def nearest_centroid(inputs):
    ...
    return {"accuracy": ..., "labels_used": ...}
```
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from keras_ssl.config import ConfigError
from keras_ssl.registry import Registry


@dataclasses.dataclass
class StageInputs:
    """What an evaluation stage gets from the runner.

    Attributes:
        evaluation: its `Evaluation` settings.
        variant: the `Variant` evaluated.
        fraction: the label fraction.
        folder: the stage folder (`<evaluation>/<variant>/<N>pct`).
        train: `(images, labels)` of the fraction of the training images.
        selection: `(images, labels)` model selection watches (validation images,
            or the test images under the Umeå report's protocol).
        test: the held-out `(images, labels)`, scored once, at the end.
        class_names: the evaluation's classes (labels index them).
        encoder: returns the variant's (pretrained) encoder.
        fresh_encoder: returns a newly built encoder of the variant, not pretrained.
        seed: the experiment's seed.
        verbose: Keras verbosity.
    """

    evaluation: object
    variant: object
    fraction: float
    folder: Path
    train: tuple
    selection: tuple | None
    test: tuple
    class_names: list
    encoder: Callable
    fresh_encoder: Callable
    seed: int
    verbose: int | str


@dataclasses.dataclass(frozen=True)
class EvaluationKind:
    """A registered kind: how it runs, its default recipe and its extra checks."""

    name: str
    run: Callable[[StageInputs], dict]
    default_recipe: str | None = None
    check: Callable = lambda evaluation: None
    trains: bool = True


# The kinds' `run` functions, with the other fields of their `EvaluationKind` as metadata.
KINDS = Registry("evaluation kind")


def register(name: str, default_recipe: str | None = None, check=None, trains: bool = True):
    """Decorator registering `run(inputs: StageInputs) -> metrics` as an evaluation kind.

    Args:
        name: the kind, as experiment files name it.
        default_recipe: the recipe used when the evaluation names none.
        check: `check(evaluation)` raising `ConfigError` for settings the kind cannot
            run, called when the experiment is loaded.
        trains: whether the kind fits a model (kNN does not).

    Raises:
        ValueError: if another function is already registered as `name`.
    """
    check = check or (lambda evaluation: None)
    return KINDS.register(name, default_recipe=default_recipe, check=check, trains=trains)


def available() -> list[str]:
    """Names of the evaluation kinds, sorted."""
    return KINDS.available()


def get(name: str) -> EvaluationKind:
    """The kind registered as `name`; a `ConfigError` lists the kinds for an unknown one."""
    return EvaluationKind(name, KINDS.get(name), **KINDS.entry(name))


# -- classifier stages: fit, then score the saved model on the held-out images -----------


def _classifier_stage(inputs: StageInputs, train: Callable[[str], object]) -> dict:
    """Runs `train(log_csv) -> FinetuneResult`, scores and saves the model; the metrics."""
    from keras_ssl.evaluate import evaluate_classifier
    from keras_ssl.resume import atomic_write

    folder = inputs.folder
    folder.mkdir(parents=True, exist_ok=True)
    partial_log = folder / ".log.csv.partial"
    start = time.perf_counter()
    result = train(str(partial_log))
    test = evaluate_classifier(result.model, inputs.test, inputs.class_names, top_k=(1, 3))
    atomic_write(folder / "model.keras", result.model.save)
    partial_log.replace(folder / "log.csv")
    multi_label = test.get("multilabel", False)
    extra = {}
    if multi_label and inputs.selection is not None:
        # 004's Table 3 reports the validation images' metrics beside the test ones.
        extra["validation"] = evaluate_classifier(
            result.model, inputs.selection, inputs.class_names
        )
    return {
        "labels_used": result.train_size,
        # Multi-hot labels: the accuracy over every (image, attribute) entry, as Keras'
        # binary_accuracy; the per-attribute metrics are in "test".
        "accuracy": test["micro_accuracy" if multi_label else "accuracy"],
        "top_3_accuracy": test.get("top_3_accuracy", float("nan")),
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "early_stopping_metrics": result.val_metrics,
        "recipe": result.recipe.get_config(),
        "seconds": round(time.perf_counter() - start, 3),
        "test": test,
        **extra,
        "history": result.history,
    }


def _fit_arguments(inputs: StageInputs, log_csv: str) -> dict:
    images = inputs.train[0]
    return {
        "input_shape": tuple(images.shape[1:]),
        "log_csv": log_csv,
        "backup_dir": str(Path(log_csv).parent / "backup"),
        "seed": inputs.seed,
        "verbose": inputs.verbose,
    }


def _recipe_check(freezes_all: bool | None = None, trains_all: bool = False):
    def check(evaluation) -> None:
        recipe = evaluation.resolved_recipe()
        key = f"evaluations.{evaluation.name}"
        if freezes_all is not None and recipe.freezes_encoder != freezes_all:
            raise ConfigError(
                f"`{key}.recipe` {recipe.name!r} must freeze the whole encoder for kind "
                f"{evaluation.kind!r} (freeze_first: all); use recipe linear_probe."
            )
        if trains_all and recipe.freeze_first != 0:
            raise ConfigError(
                f"`{key}.recipe_args`: the baseline trains every layer of an encoder that was "
                f"not pretrained; set freeze_first to 0 (got {recipe.freeze_first!r})."
            )

    return check


@register("finetune", default_recipe="full", check=_recipe_check())
def finetune(inputs: StageInputs) -> dict:
    """The recipe on the variant's (pretrained) encoder."""
    from keras_ssl import finetune as ft

    recipe = inputs.evaluation.resolved_recipe()

    def train(log_csv: str):
        return ft.finetune(
            inputs.encoder(), inputs.train, inputs.selection, len(inputs.class_names), recipe,
            **_fit_arguments(inputs, log_csv),
        )  # fmt: skip

    return _classifier_stage(inputs, train)


def _linear_probe(inputs: StageInputs) -> dict:
    """A softmax layer on the frozen encoder's features."""
    return finetune(inputs)


register("linear_probe", default_recipe="linear_probe", check=_recipe_check(freezes_all=True))(
    _linear_probe
)


@register("baseline", default_recipe="supervised", check=_recipe_check(trains_all=True))
def baseline(inputs: StageInputs) -> dict:
    """The same architecture trained on the labels without pretraining, every layer trainable.

    `init: variant` starts from the variant's initial weights (ImageNet for the
    Umeå report's supervised baseline); `init: random` from scratch.
    """
    from keras_ssl import finetune as ft

    recipe = inputs.evaluation.resolved_recipe()

    def train(log_csv: str):
        return ft.supervised_baseline(
            inputs.fresh_encoder, inputs.train, inputs.selection, len(inputs.class_names),
            recipe, **_fit_arguments(inputs, log_csv),
        )  # fmt: skip

    return _classifier_stage(inputs, train)


@register("knn", trains=False)
def knn(inputs: StageInputs) -> dict:
    """Cosine k-nearest-neighbour accuracy of the frozen encoder's features.

    The labelled fraction of the training images is the memory bank; the held-out
    images are the queries (nothing is selected, so the validation images go unused).
    """
    from keras_ssl.evaluate import compute_embeddings, knn_accuracy

    start = time.perf_counter()
    encoder = _at_image_size(inputs.encoder(), inputs.train[0].shape[1:])
    bank, _ = compute_embeddings(encoder, inputs.train[0], verbose=0)
    queries, _ = compute_embeddings(encoder, inputs.test[0], verbose=0)
    k = min(inputs.evaluation.k, len(bank))
    accuracy = knn_accuracy(
        bank, inputs.train[1], queries, inputs.test[1], k=k, num_classes=len(inputs.class_names)
    )
    return {
        "labels_used": int(len(inputs.train[1])),
        "accuracy": accuracy,
        "k": k,
        "seconds": round(time.perf_counter() - start, 3),
    }


def _at_image_size(encoder, image_shape):
    """`encoder` behind a resizing layer when the images are not of its input size."""
    import keras

    from keras_ssl.encoders import encoder_input_shape

    wanted = encoder_input_shape(encoder)
    if wanted is None or tuple(wanted[:2]) == tuple(image_shape[:2]):
        return encoder
    return keras.Sequential([keras.Input(image_shape), keras.layers.Resizing(*wanted[:2]), encoder])
