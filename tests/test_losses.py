import importlib.util
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from keras import ops

from keras_ssl import losses
from keras_ssl.losses import NTXent, contrastive_logits, l2_normalize, nt_xent


def reference_nt_xent(z_a, z_b, temperature):
    """Algorithm 1 of SimCLR, literally: views interleaved as 2k-1, 2k (0-based 2k, 2k+1)."""
    n = len(z_a)
    z = np.empty((2 * n, z_a.shape[1]), dtype=np.float64)
    z[0::2], z[1::2] = z_a, z_b
    s = z @ z.T / np.outer(np.linalg.norm(z, axis=1), np.linalg.norm(z, axis=1))

    def loss(i, j):
        denominator = sum(np.exp(s[i, k] / temperature) for k in range(2 * n) if k != i)
        return -np.log(np.exp(s[i, j] / temperature) / denominator)

    return sum(loss(2 * k, 2 * k + 1) + loss(2 * k + 1, 2 * k) for k in range(n)) / (2 * n)


@pytest.mark.parametrize("n, dim, temperature", [(2, 3, 0.5), (8, 16, 0.1), (32, 128, 0.2)])
def test_nt_xent_matches_numpy_algorithm(n, dim, temperature):
    rng = np.random.default_rng(n)
    z_a = rng.normal(size=(n, dim)).astype("float32")
    z_b = (z_a + 0.5 * rng.normal(size=(n, dim))).astype("float32")
    expected = reference_nt_xent(z_a, z_b, temperature)
    np.testing.assert_allclose(float(nt_xent(z_a, z_b, temperature)), expected, rtol=1e-4)


def test_identical_embeddings_give_log_2n_minus_1():
    n = 16
    z = np.ones((n, 8), "float32")
    np.testing.assert_allclose(float(nt_xent(z, z, 0.1)), np.log(2 * n - 1), rtol=1e-5)


def test_loss_class_equals_function_and_keeps_config():
    rng = np.random.default_rng(0)
    z_a, z_b = rng.normal(size=(2, 6, 4)).astype("float32")
    loss = NTXent(temperature=0.3)
    np.testing.assert_allclose(float(loss(z_a, z_b)), float(nt_xent(z_a, z_b, 0.3)), rtol=1e-6)
    assert NTXent.from_config(loss.get_config()).temperature == 0.3


def test_no_nan_for_large_logits_and_half_precision():
    rng = np.random.default_rng(1)
    z_a = (1e4 * rng.normal(size=(8, 16))).astype("float16")
    z_b = z_a.copy()
    loss = nt_xent(z_a, z_b, temperature=1e-3)
    assert np.isfinite(float(loss))
    assert ops.convert_to_numpy(loss).dtype == np.float32
    # Identical partners at a tiny temperature: the partner dominates, loss ~ 0.
    assert float(loss) < 1e-3


def test_logits_mask_self_and_label_partners():
    z = np.eye(4, dtype="float32")
    logits, labels = contrastive_logits(z[:2], z[2:], 1.0)
    logits = ops.convert_to_numpy(logits)
    assert np.all(np.diag(logits) < -1e8)
    np.testing.assert_array_equal(ops.convert_to_numpy(labels), [2, 3, 0, 1])


@pytest.mark.parametrize("temperature", [0, -0.1, "0.1", True])
def test_temperature_must_be_positive(temperature):
    z = np.ones((4, 2), "float32")
    with pytest.raises(ValueError, match="`temperature` must be a positive number"):
        nt_xent(z, z, temperature)


def test_batch_of_one_is_rejected():
    z = np.ones((1, 8), "float32")
    with pytest.raises(ValueError, match="at least 2 images"):
        nt_xent(z, z)


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match="same shape"):
        nt_xent(np.ones((4, 8), "float32"), np.ones((4, 6), "float32"))
    with pytest.raises(ValueError, match=r"shape \(batch, dim\)"):
        nt_xent(np.ones((4, 8, 1), "float32"), np.ones((4, 8, 1), "float32"))


def test_numpy_temperature_is_accepted():
    z = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(
        float(nt_xent(z, z, np.float32(0.5))), float(nt_xent(z, z, 0.5)), rtol=1e-6
    )


def test_l2_normalize_matches_numpy_and_keeps_zero_vectors():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1e-7, 0.0]], "float32")
    expected = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-6)  # sqrt(epsilon)
    np.testing.assert_allclose(ops.convert_to_numpy(l2_normalize(x)), expected, rtol=1e-6)


# The reason `l2_normalize` is not `keras.ops.normalize`: a zero embedding (a dead
# projection) must not turn the gradient into NaN, on any backend.
_ZERO_VECTOR_GRADIENT = """
import importlib.util, sys
import jax, numpy as np
spec = importlib.util.spec_from_file_location("losses", sys.argv[1])
losses = importlib.util.module_from_spec(spec)
spec.loader.exec_module(losses)  # the module alone: no TensorFlow import
z = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
z[1] = 0.0
grad = jax.grad(lambda z: losses.nt_xent(z, z[::-1] + 1.0, 0.5))(z)
print(bool(np.isfinite(grad).all()))
"""


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_nt_xent_gradient_is_finite_for_a_zero_embedding_under_jax():
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_ZERO_VECTOR_GRADIENT), losses.__file__],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "True"
