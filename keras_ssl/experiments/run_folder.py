"""One folder per run: the config guard, atomic files, stage records and epoch checkpoints.

Everything a run writes goes through here, and every file is written to a temporary
name in the same folder and renamed into place (`os.replace` is atomic on POSIX and
Windows), so a run killed at any point leaves whole files or none. A file's presence
is therefore proof that it is finished, which is what resuming relies on.
"""

from __future__ import annotations

import csv
import datetime
import importlib.metadata
import io
import json
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml

from keras_ssl.experiments.config import ConfigError, differences, dump_yaml

CONFIG_FILE = "config.yaml"
RUN_INFO_FILE = "run_info.json"


class RunFolderError(ConfigError):
    """The output folder cannot take this run (another config, or not a run folder)."""


def atomic_write(path: str | os.PathLike, write: Callable[[str], object]) -> Path:
    """Calls `write(temporary_path)`, then renames the temporary file to `path`.

    The temporary file lies in the same folder and keeps the suffix of `path` (Keras
    and matplotlib pick the format from it). If `write` raises, it is removed.

    Args:
        path: the final path.
        write: writes the file at the path it is given.

    Returns:
        `path` as a `Path`.

    Example:

    >>> atomic_write("run/model.keras", model.save)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".partial{path.suffix}", dir=path.parent
    )
    os.close(handle)
    os.remove(temporary)  # some writers refuse to overwrite; let them create it
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Writes `text` to `path` atomically."""
    return atomic_write(path, lambda temporary: Path(temporary).write_text(text))


def write_json(path: str | os.PathLike, content) -> Path:
    """Writes `content` as indented JSON to `path` atomically."""
    return write_text(path, json.dumps(content, indent=1, default=_json_default) + "\n")


def read_json(path: str | os.PathLike):
    return json.loads(Path(path).read_text())


def write_csv(path: str | os.PathLike, rows: list[Mapping]) -> Path:
    """Writes dict rows (the union of their keys as columns, in first-seen order) atomically."""
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return write_text(path, buffer.getvalue())


def _json_default(value):
    if hasattr(value, "item"):  # NumPy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


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
        option: the command-line option that chooses the folder, for messages.

    Example:

    >>> folder = RunFolder("runs/umea-smoke")
    >>> folder.claim(to_dict(config))   # refuses a folder holding other settings
    False
    """

    def __init__(
        self, path: str | os.PathLike, config_file: str = CONFIG_FILE, option: str = "--output"
    ):
        self.path = Path(path)
        self.config_file = config_file
        self.option = option

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
                    f"{self.config_file}: it is not a keras-ssl run folder. Choose a new {self.option}."
                )
            return False
        try:
            old = yaml.safe_load(config_file.read_text()) or {}
        except yaml.YAMLError as error:
            raise RunFolderError(
                f"{str(config_file)!r} cannot be read ({error}). Use a new {self.option}, or "
                "--force to delete this run and start over."
            ) from None
        new = yaml.safe_load(dump_yaml(settings))
        changed = [line for line in differences(old, new) if not _same_source(line, old, new)]
        if not changed:
            return True
        if force:
            return False
        raise RunFolderError(
            f"Output folder {str(self.path)!r} holds a run of other settings; refusing to mix "
            f"results. Differences (folder -> now): {'; '.join(changed)}. Use a new "
            f"{self.option}, or --force to delete that run and start over."
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
