"""Multi-label experiments (SimSiam 004's Table 3): attributes as labels, random splits and
fractions, recipes that must match the labels, the macro / micro table beside the paper's."""

import json

import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds
from sklearn import metrics as sk_metrics

from keras_ssl import data, experiments
from keras_ssl.experiments import ConfigError
from keras_ssl.experiments.inputs import ExperimentData, attributes_from_classes
from keras_ssl.experiments.report import multilabel_table
from keras_ssl.experiments.schema import DataSpec, resolve
from keras_ssl.experiments.stages import plan

TABLE_3 = {  # 004, Table 3: validation macro Acc, AUC, micro Acc, AUC; then test
    "resnet18_none": (0.5377, 0.9339, 0.6522, 0.9552, 0.5311, 0.9301, 0.6403, 0.9517),
    "resnet18_celeba": (0.5449, 0.9340, 0.6549, 0.9608, 0.5405, 0.9310, 0.6448, 0.9592),
    "pit_none": (0.5301, 0.9297, 0.6412, 0.9504, 0.5289, 0.9265, 0.6374, 0.9494),
    "pit_celeba": (0.5413, 0.9311, 0.6579, 0.9591, 0.5389, 0.9303, 0.6416, 0.9578),
}


def test_paper_profile_holds_table_3_and_section_3():
    experiment = experiments.load("simsiam-celeba", profile="paper")
    assert [v.name for v in experiment.variants] == list(TABLE_3)
    assert (experiment.data.source, experiment.data.test_source) == ("celeb_a", "celeb_a")
    assert (experiment.data.split, experiment.data.test_split) == ("train", "test")
    encoders = {v.name: (v.encoder.name, v.pretrain is None) for v in experiment.variants}
    assert encoders["pit_celeba"] == ("pit_tiny", False) and encoders["resnet18_none"][1]
    spec = experiment.variants[1].pretrain
    assert (spec.method, spec.epochs, spec.batch_size, spec.gradient_accumulation_steps) == (
        "simsiam", 100, 64, 8,
    )  # fmt: skip
    assert (spec.learning_rate, spec.schedule, spec.weight_decay) == (0.002, "cosine", 1e-5)
    (finetune,) = experiment.evaluations
    recipe = finetune.resolved_recipe()
    assert recipe.multi_label and recipe.learning_rate == 1e-3 and recipe.batch_size == 64
    for variant, numbers in TABLE_3.items():
        ours = finetune.reference_metrics[variant]
        names = [f"{split}.{average}_{metric}" for split in ("validation", "test")
                 for average in ("macro", "micro") for metric in ("recall", "auc")]  # fmt: skip
        assert [ours[name] for name in names] == list(numbers), variant
    assert [s.name for s in plan(experiment) if s.kind == "evaluate"] == [
        f"finetune/{v}/100pct" for v in TABLE_3
    ]


def test_paper_profile_passes_the_dry_run(tmp_path, capsys):
    from keras_ssl import cli

    argv = ["reproduce", "simsiam-celeba", "--profile", "paper", "--dry-run",
            "--output", str(tmp_path / "run")]  # fmt: skip
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "profile 'paper': 8 stages" in out
    assert "pretrain/pit_celeba: simsiam pretraining of pit_tiny (weights=None) at 96x96" in out


def test_attributes_from_classes_against_a_direct_computation():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 50)
    imageset = data.ImageSet(
        images=np.zeros((50, 4, 4, 3), "uint8"), labels=labels, class_names=list("abcd")
    )
    result = attributes_from_classes(imageset, {"first_two": ["a", "b"], "d": ["d"]})
    expected = np.stack([(labels == 0) | (labels == 1), labels == 3], axis=1).astype(int)
    np.testing.assert_array_equal(result.labels, expected)
    assert result.class_names == ["first_two", "d"] and result.is_multi_label
    with pytest.raises(
        ConfigError,
        match=r"`data.attributes.x` names \['z'\], which the data lack; its classes are: a, b, c, d",
    ):
        attributes_from_classes(imageset, {"x": ["a", "z"]})


