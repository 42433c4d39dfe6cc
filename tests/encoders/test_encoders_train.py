"""Every encoder trains: SimCLR under `fit` lowers the loss, every method runs on a
transformer, fine-tuning freezes by named points, mixed precision and JAX work."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_ssl import augment, encoders, finetune, pretext

TINY_VIT = {"patch_size": 8, "width": 32, "depth": 1, "num_heads": 2, "mlp_dim": 64}
TINY_PIT = {"patch_size": 8, "stride": 4, "head_dim": 8, "depths": (1, 1), "num_heads": (2, 4)}
SMALL_HEADS = {
    "simclr": {"projection_dims": [32, 16]},
    "rotation": {"head_units": 32},
    "simsiam": {"output_dim": 32, "hidden_dim": 16},
    "byol": {"output_dim": 16, "hidden_dim": 32},
    "moco": {"output_dim": 16, "hidden_dim": 32, "queue_size": 64},
    "dino": {"output_dim": 32, "hidden_dim": 32, "bottleneck_dim": 16, "local_views": 2},
}


# An encoder that takes any size declares none, so its views are given explicitly.
VIEWS = {
    "simclr": lambda: augment.get("simclr", image_size=32),
    "rotation": lambda: None,
    "simsiam": lambda: augment.get("simclr", image_size=32),
    "byol": lambda: augment.byol_views(32),
    "moco": lambda: augment.get("simclr", image_size=32),
    "dino": lambda: augment.dino_views(32, 16, 2),
}


class BatchLosses(keras.callbacks.Callback):
    """The loss after every step (Keras logs the running mean over the epoch)."""

    def on_train_begin(self, logs=None):
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))


def _images(count=16, size=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3)).astype("uint8")


KERAS_APPLICATIONS = ("resnet50", "efficientnet_b0")
ENCODERS = {
    "resnet18": lambda: encoders.resnet18(input_shape=(32, 32, 3)),
    "resnet50": lambda: encoders.resnet50(input_shape=(32, 32, 3)),
    "efficientnet_b0": lambda: encoders.efficientnet_b0(input_shape=(32, 32, 3)),
    "vit": lambda: encoders.vision_transformer((32, 32, 3), **TINY_VIT),
    "pit": lambda: encoders.pooling_transformer((32, 32, 3), **TINY_PIT),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ENCODERS))
def test_simclr_steps_lower_the_loss(name):
    """`fit` on one repeated batch: the gradients reach the encoder and help.

    Without augmentation the two views are equal and the loss falls as the encoder
    spreads the 16 images apart (running means over 5 steps). The two
    keras.applications networks run eagerly: tracing their step costs a minute here,
    and graph mode is what the other encoders' runs check.
    """
    keras.utils.set_random_seed(0)
    model = pretext.get("simclr", ENCODERS[name](), augment="none", **SMALL_HEADS["simclr"])
    # ResNet-50's 53 BatchNorms on batches of 16 overshoot at Adam 1e-3 (loss up after
    # 3 steps); 1e-4 falls steadily.
    model.compile(
        optimizer=keras.optimizers.Adam(1e-4 if name == "resnet50" else 1e-3),
        run_eagerly=name in KERAS_APPLICATIONS,
    )
    losses = BatchLosses()
    images = np.tile(_images(), (5, 1, 1, 1))
    model.fit(images, batch_size=16, shuffle=False, verbose=0, callbacks=[losses])
    assert all(np.isfinite(losses.losses)), losses.losses
    assert losses.losses[-1] < losses.losses[0], losses.losses


@pytest.mark.parametrize("method", pretext.available())
def test_every_method_trains_an_any_size_vision_transformer(method):
    """Custom layers clone (momentum targets), DINO's local crops keep their own size.

    BYOL (a momentum method: cloned transformer layers) and DINO (crops of two sizes
    through position interpolation) run in graph mode; the others, whose steps use
    the encoder as SimCLR's does, eagerly to keep the suite short.
    """
    assert set(SMALL_HEADS) == set(pretext.available())
    keras.utils.set_random_seed(0)
    encoder = encoders.vision_transformer((None, None, 3), grid_size=(4, 4), **TINY_VIT)
    model = pretext.get(method, encoder, augment=VIEWS[method](), **SMALL_HEADS[method])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), run_eagerly=method not in ("byol", "dino"))
    history = model.fit(_images(32), batch_size=16, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][-1]), history


@pytest.mark.parametrize("name, point", [("vit", "block_0"), ("pit", "stage_0")])
def test_fine_tuning_freezes_by_named_points(name, point):
    encoder = ENCODERS[name]()
    frozen = finetune.resolve_freeze(encoder, point)  # found by the default model name
    model = finetune.classifier(encoder, num_classes=3, freeze_first=frozen)
    layers = finetune.countable_layers(model.get_layer(encoder.name))
    assert all(not layer.trainable for layer in layers[:frozen] if layer.weights)
    assert all(layer.trainable for layer in layers[frozen:] if layer.weights)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    frozen_before = [
        keras.ops.convert_to_numpy(w) for layer in layers[:frozen] for w in layer.weights
    ]
    model.fit(_images(8), np.arange(8) % 3, batch_size=4, epochs=1, verbose=0)
    frozen_after = [
        keras.ops.convert_to_numpy(w) for layer in layers[:frozen] for w in layer.weights
    ]
    for before, after in zip(frozen_before, frozen_after):
        np.testing.assert_array_equal(before, after)


def test_mixed_precision_keeps_the_loss_float32_and_finite():
    """The transformer layers under mixed_float16: float16 features, float32 finite loss."""
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(0)
        encoder = ENCODERS["vit"]()
        assert keras.backend.standardize_dtype(encoder(_images(2)).dtype) == "float16"
        model = pretext.get("simclr", encoder, augment="none", **SMALL_HEADS["simclr"])
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        history = model.fit(_images(32), batch_size=16, verbose=0).history
        assert np.isfinite(history["loss"][-1]), history
        views = model(_images(4), training=False)
        loss = model.compute_loss(x=_images(4), y=None, y_pred=views, training=False)
        assert keras.backend.standardize_dtype(loss.dtype) == "float32"
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


JAX_SCRIPT = textwrap.dedent(
    """
    import keras, numpy as np
    from keras_ssl import encoders, pretext
    images = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3)).astype("uint8")
    builds = {{
        "vit": lambda: encoders.vision_transformer((32, 32, 3), **{tiny_vit}),
        "pit": lambda: encoders.pooling_transformer((32, 32, 3), **{tiny_pit}),
    }}
    for name, build in builds.items():
        keras.utils.set_random_seed(0)
        encoder = build()
        model = pretext.get("simclr", encoder, projection_dims=[32, 16])
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        before = [keras.ops.convert_to_numpy(w) for w in encoder.trainable_weights]
        history = model.fit(images, batch_size=8, epochs=1, verbose=0).history
        after = [keras.ops.convert_to_numpy(w) for w in encoder.trainable_weights]
        assert np.isfinite(history["loss"][-1]), history
        assert all(not np.array_equal(a, b) for a, b in zip(before, after)), name
        print(name, "ok")
    """
)


@pytest.mark.slow
def test_encoders_train_under_jax():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    script = JAX_SCRIPT.format(tiny_vit=TINY_VIT, tiny_pit=TINY_PIT)
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("vit", "pit"):
        assert f"{name} ok" in result.stdout
