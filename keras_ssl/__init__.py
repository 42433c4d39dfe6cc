"""keras_ssl: self-supervised pretraining of image encoders with Keras 3, and label-efficient fine-tuning.

The names users type most are re-exported here; the subpackages hold the rest:
`encoders`, `heads`, `augment`, `losses`, `pretext`, `finetune`, `evaluate`,
`plots`, `data`.
"""

__version__ = "0.1.0"

from keras_ssl import callbacks, encoders, finetune, heads, losses, pretext  # noqa: E402
from keras_ssl.pretext import RotationPrediction, SimCLR  # noqa: E402

__all__ = [
    "RotationPrediction",
    "SimCLR",
    "callbacks",
    "encoders",
    "finetune",
    "heads",
    "losses",
    "pretext",
]