def test_multi_hot_labels_split_at_random_and_fractions_are_random_draws():
    labels = np.random.default_rng(1).integers(0, 2, (300, 5))
    split = DataSpec(test=60, val=40).split_indices(labels, seed=3)
    assert [len(split[k]) for k in ("train", "val", "test")] == [200, 40, 60]
    assert len(np.unique(np.concatenate(list(split.values())))) == 300
    again = DataSpec(test=60, val=40).split_indices(labels, seed=4)
    assert not np.array_equal(split["test"], again["test"])  # seeded, not the first rows


def _experiment(attributes=None, **evaluation):
    """An experiment file's view of the data: multi-label where it names `attributes`."""
    return resolve(
        {
            "name": "x",
            "data": {"source": "cifar10", "test": 20, "val": 20, "attributes": attributes},
            "encoder": {"name": "small_cnn", "image_size": 8, "args": {"width": 4, "depth": 1}},
            "pretrain": None,
            "evaluations": {"e": {"fractions": [0.5], **evaluation}},
        }
    )


def _multi_hot_data(experiment):
    labels = np.random.default_rng(0).integers(0, 2, (100, 3))
    imageset = data.ImageSet(
        images=np.zeros((100, 8, 8, 3), "uint8"), labels=labels, class_names=["x", "y", "z"]
    )
    split = experiment.data.split_indices(labels, seed=0)
    return ExperimentData(imageset, split, experiment)


def test_a_label_fraction_of_multi_hot_labels_keeps_every_attribute_column():
    experiment = _experiment({"a": ["cat"]}, kind="finetune", recipe_args={"multi_label": True})
    prepared = _multi_hot_data(experiment)
    prepared.check()
    selected = prepared.for_evaluation(experiment.evaluations[0], 0.5, seed=0)
    assert selected.train[1].shape == (30, 3) and selected.test[1].shape == (20, 3)
    assert "3 attributes" in prepared.summary()


@pytest.mark.parametrize(
    "evaluation, message",
    [
        ({"kind": "finetune"}, r"`evaluations.e.recipe_args`: the data have several attributes per image; set multi_label: true"),
        ({"kind": "knn"}, r"`evaluations.e` \(kind 'knn'\) needs one class per image"),
    ],
)  # fmt: skip
def test_recipes_must_match_multi_hot_labels_before_training(evaluation, message):
    """Checked again on the loaded labels (a source the file cannot tell is multi-label)."""
    prepared = _multi_hot_data(_experiment(**evaluation))
    with pytest.raises(ConfigError, match=message):
        prepared.check()


def test_a_multi_label_recipe_on_class_labels_fails_naming_the_fix():
    experiment = _experiment({"a": ["cat"]}, kind="finetune", recipe_args={"multi_label": True})
    labels = np.arange(100) % 4
    imageset = data.ImageSet(images=np.zeros((100, 8, 8, 3), "uint8"), labels=labels,
                             class_names=list("abcd"))  # fmt: skip
    prepared = ExperimentData(imageset, experiment.data.split_indices(labels, 0), experiment)
    with pytest.raises(
        ConfigError, match=r"the data have one class per image; set multi_label: false"
    ):
        prepared.check()


@pytest.mark.parametrize(
    "reference, message",
    [
        ({"a": {"test.macro_acc": 0.5}}, r"Unknown key 'test.macro_acc' in `evaluations.e.reference_metrics.a`; expected one of: validation.macro_accuracy"),
        ({"a": {"test.macro_auc": "high"}}, r"`evaluations.e.reference_metrics.a.test.macro_auc` must be a number"),
        ({"zz": {"test.macro_auc": 0.9}}, r"`evaluations.e.reference_metrics` names variants \['zz'\]"),
    ],
)  # fmt: skip
def test_bad_reference_metrics_fail_naming_the_key(reference, message):
    with pytest.raises(ConfigError, match=message):
        resolve(
            {
                "name": "x",
                "encoder": {"name": "small_cnn", "image_size": 32},
                "variants": {"a": {}},
                "evaluations": {"e": {"kind": "finetune", "reference_metrics": reference}},
            }
        )


