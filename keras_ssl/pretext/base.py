"""What every pretext model shares: an encoder, input checks, serialisation, NaN guard.

A pretext model is a `keras.Model` whose `call` makes the pretext inputs on the
device (augmented views, rotations, …) and returns what its `compute_loss` needs;
`compute_loss` returns the pretext loss and updates the model's metrics. Keras'
own `train_step` / `test_step` of every backend call exactly these two methods, so
a method written this way needs no backend-specific code.
"""

from __future__ import annotations

import contextlib
import warnings

import keras
from keras import ops

from keras_ssl.augment import get as get_augment
from keras_ssl.callbacks import StopOnNaN
from keras_ssl.encoders import encoder_input_shape
from keras_ssl.losses import l2_normalize
from keras_ssl.pretext._batches import first_float_batch, full_batches, is_array
from keras_ssl.utils import check_image_batch, check_image_values, unit_range_message


def resolve_augment(augment, image_size):
    """Turns a preset name, a layer or None into an augmentation layer (or None)."""
    if augment is None:
        return augment
    if isinstance(augment, keras.layers.Layer):
        _check_backend_support(augment)
        return augment
    if isinstance(augment, str):
        if image_size is None:
            raise ValueError(
                f"The augmentation preset {augment!r} needs an image size, but the encoder does "
                "not declare a fixed input shape (e.g. a subclassed keras.Model). Pass a layer, "
                f"e.g. `augment=keras_ssl.augment.get({augment!r}, image_size=96)`."
            )
        if image_size[0] != image_size[1]:
            raise ValueError(
                f"Augmentation presets make square images, but the encoder takes {image_size}; "
                "pass an augmentation layer that outputs that size as `augment=`."
            )
        return get_augment(augment, image_size=image_size[0])
    if isinstance(augment, dict):
        return keras.saving.deserialize_keras_object(augment)
    raise ValueError(
        "`augment` must be a Keras layer, a preset name such as 'simclr', or None; "
        f"got {augment!r}."
    )


def _check_backend_support(augment: keras.layers.Layer) -> None:
    """keras_cv's layers run TensorFlow ops inside `call`: they cannot run in a JAX step."""
    if keras.backend.backend() == "tensorflow":
        return
    for layer in augment._flatten_layers():
        if type(layer).__module__.startswith("keras_cv."):
            raise ValueError(
                f"The augmentation layer {layer.name!r} ({type(layer).__name__}) comes from "
                "keras_cv, whose layers run TensorFlow ops and work only with "
                f"KERAS_BACKEND=tensorflow; the backend is {keras.backend.backend()!r}. Use "
                "keras_ssl.augment layers or keras.layers.Random* layers, which run on every "
                "backend, or set KERAS_BACKEND=tensorflow."
            )


def augmented_views(augment, images, count: int = 2) -> list:
    """The views of a batch: a `MultiView`'s list, or `count` draws of one augmentation.

    Views are always augmented (`training=True`): they define the pretext task, in
    evaluation too.
    """
    views = augment(images, training=True)
    if isinstance(views, (list, tuple)):
        return list(views)
    return [views, *(augment(images, training=True) for _ in range(count - 1))]


def encoder_image_size(encoder: keras.Model):
    """The (height, width) an encoder expects, or None if it takes any size."""
    shape = encoder_input_shape(encoder)
    if shape is None or None in shape[:2]:
        return None
    return int(shape[0]), int(shape[1])


def representation_std(embeddings):
    """Mean over dimensions of the per-dimension std of L2-normalised embeddings: a collapse gauge.

    Chen & He 2021 (SimSiam, sec. 4.1), lightly's `std_of_l2_normalized`: 0 when all
    embeddings collapse to one vector, about `1 / sqrt(dim)` when they spread like an
    isotropic Gaussian. The std is the population one (lightly's is unbiased, larger
    by `sqrt(n / (n - 1))`). No gradient flows through it.

    Args:
        embeddings: a `(batch, dim)` tensor.

    Returns:
        A float32 scalar tensor.
    """
    z = ops.stop_gradient(ops.cast(embeddings, "float32"))
    z = l2_normalize(z, epsilon=1e-24)  # norms floored at 1e-12
    return ops.mean(ops.std(z, axis=0))


