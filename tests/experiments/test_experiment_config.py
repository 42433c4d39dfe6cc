"""Experiment configs: the paper profile against the report, files, overrides and bad values."""

import json

import numpy as np
import pytest
import yaml

from keras_ssl import augment
from keras_ssl.experiments import (
    ConfigError,
    ExperimentConfig,
    apply_overrides,
    available_profiles,
    from_dict,
    load_config,
    profile,
    to_json,
    to_yaml,
    umea,
)
from keras_ssl.experiments.config import check_fractions, differences
from keras_ssl.experiments.inputs import experiment_split

# The Umeå report (../shared/papers/000_87c06e43790a93f7.txt), read off its text.
REPORT = {
    "train_images": 40_000,  # §2.1
    "test_images": 10_000,
    "image_size": 96,  # §2.2.1
    "projection": (256, 128),  # §2.3
    "pretrain_epochs": 75,  # §2.4.1
    "pretrain_batch": 128,
    "pretrain_lr": 1e-3,
    "fractions": (0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0),  # §2.1
    "frozen_layers": 100,  # §2.4.2
    "dropout": 0.5,
    "finetune_lr": 1e-4,
    "finetune_epochs": 50,
    "patience": 4,
}


def test_paper_profile_resolves_to_the_reports_settings():
    config = profile("paper")
    pre, fine = config.pretrain, config.finetune
    assert (pre.method, pre.encoder, pre.encoder_args) == (
        "simclr",
        "mobilenet_v2",
        {"alpha": 1.0, "cifar_stem": False},
    )
    assert pre.weights == ("imagenet", None)  # the report's init, plus weights=None
    assert pre.image_size == REPORT["image_size"] and pre.augment == "umea"
    assert pre.projection_dims == REPORT["projection"]
    assert (pre.epochs, pre.batch_size) == (REPORT["pretrain_epochs"], REPORT["pretrain_batch"])
    assert (pre.optimizer, pre.learning_rate) == ("adam", REPORT["pretrain_lr"])
    assert pre.temperature == 0.5
    assert fine.fractions == REPORT["fractions"] and fine.baseline_fractions == (1.0,)
    assert fine.select_on == "val" and config.data.val == 5_000
    recipe = fine.resolved_recipe()
    assert recipe.freeze_first == REPORT["frozen_layers"]
    assert recipe.dropout == REPORT["dropout"]
    assert (recipe.optimizer, recipe.learning_rate) == ("adam", REPORT["finetune_lr"])
    assert recipe.epochs == REPORT["finetune_epochs"]
    assert (recipe.monitor, recipe.patience, recipe.restore_best_weights) == (
        "val_accuracy",
        REPORT["patience"],
        True,
    )
    assert recipe.reduce_lr_factor is not None  # "a reduced learning rate ... plateaued"
    # §2.5: the baseline is trained "similarly": the same recipe, every layer trainable.
    baseline = fine.resolved_baseline_recipe()
    assert baseline.freeze_first == 0 and baseline.reinitialize
    same = {k: v for k, v in recipe.get_config().items() if k not in ("name", "freeze_first")}
    same.pop("reinitialize")
    assert same == {k: baseline.get_config()[k] for k in same}
    # The views are umea_augment(96) crops of the 32x32 images: upsampled on the device.
    views = augment.get(pre.augment, image_size=pre.image_size, seed=0)
    batch = np.zeros((2, 32, 32, 3), "uint8")
    assert tuple(views(batch, training=True).shape) == (2, 96, 96, 3)


