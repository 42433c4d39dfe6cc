"""The Umeå experiment end to end: split, pretrain, fine-tune on label fractions, report.

Reproduces Table 1 and Figures 3-5 of the Umeå report (`000`) in one run folder
(see `keras_ssl.experiments.run_folder`), stage by stage:

1. `data`: load the images, carve the class-balanced, seeded held-out test set
   (and optional validation set), write `split.json`;
2. per encoder initialisation ("variant": `imagenet`, `random`, or a weights file):
   `pretrain/<variant>`: SimCLR (or rotation) pretraining on the training images,
   checkpointed every epoch; `finetune/<variant>/<N>pct` for every label fraction;
   `finetune/<variant>/baseline-<N>pct`, the same architecture trained without
   pretraining, at `finetune.baseline_fractions`;
3. `report`: `results.csv`, `results.md` and the figures, from the stages' files.

A run started again with the same config continues where it stopped: finished
stages are skipped, pretraining resumes after its last finished epoch.

Example:

```python
from keras_ssl.experiments import apply_overrides, profile, umea

config = apply_overrides(profile("smoke"), ["data.source=../shared/data/cifar10-train.zip"])
result = umea.run(config, "runs/umea-smoke")
print(result.folder / "results.md")
```
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from keras_ssl.experiments import finetuning, paper, pretraining, report
from keras_ssl.experiments.config import ConfigError, ExperimentConfig, to_dict
from keras_ssl.experiments.inputs import check_source, experiment_split, load_images
from keras_ssl.experiments.run_folder import RunFolder, atomic_write
from keras_ssl.experiments.umea_plan import SPLIT_FILE, Stage, describe, plan, variant_name

__all__ = ["RunResult", "Stage", "check", "describe", "plan", "run", "variant_name"]


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


def _stage_names(config: ExperimentConfig) -> list[str]:
    return [stage.name for stage in plan(config)]


def check(
    config: ExperimentConfig, output, force: bool = False, stop_after: str | None = None
) -> bool:
    """Every check that needs no data and no training; True if `output` will be resumed.

    Raises:
        ValueError: for an unknown `stop_after`, a missing data path or weights
            file, or an output folder holding another config.
    """
    if stop_after is not None and stop_after not in _stage_names(config):
        raise ConfigError(
            f"Unknown stage {stop_after!r} for --stop-after; stages: {', '.join(_stage_names(config))}."
        )
    check_source(config.data.source)
    for weights in config.pretrain.weights:
        if weights not in (None, "imagenet") and not Path(weights).is_file():
            raise ConfigError(f"Weights file {weights!r} (`pretrain.weights`) does not exist.")
    _check_recipes_fit_the_encoder(config)
    return RunFolder(output).check(to_dict(config), force)


def _recipes(config: ExperimentConfig) -> list[tuple[str, object]]:
    """(config key, `FinetuneConfig`) of every fine-tuning side the plan runs."""
    fine = config.finetune
    recipes = [("finetune.recipe_overrides", fine.resolved_recipe())]
    if fine.baseline_fractions:
        recipes.append(("finetune.baseline_overrides", fine.resolved_baseline_recipe()))
    return recipes


def _check_recipes_fit_the_encoder(config: ExperimentConfig) -> None:
    """What the recipes ask of the encoder and the data, checked on the bare architecture."""
    from keras_ssl.finetune import countable_layers
    from keras_ssl.finetune._core import check_monitor

    try:
        encoder = pretraining.build_encoder(config.pretrain, None)
    except (ValueError, TypeError) as error:
        raise ConfigError(
            f"`pretrain.encoder` {config.pretrain.encoder!r} with `pretrain.encoder_args` "
            f"{config.pretrain.encoder_args} at `pretrain.image_size` "
            f"{config.pretrain.image_size}: {error}"
        ) from None
    layers = len(countable_layers(encoder))
    for key, recipe in _recipes(config):
        if isinstance(recipe.freeze_first, int) and recipe.freeze_first > layers:
            raise ConfigError(
                f"`{key}`: recipe {recipe.name!r} freezes the first {recipe.freeze_first} "
                f"layers but {config.pretrain.encoder} has {layers}; set freeze_first <= "
                f"{layers}, 0 (train all) or 'all' (linear probe)."
            )
        try:  # every single-label metric is logged from 4 classes on; rechecked on the data
            check_monitor(recipe, num_classes=4)
        except ValueError as error:
            raise ConfigError(f"`{key}`: {error}") from None
        if recipe.multi_label:
            raise ConfigError(
                f"`{key}`: recipe {recipe.name!r} is multi-label, but this experiment's data "
                "are class folders with one label per image; set multi_label: false."
            )


def _check_data_fits(config: ExperimentConfig, train_size: int, num_classes: int) -> None:
    """The checks that need the loaded data: batch size, monitored metric."""
    from keras_ssl.finetune._core import check_monitor

    if config.pretrain.batch_size > train_size:
        raise ConfigError(
            f"`pretrain.batch_size` {config.pretrain.batch_size} is larger than the "
            f"{train_size} training images; lower it or use more images (data.max_images)."
        )
    for key, recipe in _recipes(config):
        try:
            check_monitor(recipe, num_classes)
        except ValueError as error:
            raise ConfigError(f"`{key}`: {error}") from None


def run(
    config: ExperimentConfig,
    output,
    *,
    force: bool = False,
    stop_after: str | None = None,
    callbacks: Sequence = (),
    verbose: int | str | None = None,
    log: Callable[[str], None] = print,
    command: str | None = None,
) -> RunResult:
    """Runs (or resumes) the Umeå experiment of `config` in the folder `output`.

    Args:
        config: the experiment, e.g. `profile("cpu-small")`.
        output: the run folder. A folder holding the same config is resumed; one
            holding another config is refused (or, with `force`, emptied).
        force: delete a run of another config in `output` and start over.
        stop_after: stop after the stage of this name (see `plan`), e.g. "pretrain/random".
        callbacks: more Keras callbacks for pretraining.
        verbose: Keras verbosity; None: progress bars on a terminal, else one line
            per epoch.
        log: where stage banners go.
        command: the command line, recorded in `run_info.json`.

    Returns:
        A `RunResult`.

    Raises:
        ValueError: for a bad config, data source, weights file or output folder,
            before any training.
    """
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    folder = RunFolder(output)
    resumed = check(config, output, force, stop_after)
    for weights in config.pretrain.weights:
        if weights is not None:  # fetch / read the weights now rather than after hours
            pretraining.build_encoder(config.pretrain, weights)
    stages = plan(config)
    runner = _Runner(config, folder, stages, verbose, log, callbacks)
    runner.banner(stages[0], "loading the images")
    start = time.perf_counter()
    imageset = load_images(config.data.source, config.data.split, config.data.image_size)
    runner.prepare_data(imageset, resumed)
    # Only now, with every input checked, does anything get written.
    folder.claim(to_dict(config), force)
    folder.start_session(command, seed=config.seed, profile=config.profile)
    log(f"  {'resuming the' if resumed else 'new'} run in {folder.path}")
    runner.write_data(time.perf_counter() - start)
    for stage in stages:
        if stage.kind == "report":
            rows = runner.report()
            runner.ran.append(stage.name)
            return RunResult(folder.path, runner.ran, runner.skipped, rows)
        if stage.kind != "data":
            runner.run_stage(stage)
        if stage.name == stop_after:
            log(f"Stopped after {stage.name} (--stop-after); run the same command to go on.")
            return RunResult(folder.path, runner.ran, runner.skipped, [], stop_after)
    raise AssertionError("the plan ends with the report")


class _Runner:
    """The state of one run: the data, the loaded encoders, what ran and what was skipped."""

    def __init__(self, config, folder, stages, verbose, log, callbacks):
        self.config, self.folder, self.stages = config, folder, stages
        self.verbose, self.log, self.callbacks = verbose, log, callbacks
        self.ran, self.skipped = [], []
        self.encoders = {}

    def banner(self, stage: Stage, note: str = "") -> None:
        index = self.stages.index(stage) + 1
        self.log(f"== [{index}/{len(self.stages)}] {stage.name}: {note or stage.description}")

    def prepare_data(self, imageset, resumed: bool) -> None:
        """Splits (or reads the split of a resumed run), decodes, checks fractions; writes nothing."""
        from keras_ssl.data import label_fraction, load_split

        config, path = self.config, self.folder / SPLIT_FILE
        self.new_split = not (resumed and path.is_file())
        if self.new_split:
            self.split = experiment_split(imageset.labels, config.data, config.seed)
        else:
            self.split = load_split(path)
        train, test = imageset.subset(self.split["train"]), imageset.subset(self.split["test"])
        self.train = (train.numpy_images(), train.labels)
        self.test = (test.numpy_images(), test.labels)
        self.val = None
        if len(self.split["val"]):
            val = imageset.subset(self.split["val"])
            self.val = (val.numpy_images(), val.labels)
        self.class_names = imageset.class_names
        _check_data_fits(config, len(self.train[1]), imageset.num_classes)
        fine = config.finetune
        for fraction in sorted({*fine.fractions, *fine.baseline_fractions}):
            try:
                label_fraction(
                    self.train[1], fraction, seed=config.seed, class_names=self.class_names
                )
            except ValueError as error:
                raise ConfigError(
                    f"Label fraction {fraction:g} of the {len(self.train[1])} training images: {error}"
                ) from None
        self.facts = {
            "images": len(imageset),
            "train": len(self.split["train"]),
            "val": len(self.split["val"]),
            "test": len(self.split["test"]),
            "num_classes": imageset.num_classes,
            "image_shape": list(self.train[0].shape[1:]),
        }

    def write_data(self, seconds: float) -> None:
        """Writes `split.json` (for a new run) and the data facts of `run_info.json`."""
        from keras_ssl.data import save_split

        if self.new_split:
            meta = {"source": self.config.data.source, "seed": self.config.seed}
            meta["class_names"] = self.class_names
            atomic_write(
                self.folder / SPLIT_FILE,
                lambda temporary: save_split(temporary, self.split, **meta),
            )
            self.ran.append("data")
        else:
            self.skipped.append("data")
        self.folder.update_info(data=self.facts)
        self.folder.record_stage("data", seconds)
        facts = self.facts
        self.log(
            f"  {facts['train']} training, {facts['val']} validation and {facts['test']} held-out "
            f"test images of {facts['num_classes']} classes, {tuple(facts['image_shape'])}"
        )

    @property
    def selection_data(self):
        """What early stopping, best-weight restore and the LR schedule watch."""
        return self.test if self.config.selects_on_test else self.val

    def run_stage(self, stage: Stage) -> None:
        folder = self.folder / stage.name
        if stage.kind == "pretrain":
            done = (folder / pretraining.ENCODER_FILE).is_file()
        else:
            done = finetuning.stage_done(folder)
        if done:
            self.banner(stage, "finished earlier, skipped")
            self.skipped.append(stage.name)
            return
        self.banner(stage)
        start = time.perf_counter()
        getattr(self, f"_{stage.kind}")(stage, folder)
        seconds = time.perf_counter() - start
        self.folder.record_stage(stage.name, seconds)
        self.ran.append(stage.name)
        self.log(f"  {stage.name} done in {seconds:.1f} s")

    def _weights(self, variant: str):
        return next(w for w in self.config.pretrain.weights if variant_name(w) == variant)

    def _pretrain(self, stage: Stage, folder: Path) -> None:
        self.encoders[stage.variant] = pretraining.pretrain_encoder(
            self.train[0],
            self.config.pretrain,
            folder,
            weights=self._weights(stage.variant),
            seed=self.config.seed,
            verbose=self.verbose,
            callbacks=self.callbacks,
            log=self.log,
        )

    def _encoder(self, variant: str):
        if variant not in self.encoders:
            import keras

            path = self.folder / f"pretrain/{variant}/{pretraining.ENCODER_FILE}"
            self.encoders[variant] = keras.models.load_model(path)
        return self.encoders[variant]

    def _finetune(self, stage: Stage, folder: Path) -> None:
        train = finetuning.fraction_trainer(
            self._encoder(stage.variant),
            self.train,
            self.selection_data,
            len(self.class_names),
            stage.fraction,
            self.config.finetune.resolved_recipe(),
            self.config.seed,
            self.verbose,
        )
        self._finish(stage, folder, train, baseline=False)

    def _baseline(self, stage: Stage, folder: Path) -> None:
        import keras

        def build():
            keras.utils.set_random_seed(self.config.seed)
            return pretraining.build_encoder(self.config.pretrain, self._weights(stage.variant))

        train = finetuning.baseline_trainer(
            build,
            self.train,
            self.selection_data,
            len(self.class_names),
            stage.fraction,
            self.config.finetune.resolved_baseline_recipe(),
            self.config.seed,
            self.verbose,
        )
        self._finish(stage, folder, train, baseline=True)

    def _finish(self, stage: Stage, folder: Path, train, baseline: bool) -> None:
        facts = {
            "stage": stage.name,
            "variant": stage.variant,
            "fraction": stage.fraction,
            "baseline": baseline,
            "selected_on": self.config.finetune.select_on,
        }
        metrics = finetuning.run_stage(folder, train, self.test, self.class_names, facts)
        self.log(
            f"  held-out accuracy {100 * metrics['accuracy']:.2f}% "
            f"(paper: {paper.paper_accuracy(stage.fraction, baseline):.2f}%), "
            f"{metrics['labels_used']} labels, best epoch {metrics['best_epoch']}/{metrics['epochs_run']}"
        )

    def report(self) -> list[dict]:
        from keras_ssl import augment

        stage = self.stages[-1]
        self.banner(stage)
        start = time.perf_counter()
        metrics = [
            finetuning.read_metrics(self.folder / s.name)
            for s in self.stages
            if s.kind in ("finetune", "baseline")
        ]
        logs = {
            variant_name(w): self.folder / f"pretrain/{variant_name(w)}/{pretraining.LOG_FILE}"
            for w in self.config.pretrain.weights
        }
        pre = self.config.pretrain
        views = augment.get(
            pre.augment, image_size=pre.image_size, seed=self.config.seed, **pre.augment_args
        )
        report.write_figures(
            self.folder.path, self.config, metrics, logs, (self.train[0][:256], views)
        )
        self.folder.record_stage("report", time.perf_counter() - start)
        rows = report.write_tables(self.folder.path, self.config, metrics, self.folder.info())
        self.log((self.folder / "results.md").read_text())
        return rows
