"""DINO (Caron et al. 2021): self-distillation from a momentum teacher, with multi-crop."""

from __future__ import annotations

import keras
from keras import ops

from keras_ssl.augment import dino_views, group_by_size
from keras_ssl.heads import DINOHead
from keras_ssl.losses import dino_center_update, dino_loss
from keras_ssl.pretext import replicas
from keras_ssl.pretext.base import augmented_views, encoder_image_size, resolve_augment
from keras_ssl.pretext.momentum import MomentumPretextModel, check_step_count
from keras_ssl.pretext.registry import register


@register("dino")
@keras.saving.register_keras_serializable(package="keras_ssl")
class DINO(MomentumPretextModel):
    """DINO pretraining model: a student matches a momentum teacher's centred, sharpened output.

    Each image gives 2 global and `local_views` local crops (`keras_ssl.augment.dino_views`).
    The student (encoder → `DINOHead`) sees every view, the teacher (an exponential
    moving average of the student, momentum 0.996 → 1 on a cosine) only the global ones;
    the loss is the cross-entropy between the teacher's softmax of centred logits at
    temperature τ_t and the student's at τ_s = 0.1, over every (teacher view, other
    student view) pair (Caron et al. 2021, eq. 1-2; report 003 §III.B;
    `keras_ssl.losses.dino_loss`). τ_t warms up linearly from 0.04 to 0.07 over the
    first `teacher_temperature_warmup` of training; the centre, a non-trainable
    variable saved with the model, follows the teacher's mean output with momentum 0.9
    (eq. 4). Views of one size are encoded in one pass. Metrics: `loss` and
    `representation_std` (of the teacher's logits: collapse makes them constant).

    The original recipe also keeps the head's last layer fixed for the first epoch
    (done here: `freeze_last_layer_steps`) and trains with a learning-rate warm-up and
    per-weight gradient clipping at norm 3: those belong to the optimizer, e.g.
    `keras.optimizers.AdamW(keras.optimizers.schedules.CosineDecay(0, steps,
    warmup_target=5e-4, warmup_steps=warmup), weight_decay=0.04, clipnorm=3.0)`
    (Keras' `clipnorm` clips each weight's gradient on its own, as DINO does).

    Args:
        encoder: a `keras.Model` mapping images in [0, 255] to `(batch, features)`. An
            encoder with a fixed input size gets every crop resized to it; one that
            takes any size sees the local crops at their own size.
        augment: a `MultiView` (global views first), or None for `dino_views` at the
            encoder's input size (local crops at 3/7 of it, as 96 of 224).
        local_views: local crops per image (for the default views).
        output_dim: the head's output dimension K (65536 in the paper; smaller suits
            small data).
        hidden_dim: the head's MLP width.
        bottleneck_dim: the head's L2-normalised bottleneck.
        student_temperature: τ_s.
        teacher_temperature: τ_t after the warm-up.
        warmup_teacher_temperature: τ_t at the start.
        teacher_temperature_warmup: fraction of the training steps of the warm-up.
        center_momentum: the centre's EMA momentum.
        head_initializer: the head MLP's kernel initializer: "dino" (truncated normal,
            std 0.02, the paper's) or a Keras initializer name; with narrow encoder
            features (a few hundred dimensions or fewer) "glorot_uniform" keeps the
            head's outputs from starting out nearly identical for every image.
        head_batch_norm: BatchNorm in the head's hidden layers. False is the paper's ViT
            setting; lightly's CIFAR-10 benchmark uses True with ResNets, and with a
            convolutional encoder (non-negative, strongly correlated pooled features)
            it keeps the teacher's outputs from being nearly the same for every image,
            which centring turns into a uniform target.
        freeze_last_layer_steps: training steps during which no gradient reaches the
            head's last layer (Adam then leaves it unchanged; a decoupled weight decay
            still shrinks it). None: the first epoch of the `fit` call that starts
            training (0 when `fit` cannot tell the epoch's length).
        momentum_start, momentum_end, total_steps: the teacher's momentum schedule
            (`MomentumPretextModel`).
        **kwargs: passed to `keras.Model`.

    Example:

    ```python
    model = keras_ssl.pretext.get("dino", encoder, output_dim=4096, local_views=6)
    model.compile(optimizer=keras.optimizers.AdamW(5e-4, weight_decay=0.04))
    model.fit(unlabeled_images_dataset, epochs=100)
    ```
    """

    loss_name = "DINO cross-entropy"

    def __init__(
        self,
        encoder,
        augment=None,
        local_views: int = 6,
        output_dim: int = 65536,
        hidden_dim: int = 2048,
        bottleneck_dim: int = 256,
        student_temperature: float = 0.1,
        teacher_temperature: float = 0.07,
        warmup_teacher_temperature: float = 0.04,
        teacher_temperature_warmup: float = 0.3,
        center_momentum: float = 0.9,
        head_initializer: str = "dino",
        head_batch_norm: bool = False,
        freeze_last_layer_steps: int | None = None,
        momentum_start: float = 0.996,
        momentum_end: float = 1.0,
        total_steps: int | None = None,
        **kwargs,
    ):
        super().__init__(encoder, momentum_start, momentum_end, total_steps, **kwargs)
        self.local_views, self.output_dim = local_views, output_dim
        self.hidden_dim, self.bottleneck_dim = hidden_dim, bottleneck_dim
        self.student_temperature = student_temperature
        self.teacher_temperature = teacher_temperature
        self.warmup_teacher_temperature = warmup_teacher_temperature
        self.teacher_temperature_warmup = teacher_temperature_warmup
        self.center_momentum = center_momentum
        self.head_initializer, self.head_batch_norm = head_initializer, bool(head_batch_norm)
        check_step_count(freeze_last_layer_steps, "freeze_last_layer_steps", minimum=0)
        self.freeze_last_layer_steps = freeze_last_layer_steps
        self.head = DINOHead(
            output_dim,
            hidden_dim,
            bottleneck_dim,
            batch_norm=head_batch_norm,
            kernel_initializer=head_initializer,
        )
        self.teacher_encoder = self.add_target(self.encoder)
        self.teacher_head = self.add_target(self.head)
        size = encoder_image_size(self.encoder)
        if augment is None and size is not None:
            augment = dino_views(size[0], max(8, round(size[0] * 3 / 7)), local_views)
        self.augment = resolve_augment(augment, image_size=size)
        self.center = self.add_weight(
            shape=(output_dim,), initializer="zeros", trainable=False, name="center"
        )
        self.last_layer_frozen_steps = self.add_weight(
            shape=(),
            dtype="int32",
            initializer=keras.initializers.Constant(freeze_last_layer_steps or 0),
            trainable=False,
            name="last_layer_frozen_steps",
        )

    def current_teacher_temperature(self):
        """τ_t at this step: linear from the warm-up value to `teacher_temperature`."""
        warmup = ops.cast(self.momentum_total_steps, "float32") * self.teacher_temperature_warmup
        progress = ops.clip(
            ops.cast(self.momentum_step, "float32") / ops.maximum(warmup, 1.0), 0, 1
        )
        start, end = self.warmup_teacher_temperature, self.teacher_temperature
        return start + (end - start) * progress

    def last_layer_frozen(self):
        """Whether this step keeps the head's last layer fixed (a boolean scalar tensor).

        `update_targets` has already counted the step, so step k of training reads k + 1.
        """
        return self.momentum_step <= self.last_layer_frozen_steps

    def _student(self, views, training):
        """The student's logits of every view, one encoder pass per group of equal size."""
        outputs = [None] * len(views)
        frozen = self.last_layer_frozen() if training else False
        for indices, batch in group_by_size(views):
            features = self._encode(batch, training=training)
            logits = self.head(features, training=training, freeze_last_layer=frozen)
            for index, part in zip(indices, ops.split(logits, len(indices), axis=0)):
                outputs[index] = part
        return outputs

    def call(self, images, training=False):
        """Returns `{"student": (V, N, K), "teacher": (2, N, K)}` logits."""
        if training:
            self.update_targets()
        images = self._prepare_images(images)
        views = [self._fit_view(v) for v in augmented_views(self.augment, images, 2)]
        # The teacher runs in the student's mode, as in DINO (BatchNorm on batch statistics).
        teacher = [
            self.target_forward(
                self.teacher_head, self.teacher_encoder(v, training=training), training=training
            )
            for v in views[:2]
        ]
        return {"student": ops.stack(self._student(views, training)), "teacher": ops.stack(teacher)}

    def _fit_view(self, view):
        """A crop as the encoder takes it: resized only when the encoder has a fixed size."""
        return self._fit_to_encoder(view) if encoder_image_size(self.encoder) else view

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        student = [y_pred["student"][i] for i in range(y_pred["student"].shape[0])]
        teacher = [y_pred["teacher"][0], y_pred["teacher"][1]]
        temperatures = (self.student_temperature, self.current_teacher_temperature())
        loss = ops.mean(dino_loss(student, teacher, self.center, *temperatures))
        if training:
            # The mean over every replica's images, so that the centre stays the same on all.
            every = [replicas.gather(t)[0] for t in teacher]
            self.center.assign(dino_center_update(self.center, every, self.center_momentum))
        self.update_collapse_monitor(teacher[0])
        return self._finish_loss(loss)

    def get_config(self):
        return {
            **super().get_config(),
            "augment": self._serialize(self.augment),
            "local_views": self.local_views,
            "output_dim": self.output_dim,
            "hidden_dim": self.hidden_dim,
            "bottleneck_dim": self.bottleneck_dim,
            "student_temperature": self.student_temperature,
            "teacher_temperature": self.teacher_temperature,
            "warmup_teacher_temperature": self.warmup_teacher_temperature,
            "teacher_temperature_warmup": self.teacher_temperature_warmup,
            "center_momentum": self.center_momentum,
            "head_initializer": self.head_initializer,
            "head_batch_norm": self.head_batch_norm,
            "freeze_last_layer_steps": self.freeze_last_layer_steps,
        }

    def _fit_callbacks(self) -> list:
        """`fit` freezes the last layer for the first epoch by default."""
        freeze = [_FreezeLastLayerForFirstEpoch()] if self.freeze_last_layer_steps is None else []
        return super()._fit_callbacks() + freeze


class _FreezeLastLayerForFirstEpoch(keras.callbacks.Callback):
    """Sets `model.last_layer_frozen_steps` to the steps of one epoch when `fit` starts.

    Only on a fresh model (step counter 0): a resumed run keeps the value it saved.
    Data of unknown length freezes nothing (pass `freeze_last_layer_steps=`).
    """

    def on_train_begin(self, logs=None):
        if int(keras.ops.convert_to_numpy(self.model.momentum_step)) == 0:
            self.model.last_layer_frozen_steps.assign(int(self.params.get("steps") or 0))
