import importlib.util
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

from keras_ssl import losses
from keras_ssl.losses import (
    DINOLoss,
    InfoNCE,
    NegativeCosineSimilarity,
    NormalizedMSE,
    NTXent,
    contrastive_logits,
    dino_center_update,
    dino_loss,
    info_nce,
    info_nce_logits,
    l2_normalize,
    negative_cosine_similarity,
    normalized_mse,
    nt_xent,
    symmetric,
)


def _mean(per_sample):
    """The batch mean of a per-sample loss, as the loss classes' default reduction gives."""
    return float(np.mean(ops.convert_to_numpy(per_sample)))


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
    np.testing.assert_allclose(_mean(nt_xent(z_a, z_b, temperature)), expected, rtol=1e-4)


def test_identical_embeddings_give_log_2n_minus_1():
    n = 16
    z = np.ones((n, 8), "float32")
    np.testing.assert_allclose(_mean(nt_xent(z, z, 0.1)), np.log(2 * n - 1), rtol=1e-5)


def test_loss_class_equals_function_and_keeps_config():
    rng = np.random.default_rng(0)
    z_a, z_b = rng.normal(size=(2, 6, 4)).astype("float32")
    loss = NTXent(temperature=0.3)
    np.testing.assert_allclose(float(loss(z_a, z_b)), _mean(nt_xent(z_a, z_b, 0.3)), rtol=1e-6)
    assert NTXent.from_config(loss.get_config()).temperature == 0.3


def test_no_nan_for_large_logits_and_half_precision():
    rng = np.random.default_rng(1)
    z_a = (1e4 * rng.normal(size=(8, 16))).astype("float16")
    z_b = z_a.copy()
    loss = ops.mean(nt_xent(z_a, z_b, temperature=1e-3))
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
        _mean(nt_xent(z, z, np.float32(0.5))), _mean(nt_xent(z, z, 0.5)), rtol=1e-6
    )


def test_l2_normalize_matches_numpy_and_keeps_zero_vectors():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1e-7, 0.0]], "float32")
    expected = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-6)  # sqrt(epsilon)
    np.testing.assert_allclose(ops.convert_to_numpy(l2_normalize(x)), expected, rtol=1e-6)


