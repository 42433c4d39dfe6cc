"""Pretext models, one file per method. Each is a `keras.Model` trained with `fit`.

Methods register themselves by name: `get("simclr", encoder, **method_args)`,
`available()`, `method_arguments(name)`, `describe(name)`.
"""

import importlib
import pkgutil

from keras_ssl.pretext.base import PretextModel
from keras_ssl.pretext.momentum import MomentumPretextModel, cosine_schedule
from keras_ssl.pretext.registry import (
    available,
    describe,
    get,
    method_arguments,
    method_class,
    register,
)

# Every public module here is a method that registers itself: adding a method is adding
# its file. The classes are exported by their names (`keras_ssl.pretext.SimSiam`).
_SHARED = {"base", "momentum", "registry", "replicas"}
for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_") and _module.name not in _SHARED:
        importlib.import_module(f"{__name__}.{_module.name}")
_METHODS = {method_class(name).__name__: method_class(name) for name in available()}
globals().update(_METHODS)

__all__ = [
    "MomentumPretextModel",
    "PretextModel",
    *sorted(_METHODS),
    "available",
    "cosine_schedule",
    "describe",
    "get",
    "method_arguments",
    "method_class",
    "register",
]
