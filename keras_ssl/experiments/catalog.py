"""Shipped experiments (`configs/*.yaml`, package data) and loading any experiment file.

Example:

>>> available()
['dino-cifar10', 'rotation-tiny-imagenet', 'simclr-pets', 'simsiam-ablation', 'simsiam-stl10', 'umea']
>>> experiment = load("umea", profile="smoke", assignments=["seed=1"])
>>> experiment = load("my-experiment.yaml")      # a user's file runs the same way
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import yaml

from keras_ssl.config import ConfigError
from keras_ssl.experiments.schema import Experiment, resolve


def _configs():
    return resources.files("keras_ssl.experiments") / "configs"


def available() -> list[str]:
    """Names of the shipped experiments, sorted."""
    return sorted(p.name[: -len(".yaml")] for p in _configs().iterdir() if p.name.endswith(".yaml"))


def read(name_or_path: str | os.PathLike) -> dict:
    """The content of a shipped experiment (by name) or of an experiment file (by path).

    Raises:
        ConfigError: for an unknown name, a missing file, or one that is not YAML
            holding a mapping.
    """
    text_path = str(name_or_path)
    if text_path in available():
        text = (_configs() / f"{text_path}.yaml").read_text()
    elif text_path.endswith((".yaml", ".yml")) or os.sep in text_path:
        path = Path(text_path)
        if not path.is_file():
            raise ConfigError(f"Experiment file {text_path!r} does not exist.")
        text = path.read_text()
    else:
        raise ConfigError(
            f"Unknown experiment {text_path!r}; expected one of: {', '.join(available())}, or the "
            "path of an experiment .yaml file."
        )
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"Cannot parse experiment {text_path!r}: {error}") from None
    if not isinstance(content, dict):
        raise ConfigError(
            f"Experiment {text_path!r} must hold a mapping of keys (name, data, ...)."
        )
    return content


def profiles(name_or_path: str | os.PathLike) -> list[str]:
    """The profiles an experiment defines."""
    return list(read(name_or_path).get("profiles") or {})


def load(
    name_or_path: str | os.PathLike, profile: str | None = None, assignments=(), values=None
) -> Experiment:
    """The resolved experiment: the file, one of its profiles, then `key=value` assignments.

    Args:
        name_or_path: a name from `available()` or an experiment file.
        profile: one of its profiles; None: its `default_profile`.
        assignments: e.g. `["pretrain.epochs=3", "evaluations.finetune.fractions=[0.1]"]`.
        values: `{dotted key: value}` set last (see `keras_ssl.experiments.resolve`).

    Returns:
        The validated `Experiment`.

    Raises:
        ConfigError: naming the bad key and what is allowed.
    """
    return resolve(read(name_or_path), profile, assignments, values)
