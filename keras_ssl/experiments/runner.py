"""One runner for every experiment: split the data, pretrain each variant, evaluate, report.

The stages (`keras_ssl.experiments.stages`) run in one run folder; started again with
the same config, a run skips its finished stages and resumes the others after their
last finished epoch (docs: the experiments guide).

Example:

```python
experiment = experiments.load("umea", "smoke", ["data.source=cifar10-train.zip"])
print(experiments.run(experiment, "runs/umea-smoke").folder / "results.md")
```
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from keras_ssl import distribution
from keras_ssl._files import read_json, write_json
from keras_ssl.config import ConfigError
from keras_ssl.data.sources import check_source
from keras_ssl.evaluate import protocols as evaluations
from keras_ssl.experiments import inputs, pretraining, report
from keras_ssl.experiments.schema import Experiment
from keras_ssl.experiments.stages import SPLIT_FILE, Stage, plan
from keras_ssl.run_folder import RunFolder

METRICS_FILE = "metrics.json"


@dataclasses.dataclass
class RunResult:
    """What `run` did.

    Attributes:
        folder: the run folder.
        ran: names of the stages run in this call.
        skipped: names of the stages found finished and skipped.
        rows: the results table (empty when the run stopped before the report).
        stopped_after: the stage the run stopped after, or None if it finished.
    """

    folder: Path
    ran: list[str]
    skipped: list[str]
    rows: list[dict]
    stopped_after: str | None = None


def check(
    experiment: Experiment, output, force: bool = False, stop_after: str | None = None
) -> bool:
    """Every check that needs no data and no training; True if `output` will be resumed.

    The variants' models are built as a run builds them, without downloading
    weights, so that a setting they refuse is named before anything trains.

    Raises:
        ConfigError: for an unknown `stop_after` stage, a missing data path or
            weights file, impossible settings, or an output folder holding another
            config.
    """
    return _check(experiment, output, force, stop_after, load_weights=False)[0]


def _check(experiment: Experiment, output, force: bool, stop_after, load_weights: bool = True):
    """`check`, and the variants' built models (`_build_variant`), by variant name."""
    names = [stage.name for stage in plan(experiment)]
    if stop_after is not None and stop_after not in names:
        raise ConfigError(
            f"Unknown stage {stop_after!r} (`stop_after`); stages: {', '.join(names)}."
        )
    check_source(experiment.data.source)
    for variant in experiment.variants:
        if variant.pretrain is not None and variant.pretrain.source is not None:
            check_source(variant.pretrain.source, "pretrain.source")
    for evaluation in experiment.evaluations:  # every metric is logged from 4 classes on
        inputs.check_monitor(evaluation, num_classes=4)
    folder = RunFolder(output)
    resumed = folder.check(experiment.get_config(), force)
    models = {
        variant.name: _build_variant(experiment, variant, load_weights)
        for variant in experiment.variants
        # A finished pretraining was built and checked when it ran.
        if not (
            resumed and (folder / f"pretrain/{variant.name}/{pretraining.ENCODER_FILE}").is_file()
        )
    }
    return resumed, models


def _build_variant(experiment: Experiment, variant, load_weights: bool):
    """The variant's pretext model (or encoder, without pretraining), seeded, errors keyed.

    Built once: the run trains this model. A saved encoder is loaded; other weights
    are fetched only with `load_weights`.
    """
    import keras

    from keras_ssl.finetune import resolve_freeze

    settings = experiment.distribution
    keras.utils.set_random_seed(experiment.seed)  # the same weights whatever ran before
    with distribution.training_scope(settings.strategy, settings.precision):
        model = pretraining.build_variant_model(
            variant, experiment.seed, settings.sync_batch_norm, load_weights
        )
    encoder = model if variant.pretrain is None else model.encoder
    for evaluation in experiment.evaluations:
        recipe = evaluation.resolved_recipe()
        if recipe is None or not evaluation.measures(variant.name) or variant.encoder.saved:
            continue
        try:
            resolve_freeze(encoder, recipe.freeze_first, variant.encoder.name)
        except ValueError as error:
            raise ConfigError(
                f"`evaluations.{evaluation.name}.recipe_args` (variant {variant.name!r}): {error}"
            ) from None
    return model


def run(
    experiment: Experiment,
    output,
    *,
    force: bool = False,
    stop_after: str | None = None,
    callbacks: Sequence = (),
    verbose: int | str | None = None,
    log: Callable[[str], None] = print,
    command: str | None = None,
) -> RunResult:
    """Runs (or resumes) `experiment` in the folder `output`.

    Args:
        experiment: the experiment, e.g. `keras_ssl.experiments.load("umea")`.
        output: the run folder. A folder holding the same config is resumed; one
            holding another config is refused (or, with `force`, emptied).
        force: delete a run of another config in `output` and start over.
        stop_after: stop after the stage of this name (see `plan`).
        callbacks: more Keras callbacks for pretraining.
        verbose: Keras verbosity; None: progress bars on a terminal, else one line
            per epoch.
        log: where stage banners go.
        command: the command line, recorded in `run_info.json`.

    Returns:
        A `RunResult`.

    Raises:
        ConfigError: for a bad config, data source, weights file, class subset or
            output folder, before any training.
    """
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    folder = RunFolder(output)
    resumed, models = _check(experiment, output, force, stop_after)
    stages = plan(experiment)
    runner = _Runner(experiment, folder, stages, verbose, log, callbacks, models)
    runner.banner(stages[0], "loading the images")
    start = time.perf_counter()
    runner.data = inputs.prepare(experiment, folder / SPLIT_FILE if resumed else None)
    # Only now, with every input checked, does anything get written.
    folder.claim(experiment.get_config(), force)
    folder.start_session(command, seed=experiment.seed, profile=experiment.profile)
    log(f"  {'resuming the' if resumed else 'new'} run in {folder.path}")
    runner.write_data(time.perf_counter() - start)
    for stage in stages:
        if stage.kind == "report":
            rows = runner.report()
            return RunResult(folder.path, runner.ran, runner.skipped, rows)
        if stage.kind != "data":
            runner.run_stage(stage)
        if stage.name == stop_after:
            log(f"Stopped after {stage.name}; run it again to go on.")
            return RunResult(folder.path, runner.ran, runner.skipped, [], stop_after)
    raise AssertionError("the plan ends with the report")


