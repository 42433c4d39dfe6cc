"""MoCo v2 (He et al. 2020; Chen et al. 2020): contrast queries with a queue of momentum keys."""

from __future__ import annotations

import keras
from keras import ops

from keras_ssl.config import PositiveInt, check
from keras_ssl.heads import moco_v2_projector
from keras_ssl.losses import info_nce_logits
from keras_ssl.pretext import replicas
from keras_ssl.pretext.base import augmented_views, encoder_image_size, resolve_augment
from keras_ssl.pretext.momentum import MomentumPretextModel
from keras_ssl.pretext.registry import register


@register("moco")
@keras.saving.register_keras_serializable(package="keras_ssl")
class MoCo(MomentumPretextModel):
    """MoCo v2 pretraining model: a query must find its key among a queue of old keys.

    Each of two views is encoded and projected by the online (query) network and by a
    momentum (key) network, an exponential moving average of it. The InfoNCE loss
    (He et al. 2020, eq. 1; `keras_ssl.losses.info_nce_logits`) contrasts each query
    with the key of the other view of its image and with `queue_size` keys of earlier
    batches, all L2-normalised, at temperature 0.2; it is symmetrised over the two
    views (as solo-learn's MoCo v2+). After each training step the batch's keys enter
    the queue, oldest out (a FIFO in a non-trainable variable, saved with the model).
    Defaults are MoCo v2's: an MLP projector 2048 → 128, temperature 0.2, SimCLR-style
    views; the key momentum is constant at 0.99 (MoCo's 0.999 suits long ImageNet
    runs; 0.99 is lightly's choice for small data). Metrics: `loss`,
    `contrastive_accuracy` (the key is the most similar of queue + 1) and
    `representation_std`.

    Args:
        encoder: a `keras.Model` mapping images in [0, 255] to `(batch, features)`.
        augment: the view augmentation: a layer (applied twice), a `MultiView`, a
            preset name, or None for "simclr" at the encoder's input size.
        output_dim: the projection width.
        hidden_dim: the projector's hidden width.
        queue_size: the number of negative keys kept (MoCo: 65536; 4096 for CIFAR-size data).
        temperature: the InfoNCE temperature.
        momentum: the key network's EMA momentum (constant).
        **kwargs: passed to `keras.Model`.

    Example:

    ```python
    model = keras_ssl.pretext.get("moco", encoder, queue_size=4096)
    model.compile(optimizer=keras.optimizers.SGD(0.06, momentum=0.9))
    model.fit(unlabeled_images_dataset, epochs=10)
    ```
    """

    min_batch_size = 2
    monitor = "contrastive_accuracy"
    monitor_mode = "max"
    loss_name = "InfoNCE loss"

    def __init__(
        self,
        encoder,
        augment=None,
        output_dim: int = 128,
        hidden_dim: int = 2048,
        queue_size: int = 4096,
        temperature: float = 0.2,
        momentum: float = 0.99,
        **kwargs,
    ):
        super().__init__(
            encoder, momentum_start=momentum, momentum_end=momentum, total_steps=1, **kwargs
        )
        check(queue_size, PositiveInt, "queue_size")
        self.output_dim, self.hidden_dim = output_dim, hidden_dim
        self.queue_size, self.temperature, self.key_momentum = queue_size, temperature, momentum
        self.projector = moco_v2_projector(hidden_dim, output_dim)
        self.key_encoder = self.add_target(self.encoder)
        self.key_projector = self.add_target(self.projector)
        self.augment = resolve_augment(augment or "simclr", image_size=encoder_image_size(encoder))
        self.queue = self.add_weight(
            shape=(queue_size, output_dim),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=False,
            name="queue",
        )
        self.contrastive_accuracy = keras.metrics.SparseCategoricalAccuracy(
            name="contrastive_accuracy"
        )

    def enqueue(self, keys):
        """Puts `keys` (n, d) at the front of the queue; the n oldest keys leave it."""
        keys = ops.cast(keys, self.queue.dtype)
        self.queue.assign(ops.concatenate([keys, self.queue], axis=0)[: self.queue_size])

    def call(self, images, training=False):
        """Returns `{"q", "k"}` (2, N, d) and the queue read before this step's keys enter it."""
        if training:
            self.update_targets()
        images = self._prepare_images(images)
        views = [self._fit_to_encoder(v) for v in augmented_views(self.augment, images, 2)]
        queries, keys = [], []
        for view in views:
            queries.append(self.projector(self._encode(view, training), training=training))
            key = self.key_encoder(view, training=training)
            keys.append(self.target_forward(self.key_projector, key, training=training))
        queue = ops.copy(ops.convert_to_tensor(self.queue))  # this step's negatives
        if training:
            # Every replica's keys, so that the queue stays the same on all of them.
            self.enqueue(ops.concatenate([replicas.gather(k)[0] for k in keys], axis=0))
        return {"q": ops.stack(queries), "k": ops.stack(keys), "queue": queue}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        q, k, queue = y_pred["q"], y_pred["k"], y_pred["queue"]
        loss = 0.0
        for query, key in ((q[0], k[1]), (q[1], k[0])):
            logits, labels = info_nce_logits(query, key, queue, self.temperature)
            loss += 0.5 * ops.mean(
                ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
            )
            self.contrastive_accuracy.update_state(labels, logits)
        self.update_collapse_monitor(q[0])
        return self._finish_loss(loss)

    def get_config(self):
        config = super().get_config()
        for name in ("momentum_start", "momentum_end", "total_steps"):
            config.pop(name)
        return {
            **config,
            "augment": self._serialize(self.augment),
            "output_dim": self.output_dim,
            "hidden_dim": self.hidden_dim,
            "queue_size": self.queue_size,
            "temperature": self.temperature,
            "momentum": self.key_momentum,
        }
