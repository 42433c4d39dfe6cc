"""Encoders: `keras.Model`s mapping images with values in [0, 255] to feature vectors.

Builders are registered by name (`get("mobilenet_v2", input_shape=...)`,
`available()`, metadata from `info(name)`); any user `keras.Model` with the same
contract works too.
"""

import importlib
import pkgutil

from keras_ssl.encoders.common import (
    CaffePreprocessing,
    encoder_input_shape,
    set_batch_norm_momentum,
)
from keras_ssl.encoders.registry import EncoderInfo, available, get, info, register, registered_name

# Every other public module here holds builders that register themselves: adding an
# encoder is adding its file. Each builder is exported by its function name
# (`keras_ssl.encoders.resnet18`, `keras_ssl.encoders.vision_transformer`).
_SHARED = {"common", "registry", "transformer"}
for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_") and _module.name not in _SHARED:
        importlib.import_module(f"{__name__}.{_module.name}")
_BUILDERS = {info(name).builder.__name__: info(name).builder for name in available()}
globals().update(_BUILDERS)

__all__ = [
    "CaffePreprocessing",
    "EncoderInfo",
    "available",
    "encoder_input_shape",
    "get",
    "info",
    "register",
    "registered_name",
    "set_batch_norm_momentum",
    *sorted(_BUILDERS),
]
