"""Atomic file writes: a run killed at any point leaves whole files, never half-written ones.

Every writer here writes under a temporary name in the target's folder and renames
the file into place (`os.replace` is atomic on one file system). Used by the resumable
training backups, the fine-tuning logs and the experiment run folders.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

# `atomic_write`'s temporary names: ".<stem>.<8 random characters of mkstemp>.partial<suffixes>".
_TEMPORARY_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.partial(\..+)?")


def atomic_write(path: str | os.PathLike, write: Callable[[str], object]) -> Path:
    """Calls `write(temporary_path)`, then renames the temporary file to `path`.

    The temporary file lies in the same folder and ends like `path` (all its
    suffixes: Keras and matplotlib pick the format from them, `save_weights` wants
    `.weights.h5`). If `write` raises, it is removed.

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
        prefix=f".{path.stem}.", suffix=f".partial{''.join(path.suffixes)}", dir=path.parent
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


def is_temporary(name: str) -> bool:
    """Whether the file name `name` is a temporary file of `atomic_write` (a kill leaves them)."""
    return _TEMPORARY_NAME.fullmatch(name) is not None


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Writes `text` to `path` atomically."""
    return atomic_write(path, lambda temporary: Path(temporary).write_text(text))


def write_json(path: str | os.PathLike, content) -> Path:
    """Writes `content` as indented JSON to `path` atomically."""
    return write_text(path, json.dumps(content, indent=1, default=_json_default) + "\n")


def read_json(path: str | os.PathLike):
    return json.loads(Path(path).read_text())


def write_csv(path: str | os.PathLike, rows: Sequence[Mapping]) -> Path:
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
