"""`pretrain`: the library call learns, resumes after a kill, schedules its rate and checks its config."""

import csv
import math

import keras
import numpy as np
import pytest

from keras_ssl import encoders
from keras_ssl.config import ConfigError
from keras_ssl.pretext.rotation import RotationPrediction
from keras_ssl.pretext.training import PretrainConfig, build_optimizer, pretrain

SIZE = 16


def _images(count, seed=0):
    """Noisy images with a bright top edge and random rectangles: their rotation shows."""
    rng = np.random.default_rng(seed)
    images = rng.normal(90, 25, (count, SIZE, SIZE, 3))
    images[:, :3] += 120  # the top rows: upright is recognisable
    for image in images:
        row, col = rng.integers(3, SIZE - 4, 2)
        image[row : row + 4, col : col + 4] += rng.uniform(-60, 60, 3)
    return np.clip(images, 0, 255).astype("uint8")


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    encoder = encoders.small_cnn(input_shape=(SIZE, SIZE, 3), width=8, depth=2)
    return RotationPrediction(encoder, mode="all", seed=seed)


class KillAfterEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt("killed")


class EpochRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_pretraining_learns_and_watches_the_methods_validation_metric():
    model = _model()
    config = PretrainConfig(epochs=4, batch_size=32, learning_rate=3e-3, patience=10)
    history = pretrain(model, _images(256), config, val_images=_images(64, seed=1), verbose=0)
    losses = history.history["loss"]
    assert history.model is model and history.epoch == [0, 1, 2, 3]
    assert losses[-1] < 0.5 * losses[0], losses
    assert max(history.history["val_rotation_accuracy"]) > 0.5  # chance is 0.25
    assert len(history.history["val_rotation_accuracy"]) == 4
    # Compiled by `pretrain`, with the config's optimizer.
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(3e-3)


def test_model_selection_needs_validation_images():
    with pytest.raises(ValueError, match="pass `val_images`"):
        pretrain(_model(), _images(64), PretrainConfig(epochs=1, batch_size=32, patience=1))


def test_a_killed_pretraining_resumes_after_its_last_epoch(tmp_path, monkeypatch):
    import keras_ssl.data

    seeds, original = [], keras_ssl.data.pretraining_pipeline
    monkeypatch.setattr(
        keras_ssl.data,
        "pretraining_pipeline",
        lambda *args, **kwargs: seeds.append(kwargs.get("seed")) or original(*args, **kwargs),
    )
    images, config = _images(128), {"epochs": 3, "batch_size": 32}
    with pytest.raises(KeyboardInterrupt):
        pretrain(_model(), images, config, folder=tmp_path, seed=5, verbose=0,
                 callbacks=[KillAfterEpoch(0)])  # fmt: skip
    lines, recorder = [], EpochRecorder()
    model = _model()
    history = pretrain(
        model, images, config, folder=tmp_path, seed=5, verbose=0, callbacks=[recorder],
        log=lines.append,
    )  # fmt: skip
    assert lines == ["resuming pretraining after epoch 1/3 (checkpoint-epoch0001.weights.h5)"]
    assert recorder.epochs == [1, 2]  # epoch 1 (from 0) was committed before the kill
    assert seeds == [5, 6]  # the resumed run does not replay the first epoch's order
    assert history.epoch == [0, 1, 2] and len(history.history["loss"]) == 3
    with open(tmp_path / "log.csv", newline="") as file:
        assert [int(row["epoch"]) for row in csv.DictReader(file)] == [0, 1, 2]
    assert int(model.optimizer.iterations) == 3 * 128 // 32  # the first epoch's steps too
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint-epoch0003.weights.h5", "log.csv", "state.json",
    ]  # fmt: skip


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_the_warm_up_and_schedule_follow_the_formula(schedule):
    config = PretrainConfig(
        schedule=schedule, epochs=5, warmup_epochs=1, learning_rate=1e-3, clipnorm=3.0,
        weight_decay=1e-5, gradient_accumulation_steps=4,
    )  # fmt: skip
    optimizer = build_optimizer(config, steps_per_epoch=10)
    for step in (0, 5, 10, 20, 30, 50):
        if step <= 10:  # linear from 0 over the first epoch
            expected = 1e-3 * step / 10
        elif schedule == "cosine":  # then half a cosine to 0 over the other 40 steps
            expected = 0.5 * 1e-3 * (1 + math.cos(math.pi * (step - 10) / 40))
        else:
            expected = 1e-3
        optimizer._iterations.assign(step)  # the batch counter the schedule reads
        actual = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        assert actual == pytest.approx(expected, rel=1e-5, abs=1e-9), step
    assert optimizer.clipnorm == 3.0 and optimizer.weight_decay == 1e-5
    assert optimizer.gradient_accumulation_steps == 4
    constant = build_optimizer(PretrainConfig(learning_rate=0.1, optimizer="sgd"))
    assert isinstance(constant, keras.optimizers.SGD)
    assert float(constant.learning_rate) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="needs `steps_per_epoch`"):
        build_optimizer(config)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"epochs": 0}, "`epochs` must be an integer >= 1; got 0."),
        ({"batch_size": 1}, "`batch_size` must be an integer >= 2; got 1."),
        ({"learning_rate": 0}, "`learning_rate` must be a number > 0; got 0."),
        ({"patience": -1}, "`patience` must be an integer >= 0 or null; got -1."),
        ({"schedule": "step"},
         "Unknown schedule 'step' (`schedule`); expected one of: constant, cosine."),
        ({"optimizer": "adamm"},
         "Unknown optimizer 'adamm' (`optimizer`); use a Keras optimizer name such as "
         "'adam', 'adamw', 'sgd' or 'rmsprop'."),
        ({"warmup_epochs": 5, "epochs": 5},
         "`warmup_epochs` 5 leaves none of the 5 epochs after the warm-up; lower it."),
        ({"clipnorm": -1.0}, "`clipnorm` must be a number > 0 or null; got -1.0."),
        ({"gradient_accumulation_steps": 1},
         "`gradient_accumulation_steps` must be an integer >= 2 or null; got 1."),
        ({"method": "simclr"}, "Unknown key(s) 'method' in `the settings`; known keys: epochs,"),
    ],
)  # fmt: skip
def test_bad_settings_are_one_line_errors_naming_the_key(settings, message):
    with pytest.raises(ConfigError) as error:
        PretrainConfig(**settings)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_a_subclass_adds_fields_and_keeps_the_checks():
    class Spec(PretrainConfig):
        method: str = "simclr"
        max_images: int | None = None

    spec = Spec.validate_at({"method": "byol", "epochs": 3, "warmup_epochs": 2}, "pretrain")
    assert (spec.method, spec.epochs, spec.warmup_epochs) == ("byol", 3, 2)
    assert build_optimizer(spec, steps_per_epoch=4).learning_rate is not None
    with pytest.raises(ConfigError, match=r"^`pretrain.warmup_epochs` 3 leaves none of the 3 "):
        Spec.validate_at({"method": "byol", "epochs": 3, "warmup_epochs": 3}, "pretrain")
    with pytest.raises(ConfigError, match=r"^`pretrain.epochs` must be an integer >= 1; got 0"):
        Spec.validate_at({"epochs": 0, "warmup_epochs": 2}, "pretrain")