class PretextModel(keras.Model):
    """Base class of the pretext models (SimCLR, RotationPrediction, …).

    Subclasses implement `call` (make the pretext inputs and outputs) and
    `compute_loss` (return the loss, update metrics), and list their constructor
    arguments in `get_config`.

    Class attributes every subclass sets: `monitor` (the logged metric that says
    how well the pretext task is solved, e.g. "contrastive_accuracy"),
    `monitor_mode` ("max" or "min"), `loss_name` (a label for plots) and
    `config_exclude` (constructor arguments that take layers, left out of
    `keras_ssl.pretext.method_arguments`). A method file registers its class with
    `@keras_ssl.pretext.register("name")`.

    Class attributes a subclass sets when its task depends on the batch:
    `min_batch_size` (the smallest batch the task is defined on; smaller batches
    raise, in graph mode too) and `needs_full_batches` (`fit` and `evaluate` drop a
    short last batch, see `fit`).

    Args:
        encoder: a `keras.Model` mapping images in [0, 255] to `(batch, features)`.
        **kwargs: passed to `keras.Model`.
    """

    min_batch_size = 1
    needs_full_batches = False
    # The metric, as `fit` logs it, that says how well the pretext task is solved, and
    # whether larger is better; what the loss is called in plots; the constructor
    # arguments that take objects (layers) and so cannot come from a config file.
    monitor = "loss"
    monitor_mode = "min"
    loss_name = "pretext loss"
    config_exclude: tuple[str, ...] = ()
    _min_batch_reason = ""

    def __init__(self, encoder, **kwargs):
        super().__init__(**kwargs)
        if isinstance(encoder, dict):
            encoder = keras.saving.deserialize_keras_object(encoder)
        if not isinstance(encoder, keras.layers.Layer):
            raise ValueError(
                f"`encoder` must be a keras.Model mapping images to feature vectors; got {encoder!r}."
            )
        self.encoder = encoder
        self.representation_std = keras.metrics.Mean(name="representation_std")

    def update_collapse_monitor(self, embeddings):
        """Adds a batch to the `representation_std` metric; subclasses call it in `compute_loss`.

        Args:
            embeddings: `(batch, dim)` representations the pretext loss is computed on
                (projections, encoder features, …).
        """
        self.representation_std.update_state(representation_std(embeddings))

    def _prepare_images(self, images):
        """Checks a batch of images and casts it to float32 in [0, 255]."""
        check_image_batch(images, where=f"{self.__class__.__name__} input")
        return self._check_batch_size(ops.cast(images, "float32"))

    def _check_batch_size(self, images):
        """Refuses a batch smaller than `min_batch_size`, at trace time or at run time."""
        size = images.shape[0]
        if size is not None:
            if size < self.min_batch_size:
                raise ValueError(self._batch_too_small(f"a batch of {size}"))
            return images
        if (
            self.min_batch_size > 1
            and keras.backend.backend() == "tensorflow"
            and not keras.backend.is_keras_tensor(images)
        ):
            # TensorFlow traces `fit` with an unknown batch size: only the graph can tell.
            from keras_ssl.pretext._tensorflow import assert_min_batch_size

            message = self._batch_too_small("a smaller one")
            return assert_min_batch_size(images, self.min_batch_size, message)
        return images

    def _batch_too_small(self, got: str) -> str:
        return (
            f"{self.__class__.__name__} needs at least {self.min_batch_size} images per batch "
            f"({self._min_batch_reason}); got {got}. Use a larger batch size; a short last "
            "batch is dropped from arrays and tf.data datasets by `fit`, or batch with "
            "`drop_remainder=True`."
        )

    def _fit_to_encoder(self, images):
        """Resizes images to the encoder's input size when it has a fixed one (e.g. 32 → 96)."""
        size = encoder_image_size(self.encoder)
        if size is None or tuple(images.shape[1:3]) == size:
            return images
        return ops.image.resize(images, size, interpolation="bilinear")

    def _finish_loss(self, loss):
        """What `compute_loss` returns: the pretext loss plus any losses the layers added
        (weight regularizers, ...), divided by the replicas of a `tf.distribute` step
        (`keras_ssl.pretext.replicas.scale_loss`), as Keras' own losses are."""
        from keras_ssl.pretext import replicas

        return replicas.scale_loss(loss + ops.sum(self.losses) if self.losses else loss)

    def _encode(self, images, training):
        features = self.encoder(images, training=training)
        if len(features.shape) != 2:
            raise ValueError(
                "The encoder must return one feature vector per image, shape (batch, features); "
                f"got shape {tuple(features.shape)}. Add global pooling, e.g. "
                "`keras.applications.ResNet50(include_top=False, pooling='avg')` or a "
                "`keras.layers.GlobalAveragePooling2D()` at the end of the encoder."
            )
        return features

    def compile(self, optimizer="adam", **kwargs):
        """Configures the model for pretraining.

        Args:
            optimizer: a Keras optimizer or its name.
            **kwargs: other `keras.Model.compile` arguments (`steps_per_execution`,
                `jit_compile`, …). `loss` and `metrics` are not accepted: the pretext
                model defines its own loss and metrics.
        """
        for reserved in ("loss", "metrics", "loss_weights", "weighted_metrics"):
            if kwargs.get(reserved) is not None:
                raise ValueError(
                    f"{self.__class__.__name__} defines its own loss and metrics; "
                    f"remove `{reserved}=` from compile()."
                )
            kwargs.pop(reserved, None)
        super().compile(optimizer=optimizer, **kwargs)

    def compile_from_config(self, config):
        """Re-compiles a loaded model, so `.keras` files resume with their optimizer state."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(
            **{
                k: v
                for k, v in config.items()
                if k not in ("loss", "metrics", "loss_weights", "weighted_metrics")
            }
        )
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        sample_weight=None,
        validation_batch_size=None,
        **kwargs,
    ):
        """`keras.Model.fit`, guarded against NaN losses and, where the task needs it, short batches.

        - `StopOnNaN` is put first among the callbacks, unless a NaN callback is
          already given, so that training stops with `NaNLossError` before any other
          callback saves a model with NaN weights.
        - When the task depends on the batch (`needs_full_batches`, e.g. SimCLR), every
          batch of an epoch is as large as the first: the images of arrays that do not
          fill a last batch are left out (different ones every epoch when shuffling),
          and a `tf.data.Dataset` whose batch size is not fixed skips its short
          batches; a warning says so once. The same holds for `validation_data` and
          `validation_split`. `PyDataset`s and generators are used as they are.
        - Float images with NaN or infinite values raise `ValueError` before training,
          and float images with no value above 1.0 (scaled to [0, 1], not [0, 255])
          warn once per model. Arrays are checked whole (`x` and `validation_data`), a
          `tf.data.Dataset` of float images by its first batch; generators and
          `PyDataset`s are not read ahead: for them `StopOnNaN` stops training once
          the weights become non-finite.

        Arguments are those of `keras.Model.fit`.
        """
        self._check_pixel_values(x, "")
        if isinstance(validation_data, (tuple, list)) and validation_data:
            self._check_pixel_values(validation_data[0], " (validation_data)")
        elif validation_data is not None:
            self._check_pixel_values(validation_data, " (validation_data)")
        callbacks = list(callbacks or []) + self._fit_callbacks()
        if not any(isinstance(c, (StopOnNaN, keras.callbacks.TerminateOnNaN)) for c in callbacks):
            callbacks.insert(0, StopOnNaN())
        self._create_variables()
        data = dict(x=x, y=y, sample_weight=sample_weight, batch_size=batch_size, shuffle=shuffle)
        if self.needs_full_batches:
            if validation_split and is_array(x):
                data, validation_data = _split_arrays(data, validation_split)
                validation_split = 0.0
            if validation_data is not None:
                validation_data = self._full_validation_batches(
                    validation_data, validation_batch_size or batch_size
                )
                validation_batch_size = None
            data = full_batches(self, **data)
        return super().fit(
            epochs=epochs,
            verbose=verbose,
            callbacks=callbacks,
            validation_split=validation_split,
            validation_data=validation_data,
            validation_batch_size=validation_batch_size,
            **data,
            **kwargs,
        )

    def _check_pixel_values(self, x, which: str) -> None:
        """Refuses NaN/inf pixels and warns once for [0, 1] images (see `fit`)."""
        where = f"{self.__class__.__name__}.fit{which}"
        images = x if is_array(x) else first_float_batch(x)
        if images is None:
            return
        if not is_array(x):
            where += ", in the first batch of the dataset,"
        if check_image_values(images, where) and not getattr(self, "_warned_unit_range", False):
            self._warned_unit_range = True
            warnings.warn(unit_range_message(where), stacklevel=3)

    def _fit_callbacks(self) -> list:
        """Callbacks the method adds to every `fit`, after the caller's (none here)."""
        return []

    def evaluate(self, x=None, y=None, batch_size=None, sample_weight=None, **kwargs):
        """`keras.Model.evaluate`, without short batches where the task needs it (see `fit`)."""
        data = dict(x=x, y=y, sample_weight=sample_weight, batch_size=batch_size)
        if self.needs_full_batches:
            data = full_batches(self, **data, shuffle=False)
            del data["shuffle"]
        return super().evaluate(**data, **kwargs)

    def _full_validation_batches(self, validation_data, batch_size):
        parts = validation_data if isinstance(validation_data, (tuple, list)) else [validation_data]
        data = full_batches(self, *parts, batch_size=batch_size, shuffle=False)
        if data["y"] is None and data["sample_weight"] is None:
            return data["x"]
        return data["x"], data["y"], data["sample_weight"]

    def _create_variables(self):
        """Creates the model's and the optimizer's variables before `fit` traces its step.

        Keras' TensorFlow trainer creates them inside the first trace of the training
        step, and a `tf.function` whose first trace creates variables is traced again:
        the whole step (forward, backward, optimizer) twice, about half of the time to
        the first finished step (`benchmarks/startup.py`). The other backends build
        them before tracing already. Encoders without a fixed input size are left to Keras.
        """
        size = encoder_image_size(self.encoder)
        # A model made in a `tf.distribute` strategy's scope keeps the strategy: its
        # variables must be made in that scope too, also when `fit` is called outside.
        strategy = getattr(self, "_distribute_strategy", None)
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            if not self.built and size is not None:
                self(keras.KerasTensor((None, *size, 3), dtype="float32"))  # no compute
            if self.built and self.optimizer is not None and not self.optimizer.built:
                self.optimizer.build(self.trainable_variables)

    @staticmethod
    def _serialize(obj):
        return None if obj is None else keras.saving.serialize_keras_object(obj)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": self._serialize(self.encoder),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key, value in config.items():
            if isinstance(value, dict) and "class_name" in value:
                config[key] = keras.saving.deserialize_keras_object(value)
        return cls(**config)


def _split_arrays(data: dict, validation_split: float):
    """Keras' `validation_split` on arrays: the last fraction, before any shuffling."""
    count = len(data["x"])
    split = int(count * (1.0 - validation_split))
    names = [name for name in ("x", "y", "sample_weight") if data[name] is not None]
    validation = tuple(data[name][split:] for name in names)
    return {**data, **{name: data[name][:split] for name in names}}, validation