def test_paper_split_is_40000_10000_class_balanced_and_seeded():
    config = profile("paper")
    labels = np.repeat(np.arange(10), 5000)  # CIFAR-10's 50,000 training images
    split = experiment_split(labels, config.data, config.seed)
    # The report's 40,000 training images, 5,000 of them kept for model selection.
    assert len(split["train"]) + len(split["val"]) == REPORT["train_images"]
    assert len(split["test"]) == REPORT["test_images"] and len(split["val"]) == 5_000
    assert np.bincount(labels[split["val"]]).tolist() == [500] * 10
    assert not np.intersect1d(split["val"], split["test"]).size
    assert np.bincount(labels[split["test"]]).tolist() == [1000] * 10
    assert not np.intersect1d(split["train"], split["test"]).size
    again = experiment_split(labels, config.data, config.seed)
    other = experiment_split(labels, config.data, config.seed + 1)
    assert np.array_equal(again["test"], split["test"])
    assert not np.array_equal(other["test"], split["test"])


def test_max_images_takes_a_class_balanced_subset_before_splitting():
    labels = np.repeat(np.arange(10), 5000)
    split = experiment_split(labels, profile("cpu-small").data, seed=0)
    assert (len(split["train"]), len(split["val"]), len(split["test"])) == (7000, 1000, 2000)
    assert np.bincount(labels[split["train"]]).tolist() == [700] * 10


def test_dry_run_prints_the_plan_and_every_hyperparameter():
    text = umea.describe(profile("paper"))
    names = [stage.name for stage in umea.plan(profile("paper"))]
    assert names[:3] == ["data", "pretrain/imagenet", "finetune/imagenet/1pct"]
    assert names[9:12] == [
        "finetune/imagenet/baseline-100pct",
        "pretrain/random",
        "finetune/random/1pct",
    ]
    assert names[-1] == "report" and len(names) == 20
    positions = [text.index(f"{i:>3}. {name}:") for i, name in enumerate(names, start=1)]
    assert positions == sorted(positions)
    for line in (
        "epochs: 75",
        "batch_size: 128",
        "learning_rate: 0.001",
        "image_size: 96",
        "weights: [imagenet, null]",
        "projection_dims: [256, 128]",
        "temperature: 0.5",
        "test: 10000",
        "fractions: [0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0]",
        "freeze_first: 100",
        "dropout: 0.5",
        "learning_rate: 0.0001",
        "epochs: 50",
        "patience: 4",
        "monitor: 'val_accuracy'",
        "finetune/imagenet/5pct/metrics.json",
        "figures/fig5_label_efficiency.png",
    ):
        assert line in text, line


@pytest.mark.parametrize("name", available_profiles())
def test_profiles_round_trip_through_yaml_and_json(name, tmp_path):
    config = profile(name)
    assert from_dict(yaml.safe_load(to_yaml(config))) == config
    assert from_dict(json.loads(to_json(config))) == config
    (tmp_path / "c.json").write_text(to_json(config))
    assert load_config(tmp_path / "c.json") == config


def test_smaller_profiles_keep_the_pipeline_and_shrink_the_work():
    paper, small, smoke = profile("paper"), profile("cpu-small"), profile("smoke")
    assert small.pretrain.encoder == "mobilenet_v2" and small.pretrain.weights == (None,)
    assert small.pretrain.image_size == 32 and small.data.max_images == 10_000
    assert small.finetune.fractions == paper.finetune.fractions
    assert smoke.pretrain.encoder == "small_cnn" and smoke.data.max_images == 500
    assert smoke.pretrain.epochs < small.pretrain.epochs < paper.pretrain.epochs


