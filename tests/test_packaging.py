"""Packaging: lazy imports (a fast `keras-ssl --help`), class registration, the wheel.

The wheel is built here from a copy of the sources (`pip wheel`, no download) and its
contents and metadata are checked; installing it into a fresh environment with
TensorFlow takes minutes and is `make check-dist`, not a test.
"""

import email
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_ssl
import keras_ssl.experiments

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("keras", "tensorflow", "jax", "keras_cv", "matplotlib")


def run_python(code: str, timeout: int = 300, **env) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter that imports keras_ssl from this checkout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", **env}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_cli_import_and_help_pull_no_keras_or_tensorflow():
    result = run_python(
        f"""
        import contextlib, io, json, sys
        import keras_ssl
        assert not any(m in sys.modules for m in {HEAVY!r}), "import keras_ssl"
        import keras_ssl.cli
        after_import = sorted(m for m in {HEAVY!r} if m in sys.modules)
        texts = []
        for argv in (["--help"], ["finetune", "--help"], ["evaluate", "--help"],
                     ["reproduce", "--help"], ["pretrain", "--help"]):
            if argv[0] == "pretrain":  # its --method help comes from the registry
                after_help = sorted(m for m in {HEAVY!r} if m in sys.modules)
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
                keras_ssl.cli.main(argv)
            texts.append(out.getvalue())
        print(json.dumps([after_import, after_help, texts]))
        """
    )
    after_import, after_help, texts = json.loads(result.stdout)
    assert after_import == [] and after_help == []
    assert "COMMAND" in texts[0] and "pretrain" in texts[0]
    assert "--fractions" in texts[1] and "--top-k" in texts[2] and "--profile" in texts[3]
    # `keras-ssl pretrain --help` lists the registered methods (it imports them).
    pretrain_help = " ".join(texts[4].split())
    assert "(default: mobilenet_v2)" in pretrain_help and "rotation: Rotation" in pretrain_help


@pytest.mark.parametrize(
    "package", [keras_ssl, keras_ssl.data, keras_ssl.experiments], ids=lambda p: p.__name__
)
def test_every_public_name_resolves_and_is_listed(package):
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(
        AttributeError, match=rf"module '{package.__name__}' has no attribute 'nope'"
    ):
        package.nope  # noqa: B018


def test_lazy_names_are_the_objects_of_their_modules():
    from keras_ssl import SimCLR, config, data, experiments
    from keras_ssl.data import catalog, splits
    from keras_ssl.experiments import catalog as experiment_files

    assert SimCLR is keras_ssl.pretext.simclr.SimCLR
    assert data.load is catalog.load and data.UMEA_FRACTIONS is splits.UMEA_FRACTIONS
    assert experiments.ConfigError is config.ConfigError
    assert experiments.load is experiment_files.load
    # Using a class imports its module, which registers it for `.keras` loading.
    assert keras.saving.get_registered_object("keras_ssl>SimCLR") is SimCLR
    assert keras_ssl.__version__ == "0.1.0"


def test_star_import_gives_the_listed_names():
    namespace = {}
    exec("from keras_ssl import *", namespace)
    assert {"SimCLR", "RotationPrediction", "data", "pretext"} <= set(namespace)


class StopAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt  # a kill after the first epoch's checkpoint


EXPERIMENT = {
    "name": "resume",
    "encoder": {"name": "small_cnn", "args": {"width": 8, "depth": 2}, "image_size": 32},
    "pretrain": {"augment": "simclr", "method_args": {"projection_dims": [16, 8]}, "epochs": 2,
                 "batch_size": 8},
}  # fmt: skip


def test_pretraining_resumes_from_a_checkpoint_in_a_fresh_process(tmp_path):
    """The resume path loads a SimCLR checkpoint before anything has imported SimCLR."""
    from keras_ssl.experiments import pretraining, resolve

    images = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3)).astype("uint8")
    np.save(tmp_path / "images.npy", images)
    folder = tmp_path / "pretrain"
    with pytest.raises(KeyboardInterrupt):
        pretraining.pretrain_encoder(
            images,
            resolve(EXPERIMENT).variants[0],
            folder,
            verbose=0,
            callbacks=[StopAfterFirstEpoch()],
        )
    assert json.loads((folder / "state.json").read_text())["epochs_done"] == 1
    result = run_python(
        f"""
        import sys
        import numpy as np
        from keras_ssl.experiments import pretraining, resolve
        variant = resolve({EXPERIMENT!r}).variants[0]
        encoder = pretraining.pretrain_encoder(
            np.load({str(tmp_path / "images.npy")!r}),
            variant,
            {str(folder)!r},
            verbose=0,
        )
        print(encoder.name)
        """
    )
    assert "resuming pretraining after epoch 1/2" in result.stdout
    assert json.loads((folder / "state.json").read_text())["epochs_done"] == 2
    assert (folder / "encoder.keras").is_file()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built with pip from a copy of the sources (the checkout stays clean)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "keras_ssl", source / "keras_ssl", ignore=shutil.ignore_patterns("__pycache__")
    )
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    result = subprocess.run(
        [*command, "--wheel-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (path,) = out.glob("keras_ssl-*.whl")
    return path


def test_wheel_holds_every_package_file(wheel):
    expected = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "keras_ssl").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    with zipfile.ZipFile(wheel) as archive:
        packaged = {name for name in archive.namelist() if name.startswith("keras_ssl/")}
    assert packaged == expected
    assert wheel.name == f"keras_ssl-{keras_ssl.__version__}-py3-none-any.whl"


def test_wheel_metadata_keeps_tensorflow_and_keras_cv_optional(wheel):
    with zipfile.ZipFile(wheel) as archive:
        info = f"keras_ssl-{keras_ssl.__version__}.dist-info"
        metadata = email.message_from_string(archive.read(f"{info}/METADATA").decode())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    requires = metadata.get_all("Requires-Dist")
    unconditional = {re.split(r"[<>=!~;\[ ]", r)[0] for r in requires if "extra ==" not in r}
    assert "keras" in unconditional and "tensorflow-datasets" in unconditional
    assert not {"tensorflow", "tensorflow-cpu", "keras-cv", "keras-core"} & unconditional
    assert {"cpu", "gpu", "keras-cv", "test"} <= set(metadata.get_all("Provides-Extra"))
    assert 'keras-cv>=0.9; extra == "keras-cv"' in requires
    assert "keras-ssl = keras_ssl.cli:main" in entry_points
    assert metadata["Version"] == keras_ssl.__version__