class _Runner:
    """The state of one run: the data, the loaded encoders, what ran and what was skipped."""

    def __init__(self, experiment, folder, stages, verbose, log, callbacks, models):
        self.experiment, self.folder, self.stages = experiment, folder, stages
        self.verbose, self.log, self.callbacks = verbose, log, callbacks
        self.ran, self.skipped = [], []
        self.models = models  # built by `_check`: pretext models, or encoders
        self.encoders = {}
        self.data = None

    def banner(self, stage: Stage, note: str = "") -> None:
        index = self.stages.index(stage) + 1
        self.log(f"== [{index}/{len(self.stages)}] {stage.name}: {note or stage.description}")

    def write_data(self, seconds: float) -> None:
        new = self.data.write(self.folder / SPLIT_FILE)
        (self.ran if new else self.skipped).append("data")
        self.folder.update_info(data=self.data.facts)
        self.folder.record_stage("data", seconds)
        self.log(f"  {self.data.summary()}")

    def run_stage(self, stage: Stage) -> None:
        folder = self.folder / stage.name
        done_file = pretraining.ENCODER_FILE if stage.kind == "pretrain" else METRICS_FILE
        if (folder / done_file).is_file():
            self.banner(stage, "finished earlier, skipped")
            self.skipped.append(stage.name)
            return
        self.banner(stage)
        start = time.perf_counter()
        settings = self.experiment.distribution
        with distribution.training_scope(settings.strategy, settings.precision):
            if stage.kind == "pretrain":
                self._pretrain(stage, folder)
            else:
                self._evaluate(stage, folder)
        seconds = time.perf_counter() - start
        self.folder.record_stage(stage.name, seconds)
        self.ran.append(stage.name)
        self.log(f"  {stage.name} done in {seconds:.1f} s")

    def _pretrain(self, stage: Stage, folder: Path) -> None:
        variant = self.experiment.variant(stage.variant)
        self.encoders[stage.variant] = pretraining.pretrain_encoder(
            self.data.pretraining_images(variant),
            variant,
            folder,
            seed=self.experiment.seed,
            val_images=None if self.data.val is None else self.data.val[0],
            verbose=self.verbose,
            callbacks=self.callbacks,
            log=self.log,
            model=self.models.pop(stage.variant, None),
        )

    def _encoder(self, name: str):
        """The variant's encoder: built seeded by `_check`, or its pretraining's."""
        if name not in self.encoders and self.experiment.variant(name).pretrain is None:
            self.encoders[name] = self.models.pop(name)
        if name not in self.encoders:
            import keras

            path = self.folder / f"pretrain/{name}/{pretraining.ENCODER_FILE}"
            self.encoders[name] = keras.models.load_model(path)
        return self.encoders[name]

    def _fresh_encoder(self, variant, evaluation):
        import keras

        keras.utils.set_random_seed(self.experiment.seed)
        return variant.encoder.build(None if evaluation.init == "random" else "config")

    def _evaluate(self, stage: Stage, folder: Path) -> None:
        experiment, name = self.experiment, stage.variant
        variant, evaluation = experiment.variant(name), experiment.evaluation(stage.evaluation)
        data = self.data.for_evaluation(evaluation, stage.fraction, experiment.seed)
        stage_inputs = evaluations.StageInputs(
            evaluation=evaluation, variant=variant, fraction=stage.fraction, folder=folder,
            train=data.train, selection=data.selection, test=data.test,
            class_names=data.class_names, encoder=lambda: self._encoder(name),
            fresh_encoder=lambda: self._fresh_encoder(variant, evaluation),
            seed=experiment.seed, verbose=self.verbose,
        )  # fmt: skip
        metrics = {
            "stage": stage.name, "variant": name, "evaluation": evaluation.name,
            "kind": evaluation.kind, "fraction": stage.fraction,
            "selected_on": experiment.data.select_on,
            **evaluations.get(evaluation.kind).run(stage_inputs),
        }  # fmt: skip
        write_json(folder / METRICS_FILE, metrics)
        paper = evaluation.reference_for(name).get(stage.fraction)
        line = f"  held-out accuracy {100 * metrics['accuracy']:.2f}%"
        line += f" (paper: {paper:.2f}%)" if paper is not None else ""
        line += f", {metrics['labels_used']} labels"
        if "best_epoch" in metrics:
            line += f", best epoch {metrics['best_epoch']}/{metrics['epochs_run']}"
        self.log(line)

    def report(self) -> list[dict]:
        stage = self.stages[-1]
        self.banner(stage)
        start = time.perf_counter()
        done = [s for s in self.stages if s.kind == "evaluate"]
        metrics = [read_json(self.folder / s.name / METRICS_FILE) for s in done]
        report.write_figures(self.folder.path, self.experiment, metrics, self.data.train[0][:256])
        self.folder.record_stage("report", time.perf_counter() - start)
        rows = report.write_tables(self.folder.path, self.experiment, metrics, self.folder.info())
        self.ran.append(stage.name)
        self.log((self.folder / "results.md").read_text())
        return rows
