import importlib.util
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_ssl import heads


def test_projection_head_is_umea_by_default():
    head = heads.projection_head()
    out = head(np.zeros((4, 1280), "float32"))
    assert tuple(out.shape) == (4, 128)
    kinds = [type(layer).__name__ for layer in head.layers]
    assert kinds == ["Dense", "BatchNormalization", "Dense"]
    assert head.layers[0].units == 256 and head.layers[0].activation.__name__ == "relu"
    assert head.layers[-1].activation.__name__ == "linear"


def test_projection_head_is_dense_relu_then_batch_norm_with_keras_epsilon():
    head = heads.projection_head(hidden_dim=8, output_dim=4)
    x = np.random.default_rng(0).normal(size=(6, 5)).astype("float32")
    outputs = keras.ops.convert_to_numpy(head(x, training=True))
    dense, batch_norm, output = head.layers
    hidden = np.maximum(x @ dense.kernel.numpy() + dense.bias.numpy(), 0.0)  # ReLU first
    normed = (hidden - hidden.mean(0)) / np.sqrt(hidden.var(0) + 1e-3)
    expected = normed @ output.kernel.numpy() + output.bias.numpy()  # gamma 1, beta 0
    np.testing.assert_allclose(outputs, expected, rtol=1e-4, atol=1e-5)
    assert (batch_norm.epsilon, batch_norm.momentum) == (1e-3, 0.9)
    mlp = heads.mlp_head([8, 4])
    assert [layer.epsilon for layer in mlp.layers if hasattr(layer, "epsilon")] == [1e-5]


def test_projection_head_depth_and_widths_configurable():
    head = heads.projection_head(
        hidden_dim=64, output_dim=32, num_hidden_layers=2, batch_norm=False
    )
    head(np.zeros((2, 10), "float32"))
    assert [layer.units for layer in head.layers] == [64, 64, 32]


def test_classification_head_has_dropout_and_softmax():
    head = heads.classification_head(10, dropout=0.5)
    probs = keras.ops.convert_to_numpy(head(np.random.normal(size=(3, 20)).astype("float32")))
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert head.layers[0].rate == 0.5


def test_rotation_head_outputs_four_logits():
    head = heads.rotation_head()
    assert tuple(head(np.zeros((5, 8), "float32")).shape) == (5, 4)


