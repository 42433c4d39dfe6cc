"""Rotation prediction (Gidaris et al. 2018): predict which of 0/90/180/270° was applied."""

from __future__ import annotations

import keras
from keras import ops

from keras_ssl.heads import rotation_head
from keras_ssl.pretext.base import PretextModel, encoder_image_size, resolve_augment
from keras_ssl.pretext.registry import register

_MODES = ("all", "random")


@register("rotation")
@keras.saving.register_keras_serializable(package="keras_ssl")
class RotationPrediction(PretextModel):
    """Rotation pretext model: the encoder learns to tell how an image was rotated.

    Each image is rotated on the device by 0°, 90°, 180° and 270° (`mode="all"`,
    4N images per step, as in Gidaris et al.) or by one rotation drawn per image
    (`mode="random"`, N images, as in the rotation report 001); a head predicts the
    rotation. Loss: softmax cross-entropy; metrics: `loss`, `rotation_accuracy`,
    `representation_std` of the encoder features.
    Images must be square, so that every rotation keeps the shape.

    Args:
        encoder: a `keras.Model` mapping images in [0, 255] to `(batch, features)`.
        head: classifier over the 4 rotations, outputting logits; None builds
            `keras_ssl.heads.rotation_head(hidden_dim=head_units)` (Dense 128 ReLU →
            Dense 4 by default).
        augment: augmentation applied before rotating (a layer, a preset name such
            as "rotation", or None for none). Avoid vertical flips: they turn one
            rotation into another.
        mode: "all" or "random" (see above).
        seed: seed of the per-image rotation draw in "random" mode.
        head_units: width of the hidden ReLU layer of the head built when `head` is
            None; None for a linear head.
        **kwargs: passed to `keras.Model`.

    Example:

    ```python
    model = keras_ssl.RotationPrediction(keras_ssl.encoders.mobilenet_v2((64, 64, 3)))
    model.compile(optimizer="adam")
    model.fit(unlabeled_images_dataset, epochs=10)
    ```
    """

    monitor = "rotation_accuracy"
    monitor_mode = "max"
    loss_name = "rotation cross-entropy"
    config_exclude = ("head",)

    def __init__(
        self,
        encoder,
        head=None,
        augment=None,
        mode: str = "all",
        seed: int | None = None,
        head_units: int | None = 128,
        **kwargs,
    ):
        super().__init__(encoder, **kwargs)
        if mode not in _MODES:
            raise ValueError(f"`mode` must be one of {_MODES}; got {mode!r}.")
        self.mode = mode
        self.seed = seed
        self.head_units = head_units
        self.head = rotation_head(hidden_dim=head_units) if head is None else head
        self.augment = resolve_augment(augment, image_size=encoder_image_size(self.encoder))
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.rotation_accuracy = keras.metrics.SparseCategoricalAccuracy(name="rotation_accuracy")

    def make_rotations(self, images):
        """Rotated images and their rotation labels (0: 0°, 1: 90°, 2: 180°, 3: 270° counter-clockwise)."""
        images = self._prepare_images(images)
        if self.augment is not None:
            images = self.augment(images, training=True)
        height, width = images.shape[1], images.shape[2]
        if height is not None and width is not None and height != width:
            raise ValueError(
                f"RotationPrediction needs square images so that rotations keep the shape; got "
                f"{height}x{width}. Crop or resize to a square first (e.g. in the augmentation)."
            )
        rotations = [ops.rot90(images, k=k, axes=(1, 2)) for k in range(4)]
        batch_size = ops.shape(images)[0]
        if self.mode == "all":
            labels = ops.repeat(ops.arange(4, dtype="int32"), batch_size)
            return self._fit_to_encoder(ops.concatenate(rotations, axis=0)), labels
        labels = keras.random.randint((batch_size,), 0, 4, seed=self.seed_generator, dtype="int32")
        choice = ops.one_hot(labels, 4, dtype=images.dtype)[:, :, None, None, None]
        rotated = ops.sum(ops.stack(rotations, axis=1) * choice, axis=1)
        return self._fit_to_encoder(rotated), labels

    def call(self, images, training=False):
        """Returns `{"logits": (M, 4), "labels": (M,), "features": (M, dim)}` for M rotated images."""
        rotated, labels = self.make_rotations(images)
        features = self._encode(rotated, training=training)
        logits = self.head(features, training=training)
        return {"logits": logits, "labels": labels, "features": features}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        logits, labels = y_pred["logits"], y_pred["labels"]
        loss = ops.mean(
            ops.sparse_categorical_crossentropy(
                labels, ops.cast(logits, "float32"), from_logits=True
            )
        )
        self.rotation_accuracy.update_state(labels, logits)
        if "features" in y_pred:
            self.update_collapse_monitor(y_pred["features"])
        return self._finish_loss(loss)

    def get_config(self):
        return {
            **super().get_config(),
            "head": self._serialize(self.head),
            "augment": self._serialize(self.augment),
            "mode": self.mode,
            "seed": self.seed,
            "head_units": self.head_units,
        }
