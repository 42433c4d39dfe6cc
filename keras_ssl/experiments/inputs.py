"""The experiment's images: the split, the subsets each stage sees, and their checks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from keras_ssl.config import ConfigError
from keras_ssl.data.sources import (
    attributes_from_classes,
    class_indices,
    load_images,
    strata,
    subsample,
)
from keras_ssl.experiments.schema import Experiment, check_label_kind


@dataclasses.dataclass
class EvaluationData:
    """The images one evaluation stage sees: its classes, its label fraction."""

    train: tuple
    selection: tuple | None
    test: tuple
    class_names: list


class ExperimentData:
    """The split images of a run, decoded once, and the subsets each stage sees.

    Args:
        imageset: the loaded images.
        split: `{"train", "val", "test"}` indices into `imageset`.
        experiment: the experiment (its seed, selection protocol, evaluations).
        test_set: held-out images from `data.test_source`, instead of `split["test"]`.
    """

    def __init__(self, imageset, split: dict, experiment: Experiment, test_set=None):
        self.split, self.experiment = split, experiment
        self.class_names = list(imageset.class_names or [])
        subsets = {
            name: imageset.subset(indices) for name, indices in split.items() if len(indices)
        }
        if test_set is not None:
            subsets["test"] = test_set
        arrays = {name: (s.numpy_images(), s.labels) for name, s in subsets.items()}
        self.train, self.val, self.test = (arrays.get(name) for name in ("train", "val", "test"))
        self.multi_label = imageset.is_multi_label
        self.facts = {
            "images": len(imageset),
            **{name: len(subsets[name]) if name in subsets else 0 for name in split},
            "num_classes": len(self.class_names),
            "multi_label": self.multi_label,
            "image_shape": list(self.train[0].shape[1:]),
        }
        self._pretraining_sets = {}

    def pretraining_images(self, variant) -> np.ndarray:
        """The images `variant` pretrains on: its `pretrain.source` (loaded once, at the
        training images' size), or the training images."""
        spec = variant.pretrain
        if spec.source is None:
            return self.train[0]
        key = (spec.source, spec.split, spec.max_images)
        if key not in self._pretraining_sets:
            size = tuple(self.train[0].shape[1:3])
            imageset = load_images(
                spec.source, spec.split, size, labeled=False, key="pretrain.source"
            )
            imageset = subsample(imageset, spec.max_images, self.experiment.seed)
            self._pretraining_sets[key] = imageset.numpy_images()
            name = spec.source + (f":{spec.split}" if spec.split else "")
            self.facts.setdefault("pretraining_images", {})[name] = len(imageset)
        return self._pretraining_sets[key]

    def summary(self) -> str:
        facts = self.facts
        return (
            f"{facts['train']} training, {facts['val']} validation and {facts['test']} held-out "
            f"test images of {facts['num_classes']} "
            f"{'attributes' if self.multi_label else 'classes'}, {tuple(facts['image_shape'])}"
        )

    def write(self, path: Path) -> bool:
        """Writes `split.json` unless it exists; True if it was written."""
        from keras_ssl._files import atomic_write
        from keras_ssl.data import save_split

        if Path(path).is_file():
            return False
        meta = {"source": self.experiment.data.source, "seed": self.experiment.seed}
        atomic_write(path, lambda temporary: save_split(temporary, self.split, **meta,
                                                         class_names=self.class_names))  # fmt: skip
        return True

    def _classes(self, evaluation) -> list[int]:
        if evaluation.classes is None:
            return list(range(len(self.class_names)))
        key = f"evaluations.{evaluation.name}.classes"
        return class_indices(evaluation.classes, self.class_names, key)

    def _restrict(self, data, classes: list[int]):
        if data is None or len(classes) == len(self.class_names):
            return data
        images, labels = data
        if labels.ndim == 2:  # multi-hot: every image, the chosen attributes' columns
            return images, labels[:, classes]
        keep = np.isin(labels, classes)
        relabel = np.full(len(self.class_names), -1, dtype=np.int64)
        relabel[classes] = np.arange(len(classes))
        return images[keep], relabel[labels[keep]]

    def for_evaluation(self, evaluation, fraction: float, seed: int) -> EvaluationData:
        """The evaluation's classes (relabelled 0..k-1) and its fraction of the training labels.

        Raises:
            ConfigError: for a class the data lack, or a fraction too small to hold
                an image of every class.
        """
        from keras_ssl.data import label_fraction

        classes = self._classes(evaluation)
        names = [self.class_names[c] for c in classes]
        train = self._restrict(self.train, classes)
        try:
            indices = label_fraction(strata(train[1]), fraction, seed=seed,
                                     class_names=None if self.multi_label else names)  # fmt: skip
        except ValueError as error:
            raise ConfigError(
                f"`evaluations.{evaluation.name}.fractions` {fraction:g} of the "
                f"{len(train[1])} training images: {error}"
            ) from None
        selection = self.test if self.experiment.selects_on_test else self.val
        return EvaluationData(
            (train[0][indices], train[1][indices]),
            self._restrict(selection, classes),
            self._restrict(self.test, classes),
            names,
        )

    def check(self) -> None:
        """Everything the loaded data decide: class subsets, fractions, batch sizes."""
        for variant in self.experiment.variants:
            pretrain = variant.pretrain
            if pretrain is None:
                continue
            count = len(self.pretraining_images(variant))
            if pretrain.batch_size > count:
                more = "pretrain.max_images" if pretrain.source else "data.max_images"
                raise ConfigError(
                    f"`pretrain.batch_size` {pretrain.batch_size} (variant {variant.name!r}) is "
                    f"larger than the {count} pretraining images; lower it or use more "
                    f"images ({more})."
                )
        for evaluation in self.experiment.evaluations:
            check_label_kind(evaluation, self.multi_label)
            for fraction in evaluation.fractions:
                data = self.for_evaluation(evaluation, fraction, self.experiment.seed)
                check_monitor(evaluation, len(data.class_names))


def prepare(experiment: Experiment, split_file: Path | None = None) -> ExperimentData:
    """Loads and splits the experiment's images (or reads a resumed run's split); checks them.

    Without evaluations (pretraining only) the images need no labels, and every one
    is a training image.

    Args:
        experiment: the experiment.
        split_file: the `split.json` of a resumed run, or None for a new split.

    Returns:
        The `ExperimentData`; nothing is written.
    """
    from keras_ssl.data import load_split

    data, labeled = experiment.data, bool(experiment.evaluations)
    imageset = load_images(data.source, data.split, data.image_size, labeled=labeled)
    test_set = None
    if data.test_source is not None:
        test_set = load_images(data.test_source, data.test_split, data.image_size,
                               key="data.test_source")  # fmt: skip
        if test_set.class_names != imageset.class_names:
            raise ConfigError(
                f"`data.test_source` has classes {test_set.class_names}, `data.source` has "
                f"{imageset.class_names}: they must be the same class folders."
            )
    if split_file is not None and Path(split_file).is_file():
        split = load_split(split_file)
    elif not labeled:
        imageset = subsample(imageset, data.max_images, experiment.seed)
        empty = np.zeros(0, dtype=np.int64)
        split = {"train": np.arange(len(imageset)), "val": empty, "test": empty}
    else:  # class-balanced over the class folders, also when they become attributes
        split = data.split_indices(imageset.labels, experiment.seed)
    if labeled and data.attributes is not None:
        imageset = attributes_from_classes(imageset, data.attributes)
        if test_set is not None:
            test_set = attributes_from_classes(test_set, data.attributes)
    prepared = ExperimentData(imageset, split, experiment, test_set)
    prepared.check()  # loads every `pretrain.source` too
    return prepared


def check_monitor(evaluation, num_classes: int) -> None:
    """The metric the evaluation's recipe watches must be one that training logs."""
    from keras_ssl.finetune._core import check_monitor as check_logged

    recipe = evaluation.resolved_recipe()
    if recipe is None:
        return
    try:
        check_logged(recipe, num_classes)
    except ValueError as error:
        raise ConfigError(f"`evaluations.{evaluation.name}.recipe_args`: {error}") from None
