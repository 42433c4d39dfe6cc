"""Evaluation: classification metrics, weighted kNN on embeddings, embedding export.

- `metrics`: `top_k_accuracy`, `classification_report`, `confusion_matrix`,
  `multilabel_metrics` on NumPy arrays.
- `classifier`: `evaluate_classifier`, all of them for a Keras model at once, as JSON.
- `saved`: `evaluate_saved_classifier`, a saved `.keras` classifier on a labeled data source.
- `knn`: `knn_predict`, `knn_accuracy` and the `KNNMonitor` pretraining callback.
- `encoder_knn`: `encoder_knn_accuracy`, the kNN accuracy of an encoder on image arrays.
- `online`: `OnlineLinearProbe`, a linear probe trained during pretraining.
- `embeddings`: `compute_embeddings`, `save_embeddings`, `load_embeddings`.
- `tables`: `markdown_table`, results as a Markdown table.
- `protocols`: the registered evaluation protocols (fine-tuning, linear probe, supervised
  baseline, kNN on a label fraction) that experiment files name as `kind`.
"""

from keras_ssl.evaluate.classifier import evaluate_classifier
from keras_ssl.evaluate.embeddings import compute_embeddings, load_embeddings, save_embeddings
from keras_ssl.evaluate.encoder_knn import encoder_knn_accuracy
from keras_ssl.evaluate.knn import KNNMonitor, knn_accuracy, knn_predict
from keras_ssl.evaluate.metrics import (
    classification_report,
    confusion_matrix,
    multilabel_metrics,
    top_k_accuracy,
)
from keras_ssl.evaluate.online import OnlineLinearProbe
from keras_ssl.evaluate.saved import evaluate_saved_classifier
from keras_ssl.evaluate.tables import markdown_table

__all__ = [
    "KNNMonitor",
    "OnlineLinearProbe",
    "classification_report",
    "compute_embeddings",
    "confusion_matrix",
    "encoder_knn_accuracy",
    "evaluate_classifier",
    "evaluate_saved_classifier",
    "knn_accuracy",
    "knn_predict",
    "load_embeddings",
    "markdown_table",
    "multilabel_metrics",
    "save_embeddings",
    "top_k_accuracy",
]