@pytest.mark.parametrize(
    "build, message",
    [
        (
            lambda: heads.projection_head(hidden_dim=0),
            "`hidden_dim` must be an integer >= 1; got 0",
        ),
        (
            lambda: heads.projection_head(num_hidden_layers=-1),
            "`num_hidden_layers` must be an integer >= 0; got -1",
        ),
        (lambda: heads.classification_head(0), "`num_classes` must be an integer >= 1; got 0"),
        (lambda: heads.classification_head(10, dropout=1.0), "dropout"),
        (
            lambda: heads.rotation_head(num_rotations=2.5),
            "`num_rotations` must be an integer >= 1; got 2.5",
        ),
        (lambda: heads.mlp_head([]), "dims"),
        (lambda: heads.mlp_head([8, 0]), "`dims` must be an integer >= 1; got 0"),
        (lambda: heads.DINOHead(output_dim=0), "`output_dim` must be an integer >= 1; got 0"),
        (lambda: heads.DINOHead(nlayers=0), "`nlayers` must be an integer >= 1; got 0"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()


# ------------------------------------------------------- SimSiam, BYOL, MoCo v2, DINO heads

SMALL_HEADS = {
    "simsiam_projector": lambda: heads.simsiam_projector(output_dim=64, hidden_dim=64),
    "simsiam_predictor": lambda: heads.simsiam_predictor(output_dim=64),
    "byol_projector": lambda: heads.byol_projector(hidden_dim=64, output_dim=16),
    "byol_predictor": lambda: heads.byol_predictor(hidden_dim=64, output_dim=16),
    "moco_v2_projector": lambda: heads.moco_v2_projector(hidden_dim=64, output_dim=16),
    "dino_head": lambda: heads.DINOHead(output_dim=32, hidden_dim=64, bottleneck_dim=16),
}
OUTPUT_DIMS = {"simsiam_projector": 64, "simsiam_predictor": 64, "dino_head": 32}


def kinds(head):
    return [type(layer).__name__ for layer in head.layers]


def test_mlp_head_blocks_and_last_block_options():
    head = heads.mlp_head([8, 8, 4], last_batch_norm=True, last_activation="tanh", use_bias=False)
    head(np.zeros((2, 5), "float32"))
    assert kinds(head) == ["Dense", "BatchNormalization", "Activation"] * 3
    assert [layer.units for layer in head.layers if hasattr(layer, "units")] == [8, 8, 4]
    assert all(not layer.use_bias for layer in head.layers if hasattr(layer, "use_bias"))
    assert head.layers[-1].activation.__name__ == "tanh"


def test_simsiam_projector_has_batch_norm_on_its_output_layer():
    head = heads.simsiam_projector(output_dim=64, hidden_dim=32)
    assert tuple(head(np.zeros((4, 10), "float32")).shape) == (4, 64)
    assert kinds(head) == [
        *["Dense", "BatchNormalization", "Activation"] * 2,
        "Dense",
        "BatchNormalization",
    ]


def test_simsiam_predictor_is_a_bottleneck_of_a_quarter_width():
    assert heads.simsiam_predictor().layers[0].units == 512
    head = heads.simsiam_predictor(output_dim=64)
    assert tuple(head(np.zeros((4, 64), "float32")).shape) == (4, 64)
    assert kinds(head) == ["Dense", "BatchNormalization", "Activation", "Dense"]
    assert head.layers[0].units == 16


def test_byol_and_moco_heads_structure():
    for head in (heads.byol_projector(64, 16), heads.byol_predictor(64, 16)):
        assert kinds(head) == ["Dense", "BatchNormalization", "Activation", "Dense"]
    assert kinds(heads.moco_v2_projector(64, 16)) == ["Dense", "Activation", "Dense"]


def test_dino_head_is_weight_normalised_and_its_bottleneck_unit_norm():
    head = heads.DINOHead(output_dim=32, hidden_dim=64, bottleneck_dim=16)
    inputs = np.random.default_rng(0).normal(size=(6, 24)).astype("float32")
    logits = keras.ops.convert_to_numpy(head(inputs))
    assert logits.shape == (6, 32)
    norms = np.linalg.norm(keras.ops.convert_to_numpy(head.bottleneck(inputs)), axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
    # |logit| <= 1 for unit bottleneck and unit directions with the gain fixed to 1.
    assert np.abs(logits).max() <= 1.0 + 1e-5 and head.gain is None
    scales = np.linspace(0.5, 4.0, 32).astype("float32")
    head.direction.assign(head.direction * scales)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(head(inputs)), logits, atol=1e-5)


def test_dino_head_gain_is_trainable_when_not_normalising_last_layer():
    head = heads.DINOHead(
        output_dim=8,
        hidden_dim=16,
        bottleneck_dim=4,
        nlayers=1,
        batch_norm=True,
        norm_last_layer=False,
    )
    head(np.ones((2, 5), "float32"))
    assert head.gain.trainable and tuple(head.gain.shape) == (8,)
    assert kinds(head.mlp) == ["Dense"]


# A zero bottleneck (zero inputs through the zero-bias MLP) must not make the gradient
# NaN: `keras.ops.normalize` does under JAX, `losses.l2_normalize` does not.
_ZERO_BOTTLENECK_GRADIENT = """
import jax, keras, numpy as np
from keras_ssl import heads
head = heads.DINOHead(output_dim=8, hidden_dim=16, bottleneck_dim=4)
head.build((None, 5))
def loss(weights):
    outputs, _ = head.stateless_call(weights, [], np.zeros((2, 5), "float32"))
    return outputs.sum()
grads = jax.grad(loss)([v.value for v in head.trainable_variables])
print(all(bool(np.isfinite(g).all()) for g in grads))
"""


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_dino_head_gradient_is_finite_for_a_zero_bottleneck_under_jax():
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-c", _ZERO_BOTTLENECK_GRADIENT],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "True"


@pytest.mark.parametrize("name", sorted(SMALL_HEADS))
def test_head_trains_under_fit_and_round_trips_a_keras_file(name, tmp_path):
    head = SMALL_HEADS[name]()
    width = 64 if name == "simsiam_predictor" else 16 if name == "byol_predictor" else 24
    inputs = keras.Input((width,))
    model = keras.Model(inputs, head(inputs))
    output_dim = OUTPUT_DIMS.get(name, 16)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, width)).astype("float32")
    y = rng.normal(size=(16, output_dim)).astype("float32")
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    assert all(np.abs(a - b).max() > 0 for a, b in zip(after, before))
    path = tmp_path / "head.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x, training=False)),
        keras.ops.convert_to_numpy(model(x, training=False)),
        atol=1e-5,
    )


def test_heads_docstring_examples_run():
    import doctest

    assert doctest.testmod(heads).failed == 0
