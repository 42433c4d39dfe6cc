"""Experiment configs and runners for reproductions: the Umeå report (`umea`).

>>> from keras_ssl.experiments import apply_overrides, profile, umea
>>> print(umea.describe(profile("paper")))     # the plan and every hyperparameter
>>> config = apply_overrides(profile("smoke"), ["data.source=../shared/data/cifar10-train.zip"])
>>> umea.run(config, "runs/umea-smoke")        # or `keras-ssl reproduce umea`
"""

from keras_ssl.experiments import paper, umea
from keras_ssl.experiments.config import (
    ConfigError,
    DataSettings,
    ExperimentConfig,
    FinetuneSettings,
    PretrainSettings,
    apply_overrides,
    from_dict,
    load_config,
    to_json,
    to_yaml,
)
from keras_ssl.experiments.inputs import DataSourceError
from keras_ssl.experiments.profiles import available_profiles, profile
from keras_ssl.experiments.run_folder import RunFolder, RunFolderError

__all__ = [
    "ConfigError",
    "DataSettings",
    "DataSourceError",
    "ExperimentConfig",
    "FinetuneSettings",
    "PretrainSettings",
    "RunFolder",
    "RunFolderError",
    "apply_overrides",
    "available_profiles",
    "from_dict",
    "load_config",
    "paper",
    "profile",
    "to_json",
    "to_yaml",
    "umea",
]
