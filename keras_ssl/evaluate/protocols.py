"""Evaluation protocols: what is measured on an encoder at a label fraction.

Fine-tuning, a linear probe, a supervised baseline and kNN, each registered by name
(an experiment file's `evaluations.<name>.kind`); docs/guide/experiments.md lists
them and shows how to register one's own.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from keras_ssl._files import atomic_write
from keras_ssl.config import ConfigError
from keras_ssl.registry import Registry


@dataclasses.dataclass
class StageInputs:
    """What an evaluation protocol gets: the data, the encoder, the settings.

    Attributes:
        evaluation, variant: the `Evaluation` settings and the `Variant` evaluated.
        fraction, folder: the label fraction and the stage folder (`<evaluation>/<variant>/<N>pct`).
        train, test: `(images, labels)` of the fraction of the training images, and the
            held-out ones (scored once, at the end).
        selection: `(images, labels)` model selection watches (validation images,
            or the test images under the Umeå report's protocol).
        class_names: the evaluation's classes (labels index them).
        encoder, fresh_encoder: return the variant's (pretrained) encoder, and a newly
            built one, not pretrained.
        seed, verbose: the experiment's seed and the Keras verbosity.
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


def _classifier_stage(inputs: StageInputs, fit: Callable) -> dict:
    """Fits (`finetune`'s arguments less the encoder), saves the model and log; the metrics."""
    from keras_ssl.finetune import score_result

    inputs.folder.mkdir(parents=True, exist_ok=True)
    partial_log = inputs.folder / ".log.csv.partial"
    start = time.perf_counter()
    result = fit(
        inputs.train, inputs.selection, num_classes=len(inputs.class_names), seed=inputs.seed,
        recipe=inputs.evaluation.resolved_recipe(), input_shape=tuple(inputs.train[0].shape[1:]),
        log_csv=str(partial_log), backup_dir=str(inputs.folder / "backup"), verbose=inputs.verbose,
    )  # fmt: skip
    metrics = score_result(result, inputs.test, inputs.class_names, inputs.selection)
    atomic_write(inputs.folder / "model.keras", result.model.save)
    partial_log.replace(inputs.folder / "log.csv")
    metrics["seconds"] = round(time.perf_counter() - start, 3)  # the stage's, saving included
    return metrics


def _check_freezes_all(evaluation) -> None:
    recipe = evaluation.resolved_recipe()
    if not recipe.freezes_encoder:
        raise ConfigError(
            f"`evaluations.{evaluation.name}.recipe` {recipe.name!r} must freeze the whole "
            f"encoder for kind {evaluation.kind!r} (freeze_first: all); use recipe linear_probe."
        )


def _check_trains_all(evaluation) -> None:
    recipe = evaluation.resolved_recipe()
    if recipe.freeze_first != 0:
        raise ConfigError(
            f"`evaluations.{evaluation.name}.recipe_args`: the baseline trains every layer of an "
            f"encoder that was not pretrained; set freeze_first to 0 (got {recipe.freeze_first!r})."
        )


@register("finetune", default_recipe="full")
def finetune(inputs: StageInputs) -> dict:
    """The recipe on the variant's (pretrained) encoder."""
    from keras_ssl import finetune as ft

    return _classifier_stage(inputs, lambda *args, **kw: ft.finetune(inputs.encoder(), *args, **kw))


@register("linear_probe", default_recipe="linear_probe", check=_check_freezes_all)
def linear_probe(inputs: StageInputs) -> dict:
    """A softmax layer on the frozen encoder's features."""
    return finetune(inputs)


@register("baseline", default_recipe="supervised", check=_check_trains_all)
def baseline(inputs: StageInputs) -> dict:
    """The same architecture trained on the labels without pretraining, every layer trainable.

    `init: variant` starts from the variant's initial weights (ImageNet for the
    Umeå report's supervised baseline); `init: random` from scratch.
    """
    from keras_ssl.finetune import supervised_baseline

    return _classifier_stage(inputs, partial(supervised_baseline, inputs.fresh_encoder))


@register("knn", trains=False)
def knn(inputs: StageInputs) -> dict:
    """Cosine k-nearest-neighbour accuracy of the frozen encoder's features.

    The labelled fraction of the training images is the memory bank; the held-out
    images are the queries (nothing is selected, so the validation images go unused).
    """
    from keras_ssl.evaluate import encoder_knn_accuracy

    start = time.perf_counter()
    k = min(inputs.evaluation.k, len(inputs.train[1]))
    accuracy = encoder_knn_accuracy(
        inputs.encoder(), inputs.train, inputs.test, k=k, num_classes=len(inputs.class_names)
    )
    seconds = round(time.perf_counter() - start, 3)
    return {"labels_used": len(inputs.train[1]), "accuracy": accuracy, "k": k, "seconds": seconds}
