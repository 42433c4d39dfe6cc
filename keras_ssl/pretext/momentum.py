"""The shared part of momentum methods (BYOL, MoCo, DINO): EMA target copies of online modules.

A target module is an exponential moving average of its online module
(He et al. 2020, MoCo eq. 2; Grill et al. 2020, BYOL eq. 1):

    target <- m * target + (1 - m) * online,

with `m` raised from `momentum_start` to `momentum_end` on a cosine schedule over
training (BYOL sec. 3.2), as lightly's `update_momentum` + `cosine_schedule` do.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from keras_ssl.config import Count, PositiveInt, check
from keras_ssl.pretext.base import PretextModel


def cosine_schedule(step, total_steps, start: float, end: float):
    """Cosine ramp from `start` (step 0) to `end` (step `total_steps` and after), in `keras.ops`.

    `end - (end - start) * (cos(pi * step / total_steps) + 1) / 2`, lightly's
    `cosine_schedule`, with `step` clamped to `[0, total_steps]`.

    Args:
        step: the current step, a scalar tensor or number.
        total_steps: the step at which `end` is reached, > 0 (a tensor or number).
        start: the value at step 0.
        end: the value from `total_steps` on.

    Returns:
        A float32 scalar tensor.

    Example:

    >>> float(cosine_schedule(50, 100, 0.996, 1.0))  # halfway
    0.998
    """
    total = ops.maximum(ops.cast(total_steps, "float32"), 1.0)
    progress = ops.clip(ops.cast(step, "float32") / total, 0.0, 1.0)
    return end - (end - start) * (ops.cos(math.pi * progress) + 1.0) / 2.0


def check_step_count(value, name: str, minimum: int) -> None:
    """A number of steps: an integer >= `minimum` (0 or 1), or None.

    Raises:
        ValueError: naming the argument.
    """
    check(value, (Count if minimum == 0 else PositiveInt) | None, name)


def _clone(module: keras.layers.Layer) -> keras.layers.Layer:
    """A fresh, unshared copy of a module's architecture (weights are copied on the first step).

    `clone_model` for models (Functional and Sequential rebuilt layer by layer,
    subclassed ones through their config), `from_config(get_config())` for layers.
    """
    try:
        if isinstance(module, keras.Model):
            return keras.models.clone_model(module)
        return module.__class__.from_config(module.get_config())
    except (NotImplementedError, TypeError, ValueError) as error:
        raise ValueError(
            f"Cannot make a target copy of {module.name!r} ({type(module).__name__}): "
            f"{error} Give the class a `get_config`, or build the module with the Functional API."
        ) from error


class MomentumPretextModel(PretextModel):
    """Base of momentum methods: owns target (EMA) copies of online modules and updates them.

    A subclass makes its online modules, then one target per module with
    `add_target(module)`, and in `call` runs `self.update_targets()` first when
    training and passes target outputs through `ops.stop_gradient` (`target_forward`
    does both the call and the stop-gradient). Like lightly, the update comes at the
    start of each training step, so it uses the online weights after the previous
    optimizer step.

    What the targets hold:
    - Target variables are in `non_trainable_variables`: the optimizer never sees
      them, no gradient reaches them, and Keras' JAX trainer carries their new
      values out of its stateless step like BatchNormalization's moving statistics.
      The target layers themselves stay `trainable`, so a BatchNormalization in a
      target called with `training=True` normalises with batch statistics, as the
      momentum networks of BYOL / MoCo (in train mode in lightly) do.
    - Every weight is averaged, BatchNormalization's moving statistics included:
      they are statistics of the online features, and averaging them with the
      weights keeps a target that is later run in inference mode (a DINO teacher,
      a kNN on the target) consistent with its averaged weights. A target called in
      training mode also moves its own statistics towards its batch, as Keras'
      BatchNormalization does in `call`.
    - On the first training step (counter 0) the momentum is 0: the targets become
      exact copies of the online modules, whenever those were built.

    The step counter `momentum_step` is a non-trainable int32 variable of the model:
    it is saved in `.keras` files and checkpoints, so a resumed run continues the
    schedule. `optimizer.iterations` would not do: inside JAX's stateless, traced
    train step a variable read outside the step's state is a trace-time constant,
    so the momentum would stay at its first value.

    Args:
        encoder: the online encoder, as for `PretextModel`.
        momentum_start: `m` at step 0 (BYOL's 0.996).
        momentum_end: `m` from `total_steps` on (1.0).
        total_steps: training steps of the schedule. None: `fit` sets it to
            `epochs * steps_per_epoch` of the run (pass it when training over several
            `fit` calls, or when the number of steps per epoch is unknown). It is
            stored in the variable `momentum_total_steps`, so it is saved too.
        **kwargs: passed to `PretextModel`.
    """

    def __init__(
        self,
        encoder,
        momentum_start: float = 0.996,
        momentum_end: float = 1.0,
        total_steps: int | None = None,
        **kwargs,
    ):
        super().__init__(encoder, **kwargs)
        for name, value in (("momentum_start", momentum_start), ("momentum_end", momentum_end)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"`{name}` must be in [0, 1]; got {value!r}.")
        check_step_count(total_steps, "total_steps", minimum=1)
        self.momentum_start = float(momentum_start)
        self.momentum_end = float(momentum_end)
        self.total_steps = total_steps
        self._momentum_pairs: list[tuple[keras.layers.Layer, keras.layers.Layer]] = []
        self.momentum_step = self.add_weight(
            shape=(), dtype="int32", initializer="zeros", trainable=False, name="momentum_step"
        )
        self.momentum_total_steps = self.add_weight(
            shape=(),
            dtype="int32",
            initializer=keras.initializers.Constant(total_steps or 0),
            trainable=False,
            name="momentum_total_steps",
        )

    def add_target(self, online: keras.layers.Layer) -> keras.layers.Layer:
        """Makes the EMA target copy of an online module; assign it to an attribute.

        Args:
            online: a module of the model (the encoder, a projection head, …).

        Returns:
            The target copy: same architecture, its own variables.
        """
        target = _clone(online)
        self._momentum_pairs.append((online, target))
        return target

    def target_forward(self, target: keras.layers.Layer, inputs, training=False):
        """Runs a target module and stops the gradient at its output."""
        return ops.stop_gradient(target(inputs, training=training))

    def momentum(self):
        """The current EMA momentum `m` (0 on the very first step: targets start as copies)."""
        m = cosine_schedule(
            self.momentum_step, self.momentum_total_steps, self.momentum_start, self.momentum_end
        )
        return ops.where(self.momentum_step == 0, 0.0, m)

    def update_targets(self):
        """`target = m * target + (1 - m) * online` for every weight, then counts the step.

        Call it at the start of `call(training=True)`. Each variable gets a freshly
        computed value, never an array shared with another variable, so JAX may
        donate the step's state buffers.
        """
        m = self.momentum()
        for online, target in self._momentum_pairs:
            for online_weight, target_weight in zip(online.weights, target.weights, strict=True):
                value = m * ops.cast(target_weight, "float32") + (1.0 - m) * ops.cast(
                    online_weight, "float32"
                )
                target_weight.assign(ops.cast(value, target_weight.dtype))
        self.momentum_step.assign(self.momentum_step + 1)

    def _target_variable_ids(self) -> set[int]:
        return {id(v) for _, target in self._momentum_pairs for v in target.weights}

    # Targets stay `trainable` layers (see the class docstring); their variables are
    # moved from the trainable to the non-trainable lists here.
    @property
    def trainable_variables(self):
        targets = self._target_variable_ids()
        return [v for v in super().trainable_variables if id(v) not in targets]

    @property
    def non_trainable_variables(self):
        targets = self._target_variable_ids()
        moved = [v for v in super().trainable_variables if id(v) in targets]
        return super().non_trainable_variables + moved

    @property
    def trainable_weights(self):
        targets = self._target_variable_ids()
        return [v for v in super().trainable_weights if id(v) not in targets]

    @property
    def non_trainable_weights(self):
        targets = self._target_variable_ids()
        moved = [v for v in super().trainable_weights if id(v) in targets]
        return super().non_trainable_weights + moved

    def _fit_callbacks(self) -> list:
        """`fit` sets `total_steps` from the run when it was not given."""
        return super()._fit_callbacks() + ([_SetTotalSteps()] if self.total_steps is None else [])

    def get_config(self):
        return {
            **super().get_config(),
            "momentum_start": self.momentum_start,
            "momentum_end": self.momentum_end,
            "total_steps": self.total_steps,
        }


class _SetTotalSteps(keras.callbacks.Callback):
    """Sets `model.momentum_total_steps` to `epochs * steps_per_epoch` when `fit` starts.

    Assigned before the first step, so every backend's train step reads it from the
    model's state (JAX reads the state from the variables at each epoch's start).
    """

    def on_train_begin(self, logs=None):
        steps, epochs = self.params.get("steps"), self.params.get("epochs")
        if not steps:
            raise ValueError(
                f"{type(self.model).__name__} needs `total_steps` for its momentum schedule, "
                "and `fit` cannot tell the number of steps per epoch of this data. Pass "
                "`total_steps=` to the constructor, or `steps_per_epoch=` to `fit`."
            )
        self.model.momentum_total_steps.assign(int(steps) * int(epochs))