def test_the_multilabel_table_puts_the_papers_figures_beside_the_compared_metric():
    experiment = experiments.load("simsiam-celeba", profile="paper")
    figures = {"macro_accuracy": 0.9, "micro_accuracy": 0.9, "macro_recall": 0.5,
               "micro_recall": 0.6, "macro_auc": 0.93, "micro_auc": None}  # fmt: skip
    metrics = [
        {"evaluation": "finetune", "variant": "pit_none", "validation": figures,
         "test": {**figures, "multilabel": True}},
        {"evaluation": "finetune", "variant": "cnn", "test": {"accuracy": 0.5}},  # not multi-label
    ]  # fmt: skip
    lines = multilabel_table(experiment, metrics).splitlines()
    assert lines[0].startswith("| Variant | Evaluation | Images | macro accuracy |")
    assert len(lines) == 4  # header, alignment, validation and test of the one multi-label stage
    assert lines[2] == (
        "| pit_none | finetune | validation | 0.9000 | 0.9000 | 0.5000 (paper 0.5301) | "
        "0.6000 (paper 0.6412) | 0.9300 (paper 0.9297) | – (paper 0.9504) |"
    )


@pytest.mark.slow
def test_smoke_runs_on_tfds_mock_celeb_a_and_scores_like_scikit_learn(tmp_path, monkeypatch):
    """The paper's data source through TFDS (mocked): splits, BCE fine-tuning, the table."""
    from keras_ssl.data import catalog

    # The mock serves any split; the offline check would refuse before asking TFDS.
    monkeypatch.setattr(catalog, "_internet_reachable", lambda timeout=3.0: True)
    experiment = experiments.load("simsiam-celeba", "smoke")
    with tfds.testing.mock_data(num_examples=240):
        result = experiments.run(experiment, tmp_path / "run", verbose=0, log=lambda line: None)
        test = data.load_dataset("celeb_a", split="test", image_size=(32, 32))
    folder = result.folder
    metrics = json.loads((folder / "finetune/cnn_simsiam/100pct/metrics.json").read_text())
    assert metrics["labels_used"] == 200 - 40 and metrics["test"]["num_labels"] == 40
    model = keras.models.load_model(folder / "finetune/cnn_simsiam/100pct/model.keras")
    scores = model.predict(test.images, verbose=0)
    defined = [j for j in range(40) if 0 < test.labels[:, j].sum() < len(test.labels)]
    expected_auc = sk_metrics.roc_auc_score(test.labels[:, defined], scores[:, defined])
    assert metrics["test"]["macro_auc"] == pytest.approx(expected_auc, abs=1e-6)
    expected_recall = sk_metrics.recall_score(test.labels, scores > 0.5, average="micro")
    assert metrics["test"]["micro_recall"] == pytest.approx(expected_recall, abs=1e-6)
    assert metrics["accuracy"] == pytest.approx(np.mean((scores > 0.5) == test.labels), abs=1e-6)
    assert set(metrics["validation"]) >= {"macro_auc", "micro_recall"}
    markdown = (folder / "results.md").read_text()
    assert "## Multi-label metrics" in markdown and "| cnn_none | finetune | test |" in markdown
    assert "40 attributes, multi-label" in markdown


def test_a_multi_label_catalogue_source_is_checked_against_the_recipe_when_loading_the_file():
    """CelebA's labels are multi-hot: a single-label recipe fails before any data is read."""
    with pytest.raises(ConfigError, match=r"several attributes per image; set multi_label: true"):
        experiments.load(
            "simsiam-celeba", "paper", ["evaluations.finetune.recipe_args.multi_label=false"]
        )
    attributes = '{"animal": ["cat", "dog"]}'
    with pytest.raises(
        ConfigError, match=r"`evaluations.finetune.recipe_args`: the data have several"
    ):
        experiments.load("umea", "smoke", [f"data.attributes={attributes}"])
