"""Pretext models, one file per method. Each is a `keras.Model` trained with `fit`.

Methods register themselves by name: `get("simclr", encoder, **method_args)`,
`available()`, `method_arguments(name)`, `describe(name)`.
"""

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
from keras_ssl.pretext.rotation import RotationPrediction
from keras_ssl.pretext.simclr import SimCLR

__all__ = [
    "MomentumPretextModel",
    "PretextModel",
    "RotationPrediction",
    "SimCLR",
    "available",
    "cosine_schedule",
    "describe",
    "get",
    "method_arguments",
    "method_class",
    "register",
]
