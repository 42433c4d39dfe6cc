"""Experiment files: profiles as overrides, assignments, and errors that name the key."""

import numpy as np
import pytest
import yaml

from keras_ssl import experiments
from keras_ssl.config import differences, dump_yaml
from keras_ssl.experiments import ConfigError
from keras_ssl.experiments.schema import assign, deep_merge, resolve


def test_shipped_experiments_and_their_profiles():
    assert experiments.available() == [
        "dino-cifar10", "rotation-tiny-imagenet", "simclr-pets", "simsiam-ablation",
        "simsiam-celeba", "simsiam-stl10", "umea",
    ]  # fmt: skip
    assert experiments.profiles("umea") == ["paper", "cpu-small", "smoke"]
    assert experiments.load("umea").profile == "cpu-small"  # the file's default_profile


def test_umea_paper_profile_holds_the_reports_settings():
    umea = experiments.load("umea", profile="paper")
    assert [v.name for v in umea.variants] == ["imagenet", "random"]
    imagenet, random = umea.variants
    assert (imagenet.encoder.name, imagenet.encoder.weights, imagenet.encoder.image_size) == (
        "mobilenet_v2", "imagenet", 96,
    )  # fmt: skip
    assert random.encoder.weights is None and random.pretrain == imagenet.pretrain
    pre = imagenet.pretrain
    assert (pre.method, pre.epochs, pre.batch_size, pre.learning_rate) == ("simclr", 75, 128, 1e-3)
    assert pre.method_args == {"projection_dims": [256, 128], "temperature": 0.5}
    finetune, baseline = umea.evaluations
    recipe = finetune.resolved_recipe()
    assert (recipe.name, recipe.freeze_first, recipe.learning_rate, recipe.epochs) == (
        "umea",
        100,
        1e-4,
        50,
    )
    assert finetune.fractions == (0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
    assert finetune.reference[0.01] == 66.76 and baseline.reference == {1.0: 91.19}
    assert baseline.kind == "baseline" and baseline.resolved_recipe().reinitialize
    labels = np.repeat(np.arange(10), 5000)  # CIFAR-10's 50,000 training images
    split = umea.data.split_indices(labels, umea.seed)
    assert [len(split[k]) for k in ("train", "val", "test")] == [35_000, 5_000, 10_000]
    assert np.bincount(labels[split["test"]]).tolist() == [1000] * 10


def test_profiles_are_overrides_merged_mapping_by_mapping():
    small = experiments.load("umea", profile="cpu-small")
    assert [v.name for v in small.variants] == ["random"]  # `imagenet: null` removes it
    encoder = small.variants[0].encoder
    assert (encoder.name, encoder.args, encoder.image_size) == ("mobilenet_v2", {"alpha": 0.35}, 32)
    finetune, baseline = small.evaluations
    # Merged into the top level's evaluation: the fractions and references stay.
    assert finetune.resolved_recipe().freeze_first == "all" and finetune.reference[1.0] == 92.01
    assert baseline.fractions == finetune.fractions
    assert baseline.resolved_recipe().learning_rate == 3e-3
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": None}}) == {"a": {"b": 1, "c": None}}
    # A recipe's `augment: true` is a switch: turning it on adds no `augment_args`.
    recipe = deep_merge({"recipe_args": {"augment": False}}, {"recipe_args": {"augment": True}})
    assert recipe == {"recipe_args": {"augment": True}}
    preset = deep_merge({"augment": "simclr", "augment_args": {"x": 1}}, {"augment": "byol"})
    assert preset == {"augment": "byol", "augment_args": {}}


def test_assignments_parse_yaml_values_and_reach_any_key():
    umea = experiments.load(
        "umea", "smoke",
        ["pretrain.epochs=5", "evaluations.finetune.fractions=[1.0, 0.1]",
         "pretrain.method_args.temperature=0.2", "encoder.args.width=8", "data.max_images=null",
         "evaluations.baseline=null"],
    )  # fmt: skip
    variant = umea.variants[0]
    assert variant.pretrain.epochs == 5 and variant.pretrain.method_args["temperature"] == 0.2
    assert variant.encoder.args == {"width": 8, "depth": 2}
    assert umea.evaluations[0].fractions == (0.1, 1.0) and len(umea.evaluations) == 1
    assert umea.data.max_images is None
    assert assign({}, ["data.b.c=[1, 2]"]) == {"data": {"b": {"c": [1, 2]}}}
    rotation = experiments.load(
        "umea", "smoke", ["pretrain.method=rotation", "pretrain.method_args.mode=random"]
    )
    assert rotation.variants[0].pretrain.method_args == {"mode": "random"}
    with pytest.raises(ConfigError, match="Expected KEY=VALUE"):
        assign({}, ["pretrain.epochs"])


def test_resolved_document_round_trips_through_yaml():
    umea = experiments.load("umea", "cpu-small")
    again = experiments.Experiment.from_config(yaml.safe_load(dump_yaml(umea.get_config())))
    assert again == umea and again.profile == "cpu-small"
    changed = differences(umea.get_config(), experiments.load("umea", "smoke").get_config())
    assert "data.max_images: 10000 -> 500" in changed


def test_a_users_own_file_runs_like_a_shipped_one(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: mine\ndata: {source: cifar10, test: 0.2}\n"
        "encoder: {name: small_cnn, image_size: 32}\n"
        "pretrain: {method: rotation, epochs: 3, batch_size: 32}\n"
        "evaluations:\n  knn: {kind: knn, fractions: [0.1, 1.0], k: 5}\n"
    )
    mine = experiments.load(path)
    assert mine.profile == "custom" and [v.name for v in mine.variants] == ["main"]
    assert mine.variants[0].pretrain.method == "rotation" and mine.evaluations[0].k == 5
    assert [s.name for s in experiments.plan(mine)] == [
        "data", "pretrain/main", "knn/main/10pct", "knn/main/100pct", "report",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "assignment, message",
    [
        (
            "pretrain.method=jigsaw",
            r"Unknown method 'jigsaw' \(`pretrain.method`\); expected one of: byol, dino, moco, "
            r"rotation, simclr, simsiam",
        ),
        (
            "pretrain.method_args.temp=1",
            r"`pretrain.method_args` \['temp'\] are not arguments of 'simclr'; it takes: .*temperature",
        ),
        (
            "encoder.name=resnet9",
            r"Unknown name 'resnet9' \(`encoder.name`\); expected one of: efficientnet_b0, "
            r"mobilenet_v2, pit, pit_tiny, resnet18, resnet50, small_cnn, vgg16, vit, vit_small",
        ),
        (
            "variants.random.encoder.weights=imagenet",
            r"`variants.random.encoder.weights` 'imagenet': small_cnn can load None",
        ),
        ("encoder.args.alpha=1.0", r"`encoder.args` \['alpha'\] are not arguments of small_cnn"),
        ("pretrain.augment=strong", r"Unknown augment 'strong'"),
        ("pretrain.optimizer=adamx", r"Unknown optimizer 'adamx' \(`pretrain.optimizer`\)"),
        ("pretrain.epochs=0", r"`pretrain.epochs` must be an integer >= 1; got 0"),
        (
            "pretrain.epoch=5",
            r"Unknown key\(s\) 'epoch' in `pretrain`; known keys: method, method_args",
        ),
        ("pretrain.epochs=three", r"`pretrain.epochs` must be an integer >= 1; got 'three'"),
        (
            "evaluations.finetune.fractions=[0.1, 1.5]",
            r"every fraction must be a number in \(0, 1\]; got 1.5",
        ),
        ("evaluations.finetune.fractions=[10, 50]", r"got 10 \(percentages\? 10 % is 0.1\)"),
        (
            "evaluations.finetune.fractions=[0.1, 0.1]",
            r"`evaluations.finetune.fractions` has duplicate fractions: \[0.1\]",
        ),
        (
            "evaluations.finetune.kind=probe",
            r"Unknown kind 'probe' \(`evaluations.finetune.kind`\); expected one of: baseline, finetune, knn, linear_probe",
        ),
        (
            "evaluations.finetune.recipe=fancy",
            r"Unknown recipe 'fancy' \(`evaluations.finetune.recipe`\)",
        ),
        (
            "evaluations.finetune.recipe_args.lr=1",
            r"`evaluations.finetune.recipe_args` for recipe 'umea': Unknown recipe field\(s\) \['lr'\]",
        ),
        (
            "evaluations.finetune.recipe=linear_probe",
            r"`cache_features=True` needs `freeze_first='all'`.*got freeze_first=4",
        ),
        ("evaluations.finetune.recipe_args=null", None),
        (
            "evaluations.baseline.recipe=linear_probe",
            r"`evaluations.baseline.recipe_args`: the baseline trains every layer",
        ),
        (
            "evaluations.finetune.kind=linear_probe",
            r"`evaluations.finetune.recipe` 'umea' must freeze the whole encoder",
        ),
        (
            "evaluations.finetune.classes=[cat]",
            r"`evaluations.finetune.classes` must be a list of at least 2 or null; got \['cat'\]",
        ),
        ("evaluations.finetune.colour=red", r"Unknown key\(s\) 'colour' in `evaluations.finetune`"),
        ("variants.random=null", r"`variants` removes every variant"),
        ("data.test=0", r"`data.test` is 0"),
        ("data.test=1.5", r"`data.test` must be an integer >= 0 or a number in \[0, 1\); got 1.5"),
        ("data.val=0", r"`data.select_on` is 'val' but `data.val` is 0"),
        (
            "data.select_on=train",
            r"Unknown select_on 'train' \(`data.select_on`\); expected one of: val, test",
        ),
        ("seed=-1", r"`seed` must be an integer in \[0, 4294967296\)"),
        ("seed=99999999999", r"`seed` must be an integer in \[0, 4294967296\); got 99999999999"),
        ("name=../../escape", r"`name` must be a name of letters, digits.*got '../../escape'"),
        (
            "encoder.image_size=1000000000",
            r"`encoder.image_size` must be an integer in \[8, 4096\]",
        ),
        ("pretrain.learning_rate=.inf", r"`pretrain.learning_rate` must be a number > 0; got inf"),
        ("pretrain.learning_rate=1e-3", None),
        ("pretrain.learning_rate=3E-4", None),
        ("colour=red", r"Unknown key\(s\) 'colour' in `the experiment`; known keys: name, title"),
        (
            "figures.heatmap=h",
            r"Unknown key\(s\) 'heatmap' in `figures`; known keys: views, pretext_curves",
        ),
    ],
)
def test_bad_values_fail_naming_the_key_and_what_is_allowed(assignment, message):
    if message is None:  # a possible config: no error
        experiments.load("umea", "smoke", [assignment])
        return
    with pytest.raises(ConfigError, match=message):
        experiments.load("umea", "smoke", [assignment])


def test_unknown_experiment_profile_and_file():
    with pytest.raises(
        ConfigError,
        match=r"Unknown experiment 'umeaa'; expected one of: dino-cifar10, rotation-tiny-imagenet, "
        r"simclr-pets, simsiam-ablation, simsiam-celeba, simsiam-stl10, umea",
    ):
        experiments.load("umeaa")
    with pytest.raises(
        ConfigError,
        match=r"Unknown profile 'fast' \(`profile`\); expected one of: paper, cpu-small, smoke",
    ):
        experiments.load("umea", "fast")
    with pytest.raises(ConfigError, match=r"Experiment file 'nowhere/x.yaml' does not exist"):
        experiments.load("nowhere/x.yaml")
    with pytest.raises(ConfigError, match=r"Unknown key\(s\) 'stages' in `the experiment`"):
        resolve({"name": "x", "stages": []})


def test_the_docs_example_is_a_valid_experiment(tmp_path):
    """The complete example of the experiments guide loads, with every key."""
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "docs/guide/experiments.md").read_text()
    text = readme.split("A complete file (every key")[1].split("```yaml\n")[1].split("```")[0]
    document = yaml.safe_load(text)
    document["data"]["source"] = "cifar10"
    path = tmp_path / "example.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    example = experiments.load(path)
    assert [v.name for v in example.variants] == ["simclr", "rotation", "untrained"]
    assert [e.kind for e in example.evaluations] == ["linear_probe", "finetune", "baseline", "knn"]
    smoke = experiments.load(path, "smoke")
    assert [v.name for v in smoke.variants] == ["simclr", "untrained"]


def test_switching_method_is_one_word_and_null_augment_takes_the_methods_views():
    from keras_ssl import augment
    from keras_ssl.experiments import pretraining

    byol = experiments.load("umea", "smoke", ["pretrain.method=byol", "pretrain.augment=null"])
    variant = byol.variants[0]
    assert variant.pretrain.method_args == {} and variant.pretrain.augment is None
    model = pretraining.build_pretext_model(variant, seed=0)
    assert type(model).__name__ == "BYOL" and isinstance(model.augment, augment.MultiView)