def test_config_file_is_applied_on_top_of_a_base(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("seed: 3\npretrain:\n  epochs: 4\n")
    config = load_config(path, base=profile("cpu-small"))
    assert (config.seed, config.pretrain.epochs) == (3, 4)
    assert config.pretrain.image_size == 32  # the rest stays the base's


def test_overrides_parse_yaml_values_and_reject_unknown_keys():
    config = apply_overrides(
        profile("smoke"),
        [
            "pretrain.epochs=5",
            "finetune.fractions=[1.0, 0.1]",
            "finetune.recipe_overrides.patience=2",
            "pretrain.encoder_args.width=8",
            "data.max_images=null",
        ],
    )
    assert config.pretrain.epochs == 5 and config.finetune.fractions == (0.1, 1.0)
    assert config.finetune.resolved_recipe().patience == 2
    assert config.pretrain.encoder_args == {"width": 8, "depth": 2}
    assert config.data.max_images is None
    with pytest.raises(
        ConfigError, match=r"Unknown key 'pretrain.epoch'; known keys in pretrain: .*epochs"
    ):
        apply_overrides(profile("smoke"), ["pretrain.epoch=5"])
    with pytest.raises(ConfigError, match="Expected KEY=VALUE"):
        apply_overrides(profile("smoke"), ["pretrain.epochs"])
    with pytest.raises(ConfigError, match=r"Unknown key\(s\) 'lr' in `pretrain`"):
        from_dict({"pretrain": {"lr": 1}})


@pytest.mark.parametrize(
    "assignment, message",
    [
        (
            "pretrain.method=byol",
            r"Unknown method 'byol' \(`pretrain.method`\); expected one of: simclr, rotation",
        ),
        ("pretrain.encoder=resnet9", r"Unknown encoder 'resnet9' \(`pretrain.encoder`\)"),
        ("pretrain.augment=strong", r"Unknown augment 'strong'"),
        ("pretrain.optimizer=adamx", r"Unknown optimizer 'adamx'"),
        ("pretrain.weights=[imagenet]", r"Encoder 'small_cnn' has no pretrained weights"),
        ("pretrain.encoder_args.alpha=1.0", r"\['alpha'\] are not arguments of small_cnn"),
        (
            "pretrain.augment_args.crop=0.2",
            r"`pretrain.augment_args` for 'umea': Unknown argument\(s\) \['crop'\] for the "
            r"'umea' augmentation; umea_augment takes",
        ),
        (
            "pretrain.augment_args.crop_scale=[0.5, 2.0]",
            r"`pretrain.augment_args` for 'umea': .*crop_scale",
        ),
        ("pretrain.epochs=0", r"`pretrain.epochs` must be an integer >= 1; got 0"),
        ("pretrain.temperature=-1", r"`pretrain.temperature` must be a number > 0; got -1"),
        ("finetune.fractions=[0.1, 1.5]", r"every fraction must lie in \(0, 1\]; got 1.5"),
        ("finetune.fractions=[10, 50]", r"got 10 \(percentages\? 10 % is 0.1\)"),
        ("finetune.fractions=[0.1, 0.1]", r"duplicates: \[0.1\]"),
        ("finetune.fractions=[]", r"`finetune.fractions` is empty"),
        ("finetune.recipe=fancy", r"Unknown recipe 'fancy'"),
        (
            "finetune.recipe_overrides.min_steps_per_epoch=0",
            r"`min_steps_per_epoch` must be an integer >= 1; got 0",
        ),
        ("finetune.recipe_overrides.lr=1", r"Unknown recipe field\(s\) \['lr'\]"),
        ("data.test=0", r"`data.test` is 0"),
        ("data.test=1.5", r"`data.test` as a fraction must lie in \[0, 1\); got 1.5"),
        ("seed=-1", r"`seed` must be an integer >= 0"),
    ],
)
def test_bad_values_fail_with_the_key_and_the_expected_form(assignment, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(profile("smoke"), [assignment])


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(
        ConfigError, match=r"Unknown profile 'fast'; expected one of: paper, cpu-small, smoke"
    ):
        profile("fast")


def test_check_fractions_sorts_and_differences_name_dotted_keys():
    assert check_fractions([1.0, 0.01]) == (0.01, 1.0)
    old, new = ExperimentConfig().get_config(), profile("cpu-small").get_config()
    changed = differences(old, new)
    assert "pretrain.epochs: 75 -> 20" in changed
    assert "data.max_images: None -> 10000" in changed
    assert not differences(old, old)
