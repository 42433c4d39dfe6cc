"""BYOL (Grill et al. 2020): an online network predicts a momentum target's projection."""

from __future__ import annotations

import keras
from keras import ops

from keras_ssl.augment import byol_views
from keras_ssl.heads import byol_predictor, byol_projector
from keras_ssl.losses import normalized_mse, symmetric
from keras_ssl.pretext.base import augmented_views, encoder_image_size, resolve_augment
from keras_ssl.pretext.momentum import MomentumPretextModel
from keras_ssl.pretext.registry import register


@register("byol")
@keras.saving.register_keras_serializable(package="keras_ssl")
class BYOL(MomentumPretextModel):
    """BYOL pretraining model: bootstrap your own latent, no negatives.

    The online network (encoder → projector → predictor) predicts, for each of two
    views, the projection a target network (an exponential moving average of the
    online encoder and projector, `MomentumPretextModel`) gives to the other view;
    the loss is the symmetric normalised MSE `‖p̄₁ − z̄′₂‖² + ‖p̄₂ − z̄′₁‖²` (Grill et
    al. 2020, eq. 2; `keras_ssl.losses.symmetric` of `normalized_mse`), each term a mean
    over the batch. The target momentum rises from 0.996 to 1 on a cosine over training
    (their §3.2). Defaults are the paper's: projector and predictor 4096 → 256, the
    two asymmetric views of their Table 6 (`keras_ssl.augment.byol_views`).
    Metrics: `loss` (0 at best, 8 at worst: two terms of at most 4) and
    `representation_std` (collapse gauge).

    Args:
        encoder: a `keras.Model` mapping images in [0, 255] to `(batch, features)`.
        augment: a `MultiView` of two views, one augmentation layer applied twice, a
            preset name, or None for `byol_views` at the encoder's input size.
        output_dim: projection and prediction width.
        hidden_dim: hidden width of projector and predictor.
        momentum_start: target momentum at the first step (0.996).
        momentum_end: target momentum at the end of training (1.0).
        total_steps: steps of the momentum schedule; None: set by `fit`.
        **kwargs: passed to `keras.Model`.

    Example:

    ```python
    model = keras_ssl.pretext.get("byol", keras_ssl.encoders.small_cnn((32, 32, 3)))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(unlabeled_images_dataset, epochs=10)
    ```
    """

    min_batch_size = 2  # the projector's BatchNorm needs more than one image
    loss_name = "normalised MSE"

    def __init__(
        self,
        encoder,
        augment=None,
        output_dim: int = 256,
        hidden_dim: int = 4096,
        momentum_start: float = 0.996,
        momentum_end: float = 1.0,
        total_steps: int | None = None,
        **kwargs,
    ):
        super().__init__(encoder, momentum_start, momentum_end, total_steps, **kwargs)
        self.output_dim, self.hidden_dim = output_dim, hidden_dim
        self.projector = byol_projector(hidden_dim, output_dim)
        self.predictor = byol_predictor(hidden_dim, output_dim)
        self.target_encoder = self.add_target(self.encoder)
        self.target_projector = self.add_target(self.projector)
        size = encoder_image_size(self.encoder)
        if augment is None and size is not None:
            augment = byol_views(size[0])
        self.augment = resolve_augment(augment or "simclr", image_size=size)

    def call(self, images, training=False):
        """Returns `{"p": (2, N, d), "z": (2, N, d)}`: online predictions, target projections."""
        if training:
            self.update_targets()
        images = self._prepare_images(images)
        views = [self._fit_to_encoder(v) for v in augmented_views(self.augment, images, 2)]
        predictions, targets = [], []
        for view in views:
            z = self.projector(self._encode(view, training=training), training=training)
            predictions.append(self.predictor(z, training=training))
            target = self.target_encoder(view, training=training)
            targets.append(self.target_forward(self.target_projector, target, training=training))
        return {"p": ops.stack(predictions), "z": ops.stack(targets)}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        p, z = y_pred["p"], y_pred["z"]
        loss = ops.mean(symmetric(normalized_mse, p, z))
        self.update_collapse_monitor(p[0])
        return self._finish_loss(loss)

    def get_config(self):
        return {
            **super().get_config(),
            "augment": self._serialize(self.augment),
            "output_dim": self.output_dim,
            "hidden_dim": self.hidden_dim,
        }
