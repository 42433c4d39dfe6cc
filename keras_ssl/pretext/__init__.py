"""Pretext models, one file per method. Each is a `keras.Model` trained with `fit`.

Methods register themselves by name: `get("simclr", encoder, **method_args)`,
`available()`, `method_arguments(name)`, `describe(name)`. Adding a method is its
file (a `PretextModel` subclass decorated with `@register("name")`) plus one import
line here, which registers it and exports its class (`keras_ssl.pretext.SimSiam`).
"""

from keras_ssl.pretext.base import PretextModel
from keras_ssl.pretext.byol import BYOL
from keras_ssl.pretext.config import MethodConfig
from keras_ssl.pretext.dino import DINO
from keras_ssl.pretext.moco import MoCo
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
from keras_ssl.pretext.simsiam import SimSiam
from keras_ssl.pretext.training import PretrainConfig, build_optimizer, pretrain

__all__ = [
    "MethodConfig",
    "PretrainConfig",
    "build_optimizer",
    "pretrain",
    "BYOL",
    "DINO",
    "MoCo",
    "MomentumPretextModel",
    "PretextModel",
    "RotationPrediction",
    "SimCLR",
    "SimSiam",
    "available",
    "cosine_schedule",
    "describe",
    "get",
    "method_arguments",
    "method_class",
    "register",
]
