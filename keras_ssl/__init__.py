"""keras_ssl: self-supervised pretraining of image encoders with Keras 3, and label-efficient fine-tuning.

The names users type most are re-exported here; the subpackages hold the rest:
`data`, `augment`, `encoders`, `heads`, `losses`, `pretext`, `finetune`,
`evaluate`, `plots`, `callbacks`, `resume`; `keras_ssl.experiments` holds the reproductions.

Every name is imported on first use (see `keras_ssl._lazy`): `import keras_ssl` does
not import Keras or TensorFlow, so the `keras-ssl` command starts at once.
"""

__version__ = "0.1.0"

from keras_ssl._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    submodules=[
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
        "resume",
    ],
    # `experiments` loads on use too, without being one of the names `import *` gives.
    attributes={"pretext": ["RotationPrediction", "SimCLR"], "experiments": []},
)
del attach
