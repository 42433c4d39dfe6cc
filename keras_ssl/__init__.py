"""keras_ssl: self-supervised pretraining of image encoders with Keras 3, and label-efficient fine-tuning.

The names users type most are re-exported here; the subpackages hold the rest:
`data`, `augment`, `encoders`, `heads`, `losses`, `pretext`, `finetune`,
`evaluate`, `plots`.
"""

__version__ = "0.1.0"

from keras_ssl import (  # noqa: E402
    augment,
    callbacks,
    data,
    encoders,
    evaluate,
    finetune,
    heads,
    losses,
    plots,
    pretext,
)
from keras_ssl.pretext import RotationPrediction, SimCLR  # noqa: E402

__all__ = [
    "RotationPrediction",
    "SimCLR",
    "augment",
    "callbacks",
    "data",
    "encoders",
    "evaluate",
    "finetune",
    "heads",
    "losses",
    "plots",
    "pretext",
]
