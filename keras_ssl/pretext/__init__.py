"""Pretext models, one file per method. Each is a `keras.Model` trained with `fit`."""

from keras_ssl.pretext.base import PretextModel
from keras_ssl.pretext.rotation import RotationPrediction
from keras_ssl.pretext.simclr import SimCLR

__all__ = ["PretextModel", "RotationPrediction", "SimCLR"]
