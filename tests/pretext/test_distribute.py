"""Pretext models on several replicas give what one device gives on the same global batch.

TensorFlow: `MirroredStrategy` over 2 logical CPU devices (model and optimizer made in
the strategy's scope, `fit` outside it, the standard Keras pattern); SimCLR's negatives
come from both replicas (gathered), BatchNorm is synchronised, the loss is scaled so
that the summed gradients are the global batch's. JAX: `keras.distribution.DataParallel`
over 2 host devices. Each run is a fresh process: devices are set before the backend
starts.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = """
import json, os
import numpy as np
import keras
from keras_ssl import pretext
from keras_ssl.pretext import replicas

ARGS = {
    "simclr": {"projection_dims": [8, 4]},
    "byol": {"output_dim": 4, "hidden_dim": 8},
    "moco": {"output_dim": 4, "hidden_dim": 8, "queue_size": 32},
    "dino": {"output_dim": 16, "hidden_dim": 8, "bottleneck_dim": 4, "head_batch_norm": True},
}
images = np.random.default_rng(0).uniform(0, 255, (16, 8, 8, 3)).astype("float32")


def encoder():
    # BatchNorm in the encoder too: synchronised, it sees the global batch.
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3)(inputs)
    x = keras.layers.Activation("relu")(keras.layers.BatchNormalization()(x))
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(8)(x))


def build():
    keras.utils.set_random_seed(0)
    model = pretext.get(METHOD, encoder(), augment="none", **ARGS[METHOD])
    replicas.synchronize_batch_norm(model)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    return model


def difference(first, second):
    # The largest difference of two lists of variables, relative to each one's scale.
    return max(
        float(np.abs(a - b).max() / (np.abs(a).max() + 1e-3)) for a, b in zip(first, second)
    )


def train(model):
    history = model.fit(images, batch_size=16, epochs=3, shuffle=False, verbose=0)
    return history.history["loss"], [np.array(v) for v in model.variables]
"""

TENSORFLOW = """
import os
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
METHOD = os.environ["METHOD"]
exec(SCRIPT)
with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
    one = build()
one_loss, one_variables = train(one)  # before the next build: heads are built in `fit`
with tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope():
    two = build()
    assert replicas.num_replicas() == 2
