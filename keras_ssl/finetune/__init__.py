"""Fine-tuning: classifiers from pretrained encoders, freezing, recipes and linear probes."""

from keras_ssl.finetune._core import FinetuneResult
from keras_ssl.finetune.models import (
    classifier,
    copy_encoder,
    countable_layers,
    freeze_first,
    linear_probe,
    resolve_freeze,
)
from keras_ssl.finetune.probe import linear_probe_features
from keras_ssl.finetune.recipes import FinetuneConfig, available_recipes, get_recipe
from keras_ssl.finetune.scoring import score_result
from keras_ssl.finetune.training import finetune, supervised_baseline

__all__ = [
    "FinetuneConfig",
    "FinetuneResult",
    "available_recipes",
    "classifier",
    "copy_encoder",
    "countable_layers",
    "finetune",
    "freeze_first",
    "get_recipe",
    "linear_probe",
    "linear_probe_features",
    "resolve_freeze",
    "score_result",
    "supervised_baseline",
]
