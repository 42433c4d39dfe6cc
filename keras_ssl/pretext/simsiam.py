"""SimSiam (Chen & He 2021): two views, a predictor, and a stop-gradient; no negatives."""

from __future__ import annotations

import keras
from keras import ops

from keras_ssl.heads import simsiam_predictor, simsiam_projector
from keras_ssl.losses import negative_cosine_similarity, symmetric
from keras_ssl.pretext.base import PretextModel, encoder_image_size, resolve_augment
from keras_ssl.pretext.registry import register


@register("simsiam")
@keras.saving.register_keras_serializable(package="keras_ssl")
class SimSiam(PretextModel):
    """SimSiam pretraining model: predict one view's projection from the other's.

    Each step makes two augmented views of every image on the device, encodes and
    projects both (`z1`, `z2`), predicts with a bottleneck MLP (`p1`, `p2`), and
    minimises the symmetric negative cosine `D(p1, sg(z2)) / 2 + D(p2, sg(z1)) / 2`
    (Chen & He 2021, eq. 1-2; `keras_ssl.losses.symmetric` of
    `negative_cosine_similarity`). The stop-gradient on the projections is what keeps
    it from collapsing (their §4.1); the `representation_std` metric watches for it.
    Metrics: `loss` (−1 at best) and `representation_std`.

    Defaults follow the paper's CIFAR-10 setting (§2.1 of report 004, the paper's
    Appendix D): a 3-layer projector with BN on every layer (output 2048) and a
    2-layer predictor with a bottleneck of a quarter of the output (512).

    Args:
        encoder: a `keras.Model` mapping images in [0, 255] to `(batch, features)`.
        augment: the view augmentation: a layer, a preset name, or None for "simclr"
            at the encoder's input size.
        output_dim: the projection (and prediction) width.
        hidden_dim: the projector's hidden width.
        predictor_hidden_dim: the predictor's bottleneck; None: `output_dim // 4`.
        projector: a projection layer to use instead of `simsiam_projector(...)`.
        predictor: a prediction layer to use instead of `simsiam_predictor(...)`.
        **kwargs: passed to `keras.Model`.

    Example:

    ```python
    model = keras_ssl.pretext.get("simsiam", keras_ssl.encoders.small_cnn((32, 32, 3)))
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    model.fit(unlabeled_images_dataset, epochs=10)
    ```
    """

    min_batch_size = 2  # the projector's BatchNorm needs more than one image
    monitor = "loss"
    monitor_mode = "min"
    loss_name = "negative cosine similarity"
    config_exclude = ("projector", "predictor")

    def __init__(
        self,
        encoder,
        augment=None,
        output_dim: int = 2048,
        hidden_dim: int = 2048,
        predictor_hidden_dim: int | None = None,
        projector=None,
        predictor=None,
        **kwargs,
    ):
        super().__init__(encoder, **kwargs)
        self.output_dim, self.hidden_dim = output_dim, hidden_dim
        self.predictor_hidden_dim = predictor_hidden_dim
        bottleneck = predictor_hidden_dim or max(1, output_dim // 4)
        self.projector = projector or simsiam_projector(output_dim, hidden_dim)
        self.predictor = predictor or simsiam_predictor(output_dim, bottleneck)
        augment = "simclr" if augment is None else augment
        self.augment = resolve_augment(augment, image_size=encoder_image_size(self.encoder))

    def _branch(self, view, training):
        z = self.projector(self._encode(view, training=training), training=training)
        return z, self.predictor(z, training=training)

    def call(self, images, training=False):
        """Returns `{"z": (2, N, d), "p": (2, N, d)}`: projections and predictions of both views."""
        images = self._prepare_images(images)
        views = [self._fit_to_encoder(self.augment(images, training=True)) for _ in range(2)]
        (z1, p1), (z2, p2) = (self._branch(view, training) for view in views)
        return {"z": ops.stack([z1, z2]), "p": ops.stack([p1, p2])}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        z, p = y_pred["z"], y_pred["p"]
        loss = 0.5 * ops.mean(symmetric(negative_cosine_similarity, p, z))
        self.update_collapse_monitor(z[0])
        return self._finish_loss(loss)

    def get_config(self):
        return {
            **super().get_config(),
            "augment": self._serialize(self.augment),
            "output_dim": self.output_dim,
            "hidden_dim": self.hidden_dim,
            "predictor_hidden_dim": self.predictor_hidden_dim,
            "projector": self._serialize(self.projector),
            "predictor": self._serialize(self.predictor),
        }
