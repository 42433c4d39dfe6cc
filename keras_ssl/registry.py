"""`Registry`: names for the things a config file may choose, with what is known of them.

Pretext methods, encoders, fine-tuning recipes, data sets, augmentation presets and
evaluation kinds are each one `Registry`: a config says `method: simclr`, and
`get("simclr")` returns the registered object, `available()` the choices and
`describe(name)` a line of help. A name is taken once; an unknown name raises a
one-line `ConfigError` that lists the known ones.

Example:

```python
from keras_ssl.registry import Registry

SCHEDULES = Registry("schedule")

@SCHEDULES.register("constant", description="The same learning rate throughout.")
def constant(step, base_rate):
    return base_rate

SCHEDULES.get("constant")(10, 0.1)     # 0.1
SCHEDULES.get("cosine")
# ConfigError: Unknown schedule 'cosine'; expected one of: constant.
```
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keras_ssl.config import ConfigError


@dataclass(frozen=True)
class _Entry:
    value: Any
    metadata: Mapping[str, Any] = field(default_factory=dict)


class Registry:
    """Names mapped to objects (classes, functions, configs) and their metadata.

    Args:
        kind: what is registered, in words, for messages: "encoder", "pretext method".
        unknown: the message for an unknown name, if not the default
            "Unknown <kind> 'x'; expected one of: a, b, c."; it may use `{name}` (the
            name's repr) and `{names}` (the registered names, comma-separated).

    Example:

    >>> methods = Registry("pretext method")
    >>> _ = methods.register("simclr", SimCLR, description="SimCLR (Chen et al. 2020).")
    >>> methods.available(), methods.describe("simclr")
    (['simclr'], 'SimCLR (Chen et al. 2020).')
    """

    def __init__(self, kind: str, unknown: str | None = None):
        self.kind = kind
        self._unknown = unknown or f"Unknown {kind} {{name}}; expected one of: {{names}}."
        self._entries: dict[str, _Entry] = {}

    def register(self, name: str, value: Any = None, **metadata):
        """Registers `value` as `name`; without `value`, a decorator that does.

        Args:
            name: the name configs use.
            value: the object to register (a class, a function, a config).
            **metadata: what else is known of it, read back with `entry(name)`;
                `description` is the line `describe(name)` gives.

        Returns:
            `value`, or a decorator that registers what it decorates and returns it
            unchanged.

        Raises:
            ValueError: if `name` is taken by a different object (registering the
                same object again only updates its metadata).
        """
        if value is None:
            return lambda decorated: self.register(name, decorated, **metadata)
        taken = self._entries.get(name)
        if taken is not None and taken.value is not value:
            raise ValueError(
                f"{self.kind.capitalize()} {name!r} is already registered "
                f"({_origin(taken.value)}); pick another name."
            )
        self._entries[name] = _Entry(value, dict(metadata))
        return value

    def get(self, name: str) -> Any:
        """The object registered as `name`.

        Raises:
            ConfigError: for an unknown name; the message lists the known ones.
        """
        return self._entry(name).value

    def entry(self, name: str) -> dict[str, Any]:
        """The metadata registered with `name` (a copy)."""
        return dict(self._entry(name).metadata)

    def available(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._entries)

    def describe(self, name: str) -> str:
        """One line about `name`: its `description`, else its docstring's first line."""
        entry = self._entry(name)
        if "description" in entry.metadata:
            return entry.metadata["description"]
        doc = inspect.getdoc(entry.value) or ""
        return doc.splitlines()[0] if doc else name

    def copy(self) -> Registry:
        """A registry with the same entries, to register into without changing this one."""
        copy = Registry(self.kind, self._unknown)
        copy._entries = dict(self._entries)
        return copy

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._entries

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self.available())})"

    def _entry(self, name: str) -> _Entry:
        if name not in self:
            names = ", ".join(self.available())
            raise ConfigError(self._unknown.format(name=repr(name), names=names))
        return self._entries[name]


def _origin(value: Any) -> str:
    """Where `value` was defined ("keras_ssl.pretext.simclr.SimCLR"), or its type."""
    if hasattr(value, "__qualname__"):
        return f"{value.__module__}.{value.__qualname__}"
    return f"a {type(value).__name__}"