def test_l2_normalize_gradient_is_finite_at_a_zero_vector():
    x = keras.Variable(np.zeros((2, 3), "float32"))
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            value = ops.sum(l2_normalize(x) * np.arange(3.0, dtype="float32"))
        gradient = tape.gradient(value, x).numpy()
    elif keras.backend.backend() == "jax":
        import jax

        gradient = jax.grad(lambda v: (l2_normalize(v) * np.arange(3.0)).sum())(x.value)
    else:
        pytest.skip("the gradient is checked under TensorFlow and JAX")
    assert np.all(np.isfinite(gradient))


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
grad = jax.grad(lambda z: losses.nt_xent(z, z[::-1] + 1.0, 0.5).mean())(z)
unit = jax.grad(lambda x: (losses.l2_normalize(x) * np.arange(3.0)).sum())(np.zeros((2, 3)))
print(bool(np.isfinite(grad).all() and np.isfinite(unit).all()))
"""


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_nt_xent_and_l2_normalize_gradients_are_finite_at_a_zero_vector_under_jax():
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_ZERO_VECTOR_GRADIENT), losses.__file__],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "True"


# --- SimSiam, BYOL, MoCo and DINO: direct NumPy readings of the papers' formulas ---


def _unit(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _softmax(x):
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def reference_simsiam(p, z):
    """Chen & He 2021, eq. 1: D(p, z) = -p/|p| . z/|z|, averaged over the batch."""
    return -np.mean(np.sum(_unit(p) * _unit(z), axis=1))


def reference_byol(p, z):
    """Grill et al. 2020, eq. 2: |p/|p| - z/|z||^2, averaged over the batch."""
    return np.mean(np.sum((_unit(p) - _unit(z)) ** 2, axis=1))


def reference_info_nce(query, key, queue, temperature):
    """He et al. 2020, eq. 1, one query at a time."""
    q, k, negatives = _unit(query), _unit(key), _unit(queue)
    per_query = []
    for q_n, k_n in zip(q, k):
        positive = np.exp(q_n @ k_n / temperature)
        denominator = positive + sum(np.exp(q_n @ k_i / temperature) for k_i in negatives)
        per_query.append(-np.log(positive / denominator))
    return np.mean(per_query)


def reference_dino(student, teacher, center, student_temp, teacher_temp):
    """Caron et al. 2021, eq. 1-2 and Algorithm 1: every (teacher i, student j != i) pair."""
    total, pairs = 0.0, 0
    for i, t in enumerate(teacher):
        p_t = _softmax((np.asarray(t, np.float64) - center) / teacher_temp)
        for j, s in enumerate(student):
            if i == j:
                continue
            log_p_s = np.log(_softmax(np.asarray(s, np.float64) / student_temp))
            total += np.mean(-np.sum(p_t * log_p_s, axis=1))
            pairs += 1
    return total / pairs


def _pair(seed, n=6, dim=5, dtype="float32"):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, dim)).astype(dtype), rng.normal(size=(n, dim)).astype(dtype)


@pytest.mark.parametrize("seed", [0, 1])
def test_negative_cosine_and_normalized_mse_match_numpy(seed):
    p, z = _pair(seed)
    np.testing.assert_allclose(
        _mean(negative_cosine_similarity(p, z)), reference_simsiam(p, z), rtol=1e-5
    )
    np.testing.assert_allclose(_mean(normalized_mse(p, z)), reference_byol(p, z), rtol=1e-5)


def test_negative_cosine_and_normalized_mse_degenerate_cases():
    p = np.array([[1.0, 0.0], [0.0, 3.0]], "float32")
    orthogonal = np.array([[0.0, 2.0], [5.0, 0.0]], "float32")
    np.testing.assert_allclose(_mean(negative_cosine_similarity(p, 2 * p)), -1.0, atol=1e-6)
    np.testing.assert_allclose(_mean(normalized_mse(p, 2 * p)), 0.0, atol=1e-6)
    np.testing.assert_allclose(_mean(negative_cosine_similarity(p, orthogonal)), 0.0, atol=1e-6)
    np.testing.assert_allclose(_mean(normalized_mse(p, orthogonal)), 2.0, atol=1e-6)


@pytest.mark.parametrize("temperature", [0.07, 0.2, 1.0])
def test_info_nce_matches_numpy(temperature):
    query, key = _pair(2, n=4, dim=8)
    queue = np.random.default_rng(3).normal(size=(10, 8)).astype("float32")
    expected = reference_info_nce(query, key, queue, temperature)
    np.testing.assert_allclose(_mean(info_nce(query, key, queue, temperature)), expected, rtol=1e-5)


def test_info_nce_logits_put_the_positive_first():
    query, key = _pair(4, n=3, dim=4)
    queue = np.random.default_rng(5).normal(size=(7, 4)).astype("float32")
    logits, labels = info_nce_logits(query, key, queue, 0.5)
    logits = ops.convert_to_numpy(logits)
    assert logits.shape == (3, 8) and logits.dtype == np.float32
    np.testing.assert_array_equal(ops.convert_to_numpy(labels), [0, 0, 0])
    np.testing.assert_allclose(logits[:, 0], np.sum(_unit(query) * _unit(key), 1) / 0.5, rtol=1e-5)
    np.testing.assert_allclose(logits[:, 1:], _unit(query) @ _unit(queue).T / 0.5, rtol=1e-5)


def test_info_nce_is_near_zero_when_the_positive_dominates():
    eye = np.eye(6, dtype="float32")
    query, queue = eye[:2], eye[2:]  # negatives orthogonal to every query
    assert _mean(info_nce(query, 3.0 * query, queue, temperature=0.02)) < 1e-6


@pytest.mark.parametrize("num_local", [0, 3])
def test_dino_loss_matches_numpy(num_local):
    rng = np.random.default_rng(num_local)
    teacher = [rng.normal(size=(4, 6)).astype("float32") for _ in range(2)]
    student = [rng.normal(size=(4, 6)).astype("float32") for _ in range(2 + num_local)]
    center = rng.normal(size=(6,)).astype("float32")
    expected = reference_dino(student, teacher, center, 0.1, 0.04)
    np.testing.assert_allclose(_mean(dino_loss(student, teacher, center)), expected, rtol=1e-5)


def test_dino_loss_centers_and_sharpens_the_teacher():
    # (t - c) / tau_t = [0, ln 2] gives the teacher [1/3, 2/3]; the student [0, ln 3]
    # at tau_s = 1 gives log-probabilities [ln 1/4, ln 3/4].
    teacher = [np.array([[1.0, 1.0 + 0.5 * np.log(2.0)]], "float32")] * 2
    student = [np.array([[0.0, np.log(3.0)]], "float32")] * 2
    center = np.array([1.0, 1.0], "float32")
    loss = dino_loss(student, teacher, center, student_temperature=1.0, teacher_temperature=0.5)
    expected = -(np.log(0.25) / 3 + 2 * np.log(0.75) / 3)
    np.testing.assert_allclose(_mean(loss), expected, rtol=1e-5)


def test_dino_loss_is_log_k_for_uniform_distributions():
    k = 7
    rng = np.random.default_rng(0)
    uniform_teacher = [np.full((3, k), 5.0, "float32")] * 2
    uniform_student = [np.zeros((3, k), "float32")] * 4
    random_teacher = [rng.normal(size=(3, k)).astype("float32") for _ in range(2)]
    center = np.zeros(k, "float32")
    for teacher in (uniform_teacher, random_teacher):
        np.testing.assert_allclose(
            _mean(dino_loss(uniform_student, teacher, center)), np.log(k), rtol=1e-5
        )
    # A uniform teacher with a non-uniform student costs more than log K (Jensen).
    student = [rng.normal(size=(3, k)).astype("float32") for _ in range(4)]
    assert _mean(dino_loss(student, uniform_teacher, center)) > np.log(k)


def test_dino_center_update_is_an_ema_of_the_teacher_batch_mean():
    rng = np.random.default_rng(0)
    teacher = [rng.normal(size=(5, 4)).astype("float32") for _ in range(2)]
    center = rng.normal(size=(1, 4)).astype("float32")
    expected = 0.9 * center + 0.1 * np.concatenate(teacher).mean(axis=0)
    new_center = ops.convert_to_numpy(dino_center_update(center, teacher, momentum=0.9))
    assert new_center.shape == (1, 4) and new_center.dtype == np.float32
    np.testing.assert_allclose(new_center, expected, rtol=1e-5)


def _all_new_losses(dtype, scale):
    """The four losses on the same random inputs, as name -> zero-argument callable."""
    p, z = _pair(7, n=4, dim=6)
    p, z = (scale * p).astype(dtype), (scale * z).astype(dtype)
    queue = (scale * np.random.default_rng(8).normal(size=(5, 6))).astype(dtype)
    center = np.zeros(6, dtype)
    return {
        "simsiam": lambda: negative_cosine_similarity(p, z),
        "byol": lambda: normalized_mse(p, z),
        "moco": lambda: info_nce(p, z, queue),
        "dino": lambda: dino_loss([p, z, p + z], [z, p], center),
    }


@pytest.mark.parametrize("dtype, scale", [("float32", 1e4), ("float16", 1e4), ("float16", 1.0)])
def test_new_losses_are_finite_float32_for_large_logits_and_half_precision(dtype, scale):
    for name, loss in _all_new_losses(dtype, scale).items():
        value = ops.convert_to_numpy(loss())
        assert value.dtype == np.float32, name
        assert np.all(np.isfinite(value)), name


def test_bfloat16_inputs_are_accepted():
    p, z = _pair(9)
    p, z = ops.cast(p, "bfloat16"), ops.cast(z, "bfloat16")
    assert np.isfinite(_mean(negative_cosine_similarity(p, z)))
    assert np.isfinite(_mean(dino_loss([p, z], [z, p], ops.zeros((5,)))))


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="uses tf.GradientTape")
def test_no_gradient_reaches_targets_key_queue_or_teacher():
    import tensorflow as tf

    rng = np.random.default_rng(0)

    def variable(shape):
        return tf.Variable(rng.normal(size=shape).astype("float32"))

    p, z, queue, center = variable((4, 6)), variable((4, 6)), variable((5, 6)), variable((6,))
    local = variable((4, 6))
    cases = {
        "simsiam": (lambda: negative_cosine_similarity(p, z), [p], [z]),
        "byol": (lambda: normalized_mse(p, z), [p], [z]),
        "moco": (lambda: info_nce(p, z, queue), [p], [z, queue]),
        "dino": (lambda: dino_loss([p, z, local], [z, p], center), [p, z, local], [center]),
    }
    for name, (loss, trained, frozen) in cases.items():
        with tf.GradientTape(persistent=True) as tape:
            value = loss()
        for target in frozen:
            gradient = tape.gradient(value, target)
            assert gradient is None or not np.any(gradient.numpy()), name
        for source in trained:
            gradient = tape.gradient(value, source).numpy()
            assert np.all(np.isfinite(gradient)) and np.any(gradient), name
    # DINO's teachers are the same tensors as the students' global views here; with
    # the teacher side alone differentiated, nothing flows.
    with tf.GradientTape() as tape:
        value = dino_loss([variable((4, 6)), variable((4, 6))], [p, z], center)
    assert all(g is None or not np.any(g.numpy()) for g in tape.gradient(value, [p, z]))


def test_loss_classes_equal_functions_and_round_trip_config():
    p, z = _pair(11, n=4, dim=6)
    queue = np.random.default_rng(12).normal(size=(5, 6)).astype("float32")
    center = np.full(6, 0.1, "float32")
    cases = [
        (NegativeCosineSimilarity(), (z, p), negative_cosine_similarity(p, z)),
        (NormalizedMSE(), (z, p), normalized_mse(p, z)),
        (InfoNCE(temperature=0.3), ((z, queue), p), info_nce(p, z, queue, 0.3)),
        (
            DINOLoss(student_temperature=0.2, teacher_temperature=0.05),
            (([z, p], center), [p, z, p - z]),
            dino_loss([p, z, p - z], [z, p], center, 0.2, 0.05),
        ),
    ]
    for loss, (y_true, y_pred), expected in cases:
        for restored in (
            loss,
            type(loss).from_config(loss.get_config()),
            keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss)),
        ):
            assert type(restored) is type(loss)
            assert restored.get_config() == loss.get_config()
            np.testing.assert_allclose(float(restored(y_true, y_pred)), _mean(expected), rtol=1e-6)


@pytest.mark.parametrize("reduction", [None, "sum"])
def test_loss_classes_reduce_the_per_sample_functions(reduction):
    p, z = _pair(13, n=4, dim=6)
    cases = [
        (NTXent(0.2, reduction=reduction), (p, z), nt_xent(p, z, 0.2)),  # first views first
        (NegativeCosineSimilarity(reduction=reduction), (z, p), negative_cosine_similarity(p, z)),
    ]
    for loss, (y_true, y_pred), per_sample in cases:
        per_sample = ops.convert_to_numpy(per_sample)
        expected = per_sample if reduction is None else per_sample.sum()
        np.testing.assert_allclose(ops.convert_to_numpy(loss(y_true, y_pred)), expected, rtol=1e-6)


def test_per_sample_shapes_and_the_symmetric_loss():
    p, z = np.stack(_pair(14, n=5, dim=6)), np.stack(_pair(15, n=5, dim=6))
    queue = np.random.default_rng(16).normal(size=(7, 6)).astype("float32")
    shapes = {
        "nt_xent": nt_xent(p[0], z[0]).shape,
        "simsiam": negative_cosine_similarity(p[0], z[0]).shape,
        "byol": normalized_mse(p[0], z[0]).shape,
        "moco": info_nce(p[0], z[0], queue).shape,
        "dino": dino_loss(list(p), list(z), np.zeros(6, "float32")).shape,
    }
    assert {name: tuple(shape) for name, shape in shapes.items()} == {
        "nt_xent": (10,), "simsiam": (5,), "byol": (5,), "moco": (5,), "dino": (5,),
    }  # fmt: skip
    for loss, reference in (
        (negative_cosine_similarity, reference_simsiam),
        (normalized_mse, reference_byol),
    ):
        expected = reference(p[0], z[1]) + reference(p[1], z[0])
        np.testing.assert_allclose(_mean(symmetric(loss, p, z)), expected, rtol=1e-5)


def test_new_losses_reject_bad_arguments():
    p = np.ones((4, 3), "float32")
    with pytest.raises(ValueError, match="same shape"):
        negative_cosine_similarity(p, np.ones((4, 2), "float32"))
    with pytest.raises(ValueError, match=r"shape \(batch, dim\)"):
        normalized_mse(p[0], p[0])
    with pytest.raises(ValueError, match="`temperature` must be a positive number"):
        info_nce(p, p, p, temperature=0)
    with pytest.raises(ValueError, match="same embedding size"):
        info_nce(p, p, np.ones((5, 2), "float32"))
    with pytest.raises(ValueError, match="`teacher_temperature` must be a positive number"):
        DINOLoss(teacher_temperature=-1.0)
    with pytest.raises(ValueError, match="at least 2 views"):
        dino_loss([p], [p], np.zeros(3, "float32"))
    with pytest.raises(ValueError, match=r"`momentum` must be a number in \[0, 1\]"):
        dino_center_update(np.zeros(3, "float32"), [p], momentum=1.5)
