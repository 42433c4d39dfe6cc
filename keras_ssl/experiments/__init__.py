"""Experiments as YAML files, run by one runner: the shipped reproductions and your own.

>>> experiment = experiments.load("umea", "smoke", ["data.source=cifar10-train.zip"])
>>> print(experiments.describe(experiment))       # the plan and every setting
>>> experiments.run(experiment, "runs/umea-smoke")  # or `keras-ssl reproduce umea`
"""

# Names load on first use (keras_ssl._lazy): the `keras-ssl` command starts without Keras.
from keras_ssl._lazy import attach
from keras_ssl.config import ConfigError, DataSourceError
from keras_ssl.run_folder import RunFolder, RunFolderError

__getattr__, __dir__, __all__ = attach(
    __name__,
    submodules=["schema"],
    attributes={
        "catalog": ["available", "load", "profiles", "read"],
        "pretraining": ["export_encoder"],
        "stages": ["Stage", "describe", "plan"],
        "runner": ["RunResult", "check", "run"],
        "schema": ["Experiment", "resolve"],
    },
)
__all__ += ["ConfigError", "DataSourceError", "RunFolder", "RunFolderError"]
del attach
