"""Lazy package attributes (PEP 562): a subpackage or name is imported on first use.

Importing Keras imports TensorFlow (seconds). With lazy attributes, `import keras_ssl`
and `import keras_ssl.cli` cost almost nothing, so `keras-ssl --help` answers at once;
the heavy modules load when a name that needs them is first used. The same scheme as
scientific-python's `lazy_loader.attach`, in a few lines instead of a dependency.

`.keras` files that hold keras_ssl classes (a `SimCLR` checkpoint) need those classes
registered, which happens when their module is imported: use the class first
(`keras_ssl.SimCLR`) or `import keras_ssl.pretext` before `keras.models.load_model`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence


def attach(
    package: str,
    submodules: Sequence[str] = (),
    attributes: Mapping[str, Sequence[str]] | None = None,
) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """Lazy `__getattr__`, `__dir__` and `__all__` for a package.

    Args:
        package: the package's `__name__`.
        submodules: submodules exported as attributes, e.g. `["data", "pretext"]`.
        attributes: for each submodule, the names the package re-exports from it,
            e.g. `{"pretext": ["SimCLR"]}`.

    Returns:
        `(__getattr__, __dir__, __all__)`, to assign in the package's `__init__.py`.

    Example:

    ```python
    __getattr__, __dir__, __all__ = attach(__name__, ["data"], {"pretext": ["SimCLR"]})
    ```
    """
    attributes = dict(attributes or {})
    where = {name: module for module, names in attributes.items() for name in names}
    public = sorted({*submodules, *where})

    def __getattr__(name: str) -> object:
        if name in where:
            value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        elif name in submodules or name in attributes:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *public})

    return __getattr__, __dir__, public
