"""Experiment configs and runners for reproductions: the Umeå report (`umea`).

>>> from keras_ssl.experiments import apply_overrides, profile, umea
>>> print(umea.describe(profile("paper")))     # the plan and every hyperparameter
>>> config = apply_overrides(profile("smoke"), ["data.source=../shared/data/cifar10-train.zip"])
>>> umea.run(config, "runs/umea-smoke")        # or `keras-ssl reproduce umea`
"""

# Names load on first use (keras_ssl._lazy): the `keras-ssl` command reads `config` and
# `profiles` to set up its arguments, without importing Keras through `umea`.
from keras_ssl._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    submodules=["paper", "umea"],
    attributes={
        "config": [
            "ConfigError",
            "DataSettings",
            "ExperimentConfig",
            "FinetuneSettings",
            "PretrainSettings",
            "apply_overrides",
            "from_dict",
            "load_config",
            "to_json",
            "to_yaml",
        ],
        "inputs": ["DataSourceError"],
        "profiles": ["available_profiles", "profile"],
        "run_folder": ["RunFolder", "RunFolderError"],
    },
)
del attach
