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

from keras_ssl._files import is_temporary, read_json, write_json, write_text
from keras_ssl.config import ConfigError, differences, dump_yaml

CONFIG_FILE = "config.yaml"
RUN_INFO_FILE = "run_info.json"
# The last line of every settings file keras_ssl writes: it tells a keras-ssl run folder
# from a folder of another tool's `config.yaml`, whose files `force` must not delete.
# A comment, so the settings read the same.
_MARKER = "# Written by keras-ssl: a keras-ssl run folder."
# What a run writes besides its settings file and a folder per evaluation (the Umeå
# runner's layout, see `RunFolder`): all that `force` deletes.
_RUN_ENTRIES = (RUN_INFO_FILE, "split.json", "results.csv", "results.md", "figures", "pretrain")


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

        A folder holding only the temporary files of writes a kill interrupted counts
        as empty.

        Args:
            settings: the run's settings as nested dicts (e.g. `to_dict(config)`).
            force: accept a keras-ssl run of other settings (`claim` then deletes its files).

        Returns:
            True if the folder holds a run of the same settings (it will be resumed).

        Raises:
            RunFolderError: if the folder holds a run of other settings (the message
                lists the differing keys), or is not a keras-ssl run folder: it holds
                files but no settings file, or a settings file that keras-ssl did not
                write (refused even with `force`).
        """
        if self.path.exists() and not self.path.is_dir():
            raise RunFolderError(f"Output {str(self.path)!r} exists and is not a folder.")
        if not (self.path / self.config_file).is_file():
            if self.path.is_dir() and any(not _is_leftover(p) for p in self.path.iterdir()):
                raise RunFolderError(
                    f"Output folder {str(self.path)!r} is not empty and holds no "
                    f"{self.config_file}: it is not a keras-ssl run folder. Choose another output folder."
                )
            return False
        old, ours = self._settings()
        new = yaml.safe_load(dump_yaml(settings))
        changed = [line for line in differences(old, new) if not _same_source(line, old, new)]
        if not changed:
            return True  # also a run of a keras_ssl that did not mark its settings yet
        if not ours:
            raise RunFolderError(
                f"{str(self.path / self.config_file)!r} was not written by keras-ssl (it lacks "
                f"the line {_MARKER!r}): {str(self.path)!r} is not a keras-ssl run folder, and "
                "its files are left alone. Choose another output folder."
            )
        if force:
            return False
        raise RunFolderError(
            f"Output folder {str(self.path)!r} holds a run of other settings; refusing to mix "
            f"results. Differences (folder -> now): {'; '.join(changed)}. Use "
            "another output folder, or `force` to delete that run and start over."
        )

    def claim(self, settings: Mapping, force: bool = False) -> bool:
        """Checks the folder (see `check`) and writes the settings.

        With `force`, a keras-ssl run of other settings is deleted first: its own files
        and folders only, other files in the folder stay. The temporary files of writes
        a kill interrupted are removed.

        Returns:
            True if an earlier run of the same settings is resumed.
        """
        resumed = self.check(settings, force)
        config_file = self.path / self.config_file
        if self.path.is_dir():
            if force and not resumed and config_file.is_file():
                self._delete_run()
            _remove_leftovers(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        if not resumed:
            write_text(config_file, dump_yaml(settings) + _MARKER + "\n")
        elif not self._settings()[1]:  # an older keras_ssl's run, resumed: mark it as ours
            write_text(config_file, config_file.read_text().rstrip("\n") + "\n" + _MARKER + "\n")
        return resumed

    def _settings(self) -> tuple[dict, bool]:
        """The settings in the folder's settings file, and whether keras_ssl wrote it."""
        config_file = self.path / self.config_file
        try:
            text = config_file.read_text()
            old = yaml.safe_load(text)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            reason = " ".join(str(error).split())  # YAML errors span lines
            raise RunFolderError(
                f"{str(config_file)!r} cannot be read ({reason}): it is not a keras-ssl run "
                "folder. Choose another output folder."
            ) from None
        if not isinstance(old, dict):
            raise RunFolderError(
                f"{str(config_file)!r} holds no mapping of settings: it is not a keras-ssl run "
                "folder. Choose another output folder."
            )
        return old, _MARKER in text.splitlines()

    def _delete_run(self) -> None:
        """Deletes what the folder's keras-ssl run wrote (see `_RUN_ENTRIES`), nothing else."""
        evaluations = self._settings()[0].get("evaluations")
        names = [*_RUN_ENTRIES, *(evaluations if isinstance(evaluations, dict) else ())]
        # The settings go last: a run killed while deleting is still a run to force.
        for name in map(str, [*names, self.config_file]):
            path = self.path / name
            if name == ".." or path.name != name:
                continue  # not one entry of this folder
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.is_symlink() or path.exists():
                path.unlink()

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


def _is_leftover(path: Path) -> bool:
    """Whether `path` is the temporary file of a write that a kill interrupted."""
    return is_temporary(path.name) and path.is_file()


def _remove_leftovers(folder: Path) -> None:
    """Removes the temporary files of interrupted writes anywhere in `folder`."""
    for parent, _, names in os.walk(folder):
        for name in names:
            if _is_leftover(Path(parent, name)):
                os.remove(Path(parent, name))


def _same_source(line: str, old: dict, new: dict) -> bool:
    """Whether a `data.source` difference is only two spellings of one existing path."""
    if not line.startswith("data.source:"):
        return False
    a, b = old["data"]["source"], new["data"]["source"]
    return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
