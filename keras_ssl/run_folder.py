"""One folder per run: the config guard, atomic files and stage records.

Everything a run writes goes through here, and every file is written to a temporary
name in the same folder and renamed into place (`os.replace` is atomic on POSIX and
Windows), so a run killed at any point leaves whole files or none. A file's presence
is therefore proof that it is finished, which is what resuming relies on.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

from keras_ssl._files import read_json, write_json, write_text
from keras_ssl.config import ConfigError, differences, dump_yaml

CONFIG_FILE = "config.yaml"
RUN_INFO_FILE = "run_info.json"


class RunFolderError(ConfigError):
    """The output folder cannot take this run (another config, or not a run folder)."""


def _installed_version(*distributions: str) -> str | None:
    """The version of the first of `distributions` that is installed, without importing it."""
    for name in distributions:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def versions() -> dict[str, str]:
    """Versions of keras_ssl, TensorFlow, Keras, NumPy and Python, and the platform."""
    import keras
    import numpy

    import keras_ssl

    return {
        "keras_ssl": keras_ssl.__version__,
        # Read from the package metadata: the learning may run on another backend.
        "tensorflow": _installed_version("tensorflow", "tensorflow-cpu", "tensorflow-gpu"),
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "numpy": numpy.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


class RunFolder:
    """The output folder of one run, guarded by the settings it was started with.

    Layout (Umeå runner): `config.yaml`, `run_info.json`, `split.json`,
    `pretrain/<variant>/…`, `finetune/<variant>/<fraction>/…`, `results.csv`,
    `results.md`, `figures/`.

    Args:
        path: the folder; created by `claim`.
        config_file: the name of the settings file inside it.

    Example:

    >>> folder = RunFolder("runs/umea-smoke")
    >>> folder.claim(to_dict(config))   # refuses a folder holding other settings
    False
    """

    def __init__(self, path: str | os.PathLike, config_file: str = CONFIG_FILE):
        self.path = Path(path)
        self.config_file = config_file

    def __truediv__(self, relative: str) -> Path:
        return self.path / relative

    def check(self, settings: Mapping, force: bool = False) -> bool:
        """Checks that the folder can take a run of `settings`, without writing anything.

        Args:
            settings: the run's settings as nested dicts (e.g. `to_dict(config)`).
            force: accept a run folder of other settings (`claim` then empties it).

        Returns:
            True if the folder holds a run of the same settings (it will be resumed).

        Raises:
            RunFolderError: if the folder holds a run of other settings (the message
                lists the differing keys), or holds files but no settings file.
        """
        if self.path.exists() and not self.path.is_dir():
            raise RunFolderError(f"Output {str(self.path)!r} exists and is not a folder.")
        config_file = self.path / self.config_file
        if not config_file.is_file():
            if self.path.is_dir() and any(self.path.iterdir()):
                raise RunFolderError(
                    f"Output folder {str(self.path)!r} is not empty and holds no "
                    f"{self.config_file}: it is not a keras-ssl run folder. Choose another output folder."
                )
            return False
        try:
            old = yaml.safe_load(config_file.read_text()) or {}
        except yaml.YAMLError as error:
            raise RunFolderError(
                f"{str(config_file)!r} cannot be read ({error}). Use another output folder, or "
                "`force` to delete this run and start over."
            ) from None
        new = yaml.safe_load(dump_yaml(settings))
        changed = [line for line in differences(old, new) if not _same_source(line, old, new)]
        if not changed:
            return True
        if force:
            return False
        raise RunFolderError(
            f"Output folder {str(self.path)!r} holds a run of other settings; refusing to mix "
            f"results. Differences (folder -> now): {'; '.join(changed)}. Use "
            "another output folder, or `force` to delete that run and start over."
        )

    def claim(self, settings: Mapping, force: bool = False) -> bool:
        """Checks the folder (see `check`), empties it with `force`, and writes the settings.

        Returns:
            True if an earlier run of the same settings is resumed.
        """
        resumed = self.check(settings, force)
        if force and not resumed and (self.path / self.config_file).is_file():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        if not resumed:
            write_text(self.path / self.config_file, dump_yaml(settings))
        return resumed

    # -- run_info.json: versions, sessions and per-stage wall time ---------------------

    def info(self) -> dict:
        path = self.path / RUN_INFO_FILE
        return read_json(path) if path.is_file() else {"sessions": [], "stages": {}}

    def start_session(self, command: str | None = None, **facts) -> dict:
        """Records a new session (start time, command, versions) and `facts` in `run_info.json`."""
        info = self.info()
        info.update(facts)
        info["sessions"].append({"started": _now(), "command": command, "versions": versions()})
        info["versions"] = info["sessions"][0]["versions"]
        write_json(self.path / RUN_INFO_FILE, info)
        return info

    def record_stage(self, stage: str, seconds: float, **facts) -> None:
        """Adds `seconds` of wall time to `stage` in `run_info.json` (summed over sessions)."""
        info = self.info()
        entry = info["stages"].setdefault(stage, {"seconds": 0.0})
        entry["seconds"] = round(entry["seconds"] + seconds, 3)
        entry["finished"] = _now()
        entry.update(facts)
        write_json(self.path / RUN_INFO_FILE, info)

    def update_info(self, **facts) -> None:
        info = self.info()
        info.update(facts)
        write_json(self.path / RUN_INFO_FILE, info)


def _same_source(line: str, old: dict, new: dict) -> bool:
    """Whether a `data.source` difference is only two spellings of one existing path."""
    if not line.startswith("data.source:"):
        return False
    a, b = old["data"]["source"], new["data"]["source"]
    return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
