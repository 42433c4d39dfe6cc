"""Batched, seedable augmentation layers and presets, run on the device in `train_step`.

Every layer takes a batch of uint8 or float images [batch, height, width, 3] with values
in [0, 255], draws its randomness per image, and returns float images in [0, 255]. They
use `keras.ops` and `keras.random` only, so they run on any Keras backend, and they
augment when called with `training=True` (the default).
"""

from keras_ssl.augment.color_jitter import ColorJitter
from keras_ssl.augment.gaussian_blur import GaussianBlur
from keras_ssl.augment.multiview import MultiView, group_by_size
from keras_ssl.augment.pipeline import AugmentPipeline
from keras_ssl.augment.presets import (
    available,
    byol_views,
    dino_views,
    get,
    rotation_augment,
    simclr_augment,
    umea_augment,
)
from keras_ssl.augment.random_apply import RandomApply
from keras_ssl.augment.random_resized_crop import RandomResizedCrop
from keras_ssl.augment.solarize import RandomSolarize

__all__ = [
    "AugmentPipeline",
    "ColorJitter",
    "GaussianBlur",
    "MultiView",
    "RandomApply",
    "RandomResizedCrop",
    "RandomSolarize",
    "available",
    "byol_views",
    "dino_views",
    "get",
    "group_by_size",
    "rotation_augment",
    "simclr_augment",
    "umea_augment",
]
