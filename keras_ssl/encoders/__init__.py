"""Encoders: `keras.Model`s mapping images with values in [0, 255] to feature vectors.

Builders are registered by name (`get("mobilenet_v2", input_shape=...)`,
`available()`, metadata from `info(name)`); any user `keras.Model` with the same
contract works too.
"""

from keras_ssl.encoders.common import encoder_input_shape, set_batch_norm_momentum
from keras_ssl.encoders.mobilenet_v2 import mobilenet_v2
from keras_ssl.encoders.registry import EncoderInfo, available, get, info, register, registered_name
from keras_ssl.encoders.small_cnn import small_cnn

__all__ = [
    "EncoderInfo",
    "available",
    "encoder_input_shape",
    "get",
    "info",
    "mobilenet_v2",
    "register",
    "registered_name",
    "set_batch_norm_momentum",
    "small_cnn",
]
