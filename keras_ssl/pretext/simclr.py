"""SimCLR (Chen et al. 2020): contrast two augmented views of each image with NT-Xent."""

from __future__ import annotations

import keras
from keras import ops

from keras_ssl.heads import projection_head as build_projection_head
from keras_ssl.losses import _check_temperature, contrastive_logits
from keras_ssl.pretext import replicas
from keras_ssl.pretext.base import PretextModel, encoder_image_size, resolve_augment
from keras_ssl.pretext.registry import register

# "joint": both views in one 2N batch through encoder and head; "separate": two N batches.
_VIEW_BATCHING = ("joint", "separate")


@register("simclr")
@keras.saving.register_keras_serializable(package="keras_ssl")
class SimCLR(PretextModel):
    """SimCLR pretraining model: encoder + projection head trained with NT-Xent.

    Each training step takes a batch of N unlabeled images (labels, if the data set
    yields them, are ignored), makes two augmented views of every image on the
    device, encodes the 2N views in one pass, projects them and minimises the NT-Xent
    loss (`keras_ssl.losses.nt_xent`). Metrics: `loss`, `contrastive_accuracy` (the
    partner view is the most similar of the 2N - 1 candidates) and
    `contrastive_top5_accuracy`. Evaluation (`model.evaluate`) also augments, with the
    encoder in inference mode.

    The learning is written as `call` + `compute_loss`, so Keras' own train and test
    steps of every backend (TensorFlow, JAX, PyTorch) run it unchanged.

    Args:
        encoder: a `keras.Model` mapping images in [0, 255] to `(batch, features)`,
            e.g. `keras_ssl.encoders.mobilenet_v2()`.
        projection_head: the projection MLP; None builds
            `keras_ssl.heads.projection_head(*projection_dims)`.
        augment: the augmentation layer applied to make each view, or a preset
            name ("simclr", "umea"); None means "simclr" at the encoder's input size.
            Its output size must match the encoder's input.
        temperature: NT-Xent temperature tau, > 0.
        view_batching: "separate" (each view is its own batch through the encoder, so
            BatchNorm statistics are per view) or "joint" (one batch of 2N).
        projection_dims: `(hidden_dim, output_dim)` of the projection head built
            when `projection_head` is None: Dense(hidden, ReLU) → BN → Dense(output).
            The Umeå report's (256, 128) by default.
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Example:

    ```python
    encoder = keras_ssl.encoders.mobilenet_v2(input_shape=(96, 96, 3))
    model = keras_ssl.SimCLR(
        encoder,
        keras_ssl.heads.projection_head(256, 128),
        keras_ssl.augment.umea_augment(96),
        temperature=0.1,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(unlabeled_images_dataset, epochs=75)
    model.encoder.save("encoder.keras")
    ```
    """

    monitor = "contrastive_accuracy"
    monitor_mode = "max"
    loss_name = "NT-Xent loss"
    config_exclude = ("projection_head",)
    min_batch_size = 2
    needs_full_batches = True
    _min_batch_reason = "each view is contrasted with the views of the other images"

    def __init__(
        self,
        encoder,
        projection_head=None,
        augment=None,
        temperature: float = 0.5,
        view_batching: str = "separate",
        projection_dims=(256, 128),
        **kwargs,
    ):
        super().__init__(encoder, **kwargs)
        self.temperature = _check_temperature(temperature)
        if view_batching not in _VIEW_BATCHING:
            raise ValueError(
                f"`view_batching` must be one of {_VIEW_BATCHING}; got {view_batching!r}."
            )
        self.view_batching = view_batching
        self.projection_dims = _check_projection_dims(projection_dims)
        if projection_head is None:
            projection_head = build_projection_head(*self.projection_dims)
        self.projection_head = projection_head
        if augment is None:
            augment = "simclr"
        self.augment = resolve_augment(augment, image_size=encoder_image_size(self.encoder))
        self.contrastive_accuracy = keras.metrics.SparseTopKCategoricalAccuracy(
            k=1, name="contrastive_accuracy"
        )
        self.contrastive_top5_accuracy = keras.metrics.SparseTopKCategoricalAccuracy(
            k=5, name="contrastive_top5_accuracy"
        )

    def make_views(self, images):
        """The two augmented views of a batch, stacked: shape (2N, height, width, 3)."""
        return ops.concatenate(self._view_pair(images), axis=0)

    def _view_pair(self, images):
        images = self._prepare_images(images)
        # Views are always augmented: they define the pretext task, in evaluation too.
        return [self._fit_to_encoder(self.augment(images, training=True)) for _ in range(2)]

    def _project(self, views, training):
        return self.projection_head(self._encode(views, training=training), training=training)

    def call(self, images, training=False):
        """Returns the projections of both views, shape (2N, output_dim): views a then b."""
        view_a, view_b = self._view_pair(images)
        if self.view_batching == "joint":
            return self._project(ops.concatenate([view_a, view_b], axis=0), training)
        return ops.concatenate(
            [self._project(view_a, training), self._project(view_b, training)], axis=0
        )

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        z_a, z_b = ops.split(y_pred, 2, axis=0)
        # Under tf.distribute the negatives come from every replica's images.
        (all_a, offset), (all_b, _) = replicas.gather(z_a), replicas.gather(z_b)
        logits, labels = contrastive_logits(z_a, z_b, self.temperature, all_a, all_b, offset)
        loss = ops.mean(ops.sparse_categorical_crossentropy(labels, logits, from_logits=True))
        self.contrastive_accuracy.update_state(labels, logits)
        self.contrastive_top5_accuracy.update_state(labels, logits)
        self.update_collapse_monitor(y_pred)
        return self._finish_loss(loss)

    def get_config(self):
        return {
            **super().get_config(),
            "projection_head": self._serialize(self.projection_head),
            "augment": self._serialize(self.augment),
            "temperature": self.temperature,
            "view_batching": self.view_batching,
            "projection_dims": list(self.projection_dims),
        }


def _check_projection_dims(dims) -> tuple[int, int]:
    """`(hidden_dim, output_dim)` as a tuple of two positive integers (a YAML list works)."""
    if (
        not isinstance(dims, (tuple, list))
        or len(dims) != 2
        or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims)
    ):
        raise ValueError(
            "`projection_dims` must be (hidden_dim, output_dim), two positive integers such as "
            f"[256, 128]; got {dims!r}."
        )
    return tuple(dims)
