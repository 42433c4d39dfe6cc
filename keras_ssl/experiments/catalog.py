"""Shipped experiments (`configs/*.yaml`, package data) and loading any experiment file:
`load("umea", profile="smoke")`, or `load("my-experiment.yaml")`, which runs the same way."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from keras_ssl.config import ConfigError, load_yaml
from keras_ssl.experiments.schema import Experiment, resolve

_CONFIGS = resources.files("keras_ssl.experiments") / "configs"


def available() -> list[str]:
    """Names of the shipped experiments, sorted."""
    names = [path.name for path in _CONFIGS.iterdir()]
    return sorted(name.removesuffix(".yaml") for name in names if name.endswith(".yaml"))


def read(name_or_path: str | os.PathLike) -> dict:
    """The mapping in a shipped experiment (by name) or an experiment file (by path).

    Raises:
        ConfigError: for an unknown name, a missing file, or one not holding a YAML mapping.
    """
    name = str(name_or_path)
    if name in available():
        text = (_CONFIGS / f"{name}.yaml").read_text()
    elif name.endswith((".yaml", ".yml")) or os.sep in name:
        if not Path(name).is_file():
            raise ConfigError(f"Experiment file {name!r} does not exist.")
        text = Path(name).read_text()
    else:
        raise ConfigError(
            f"Unknown experiment {name!r}; expected one of: {', '.join(available())}, or the "
            "path of an experiment .yaml file."
        )
    content = load_yaml(text, f"experiment {name!r}")
    if not isinstance(content, dict):
        raise ConfigError(f"Experiment {name!r} must hold a mapping of keys (name, data, ...).")
    return content


def profiles(name_or_path: str | os.PathLike) -> list[str]:
    """The profiles an experiment defines."""
    return list(read(name_or_path).get("profiles") or {})


def load(
    name_or_path: str | os.PathLike, profile: str | None = None, assignments=(), values=None
) -> Experiment:
    """The validated experiment: the file, one of its profiles (None: its `default_profile`),
    then `assignments` (`["pretrain.epochs=3"]`), then `values` (`{dotted key: value}`).

    Raises:
        ConfigError: naming the bad key and what is allowed.
    """
    return resolve(read(name_or_path), profile, assignments, values)