two_loss, two_variables = train(two)
# Every replica holds the same value of every variable (weights, EMA targets, queue, centre).
copies_differ = [
    v.path for v in two.variables
    if hasattr(v.value, "values")
    and not all(np.array_equal(np.array(c), np.array(v.value.values[0])) for c in v.value.values)
]
print(json.dumps({
    "loss": [one_loss, two_loss],
    "weights": difference(one_variables, two_variables),
    "copies_differ": copies_differ,
}))
"""

JAX = """
import os
import jax
METHOD = os.environ["METHOD"]
exec(SCRIPT)
one_loss, one_variables = train(build())
keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
assert len(jax.devices()) == 2
two_loss, two_variables = train(build())
print(json.dumps({
    "loss": [one_loss, two_loss],
    "weights": difference(one_variables, two_variables),
    "copies_differ": [],
}))
"""


def _run(backend: str, method: str) -> dict:
    program = "SCRIPT = " + repr(SCRIPT) + "\n" + (TENSORFLOW if backend == "tensorflow" else JAX)
    env = {**os.environ, "KERAS_BACKEND": backend, "METHOD": method, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if backend == "jax":
        env.update(JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(program)], env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend, method",
    [("tensorflow", "simclr"), ("tensorflow", "byol"), ("tensorflow", "moco"),
     ("tensorflow", "dino"), ("jax", "simclr"), ("jax", "byol")],
)  # fmt: skip
def test_two_replicas_train_like_one_device_on_the_global_batch(backend, method):
    """Same losses for 3 SGD steps at rate 0.1, same weights after them (all variables:
    weights, BatchNorm statistics, EMA targets, MoCo's queue, DINO's centre), and the
    same value on both replicas. A gradient off by the number of replicas (the peers'
    bug) would double every step here; per-replica negatives or BatchNorm would change
    the first loss."""
    result = _run(backend, method)
    one, two = result["loss"]
    assert two == pytest.approx(one, rel=1e-4, abs=1e-5)
    assert result["weights"] < 5e-3  # relative; float sums in another order (DINO: 1.4e-3)
    assert result["copies_differ"] == []


RUNNER = """
import json, os, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from keras_ssl import experiments
document = {
    "name": "distributed",
    "data": {"source": sys.argv[1], "test": 0.25, "val": 0.1},
    "encoder": {"name": "small_cnn", "args": {"width": 8, "depth": 2}, "image_size": 32},
    "pretrain": {"method": "simclr", "epochs": 1, "batch_size": 32},
    "evaluations": {"probe": {"kind": "linear_probe", "fractions": [1.0],
                              "recipe_args": {"epochs": 1}}},
    "distribution": {"strategy": "mirrored", "sync_batch_norm": True,
                     "precision": "mixed_float16"},
}
experiment = experiments.resolve(document)
result = experiments.run(experiment, sys.argv[2], verbose=0, log=lambda line: None)
from keras_ssl import distribution
print(json.dumps({"ran": result.ran, "replicas": distribution.replica_count("mirrored")}))
"""


@pytest.mark.slow
def test_an_experiment_runs_on_two_replicas_in_mixed_precision(make_cifar_folder, tmp_path):
    """`distribution: {strategy: mirrored, sync_batch_norm: true, precision: mixed_float16}`
    in an experiment file: pretraining and the linear probe run in the strategy's scope."""
    images = make_cifar_folder(tmp_path / "images", per_class=20)
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, str(images), str(tmp_path / "run")], env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {
        "ran": ["data", "pretrain/main", "probe/main/100pct", "report"],
        "replicas": 2,
    }
    metrics = json.loads((tmp_path / "run/probe/main/100pct/metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0


def test_distribution_settings_are_checked_by_name():
    from keras_ssl.experiments import ConfigError, resolve

    base = {"name": "x", "encoder": {"name": "small_cnn", "image_size": 32}}
    with pytest.raises(
        ConfigError, match=r"Unknown strategy 'horovod' \(`distribution.strategy`\)"
    ):
        resolve({**base, "distribution": {"strategy": "horovod"}})
    with pytest.raises(ConfigError, match=r"`distribution.precision`.*mixed_bfloat16"):
        resolve({**base, "distribution": {"precision": "float16"}})
    assert resolve({**base, "distribution": {"strategy": "mirrored"}}).distribution.strategy == (
        "mirrored"
    )


def test_training_scope_sets_the_precision_and_restores_it():
    import keras

    from keras_ssl.distribution import replica_count, training_scope

    before = keras.config.dtype_policy().name
    with training_scope("none", "mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
        layer = keras.layers.Dense(2)
        layer.build((None, 3))
        assert layer.compute_dtype == "bfloat16" and layer.kernel.dtype == "float32"
    assert keras.config.dtype_policy().name == before
    with pytest.raises(RuntimeError), training_scope("none", "mixed_float16"):
        raise RuntimeError  # the policy is restored when the body fails too
    assert keras.config.dtype_policy().name == before
    assert replica_count("none") == 1


def test_training_scope_refuses_unknown_names_before_touching_the_policy():
    import keras

    from keras_ssl.config import ConfigError
    from keras_ssl.distribution import replica_count, training_scope

    before = keras.config.dtype_policy().name
    with pytest.raises(ConfigError, match=r"Unknown strategy 'horovod'; expected one of: none, "):
        with training_scope("horovod"):
            pass
    with pytest.raises(ConfigError, match=r"Unknown precision 'float16'; .*mixed_bfloat16"):
        with training_scope("none", "float16"):
            pass
    with pytest.raises(ConfigError, match=r"Unknown strategy 'gpu'"):
        replica_count("gpu")
    assert keras.config.dtype_policy().name == before


SCOPE = """
import json
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from keras_ssl.distribution import replica_count, training_scope
with training_scope("mirrored"):
    variable = keras.Variable(1.0)
    inside = tf.distribute.has_strategy()
print(json.dumps({"replicas": replica_count("mirrored"), "inside": inside,
                  "outside": tf.distribute.has_strategy(), "mirrored": type(variable.value).__name__}))
"""


def test_training_scope_mirrored_puts_variables_on_both_replicas():
    """`training_scope("mirrored")` under TensorFlow: the strategy's scope, left on exit."""
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-c", SCOPE], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["replicas"] == 2 and outcome["inside"] and not outcome["outside"]
    assert "Mirrored" in outcome["mirrored"]
