"""Fine-tuning: classifiers from pretrained encoders, freezing, recipes and label sweeps."""

from keras_ssl.finetune.models import (
    classifier,
    copy_encoder,
    countable_layers,
    freeze_first,
    linear_probe,
)

__all__ = ["classifier", "copy_encoder", "countable_layers", "freeze_first", "linear_probe"]
