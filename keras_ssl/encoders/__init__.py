"""Encoders: `keras.Model`s mapping images with values in [0, 255] to feature vectors.

Builders are registered by name (`get("mobilenet_v2", input_shape=...)`,
`available()`, metadata from `info(name)`); any user `keras.Model` with the same
contract works too. Adding an encoder is its file (a builder decorated with
`@register("name", ...)`) plus one import line here, which registers it and exports
the builder by its function name (`keras_ssl.encoders.resnet18`).
"""

from keras_ssl.encoders.common import (
    CaffePreprocessing,
    encoder_input_shape,
    set_batch_norm_momentum,
)
from keras_ssl.encoders.config import EncoderConfig, load_saved_model
from keras_ssl.encoders.efficientnet import efficientnet_b0
from keras_ssl.encoders.mobilenet_v2 import mobilenet_v2
from keras_ssl.encoders.pit import pit_tiny, pooling_transformer
from keras_ssl.encoders.registry import EncoderInfo, available, get, info, register, registered_name
from keras_ssl.encoders.resnet import resnet18, resnet50
from keras_ssl.encoders.small_cnn import small_cnn
from keras_ssl.encoders.vgg import vgg16
from keras_ssl.encoders.vit import vision_transformer, vit_small

__all__ = [
    "EncoderConfig",
    "load_saved_model",
    "CaffePreprocessing",
    "EncoderInfo",
    "available",
    "efficientnet_b0",
    "encoder_input_shape",
    "get",
    "info",
    "mobilenet_v2",
    "pit_tiny",
    "pooling_transformer",
    "register",
    "registered_name",
    "resnet18",
    "resnet50",
    "set_batch_norm_momentum",
    "small_cnn",
    "vgg16",
    "vision_transformer",
    "vit_small",
]
