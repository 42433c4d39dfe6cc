"""The runner end to end on real images: outputs, numbers, resuming, refusal, own experiments."""

import csv
import json
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_ssl
from keras_ssl import data, experiments
from keras_ssl.experiments import RunFolderError
from keras_ssl.experiments import pretraining as pretraining_module

pytestmark = pytest.mark.slow


def _smoke(source, *assignments, experiment="umea"):
    return experiments.load(
        experiment, "smoke", [f"data.source={json.dumps(str(source))}", *assignments]
    )


def _read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def cifar(cifar_zip_path):
    """The shared CIFAR-10 zip as an ImageSet (files, decoded when read)."""
    return data.load(cifar_zip_path)


class _ImageAccessRecorder:
    """Records a hash of every image that reaches Keras (fit, evaluate, predict), and when.

    Every call of `keras.Model.fit / evaluate / predict / predict_on_batch` is logged with
    the hashes of the images in its inputs (arrays, `(x, y)` tuples and tf.data datasets,
    validation data included) and whether it ran inside `evaluate_classifier`, the final
    scoring of a stage on the held-out images.
    """

    METHODS = ("fit", "evaluate", "predict", "predict_on_batch")

    def __init__(self, monkeypatch):
        self.calls = []  # (method, inside the final evaluation, set of image hashes)
        self._final = 0
        for name in self.METHODS:
            monkeypatch.setattr(keras.Model, name, self._wrap(name, getattr(keras.Model, name)))
        evaluate_classifier = keras_ssl.evaluate.evaluate_classifier

        def final(*args, **kwargs):
            self._final += 1
            try:
                return evaluate_classifier(*args, **kwargs)
            finally:
                self._final -= 1

        monkeypatch.setattr(keras_ssl.evaluate, "evaluate_classifier", final)

    def _wrap(self, name, method):
        def recorded(model, *args, **kwargs):
            inputs = [*args, kwargs.get("x"), kwargs.get("validation_data")]
            self.calls.append((name, self._final > 0, _image_hashes(inputs)))
            return method(model, *args, **kwargs)

        return recorded


def _image_hashes(value) -> set:
    if value is None or isinstance(value, (str, bytes, int, float, bool)):
        return set()
    if isinstance(value, (list, tuple)):
        return set().union(*(_image_hashes(v) for v in value))
    if hasattr(value, "element_spec"):  # a tf.data dataset: read it once more
        return set().union(*(_image_hashes(batch) for batch in value.as_numpy_iterator()))
    array = np.asarray(value)
    if array.ndim != 4 or array.shape[-1] != 3:
        return set()
    pixels = np.round(array.astype(np.float32)).astype(np.uint8)
    return {image.tobytes() for image in pixels}


@pytest.fixture(scope="module")
def smoke_run(cifar_zip_path, tmp_path_factory):
    """The smoke profile on 500 images of the shared CIFAR-10 zip, run once, images recorded."""
    config = _smoke(cifar_zip_path)
    lines = []
    with pytest.MonkeyPatch.context() as monkeypatch:
        recorder = _ImageAccessRecorder(monkeypatch)
        folder = tmp_path_factory.mktemp("umea") / "run"
        result = experiments.run(config, folder, verbose=0, log=lines.append)
    return config, result, lines, recorder.calls


def test_test_images_reach_keras_only_in_the_final_evaluations(smoke_run, cifar):
    """Held-out means held out: no fit, early stopping or LR schedule ever sees a test image."""
    config, result, _, calls = smoke_run
    split = data.load_split(result.folder / "split.json")
    test = _image_hashes(cifar.subset(split["test"]).numpy_images())
    val = _image_hashes(cifar.subset(split["val"]).numpy_images())
    assert len(test) == 100 and len(val) == 50
    before = [(method, hashes) for method, final, hashes in calls if not final]
    finals = [hashes for method, final, hashes in calls if final]
    assert sum(method == "fit" for method, _ in before) == len(experiments.plan(config)) - 2
    assert all(not hashes & test for _, hashes in before)
    # Selection watched the validation images; each stage scored the test images once.
    assert sum(bool(hashes & val) for method, hashes in before if method == "fit") == 8
    assert len(finals) == 8 and all(hashes == test for hashes in finals)


def test_smoke_profile_writes_the_table_the_figures_and_the_records(smoke_run):
    config, result, lines, _ = smoke_run
    folder = result.folder
    names = [stage.name for stage in experiments.plan(config)]
    assert result.ran == names and result.skipped == [] and result.stopped_after is None
    for stage in names[2:-1]:
        for output in ("metrics.json", "model.keras", "log.csv"):
            assert (folder / stage / output).is_file(), (stage, output)
    for output in ("encoder.keras", "log.csv", "checkpoint-epoch0002.weights.h5"):
        assert (folder / "pretrain/random" / output).is_file()
    for figure in ("fig2_augmented_views", "fig3_pretext_loss", "fig4_training_curves",
                   "fig5_label_efficiency", "confusion_matrices"):  # fmt: skip
        assert (folder / f"figures/{figure}.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(folder.rglob("*.partial*"))
    info = json.loads((folder / "run_info.json").read_text())
    assert set(info["stages"]) == set(names) and all(
        s["seconds"] > 0 for s in info["stages"].values()
    )
    assert info["seed"] == 0 and info["versions"]["keras"] == keras.__version__
    assert info["versions"]["keras_ssl"] == keras_ssl.__version__
    assert (folder / "config.yaml").read_text().startswith("name: umea\ntitle: ")
    assert "\nprofile: smoke\n" in (folder / "config.yaml").read_text()
    # Progress: one banner per stage, in order.
    banners = [line for line in lines if line.startswith("== [")]
    assert banners == [
        f"== [{i}/11] {name}: {b.split(': ', 1)[1]}"
        for i, (name, b) in enumerate(zip(names, banners), 1)
    ]


def test_results_table_puts_the_papers_numbers_beside_ours(smoke_run):
    config, result, _, _ = smoke_run
    rows = _read_csv(result.folder / "results.csv")
    assert [(row["evaluation"], float(row["fraction"])) for row in rows] == [
        *(("finetune", f) for f in (0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)), ("baseline", 1.0),
    ]  # fmt: skip
    expected = [66.76, 80.12, 82.93, 86.45, 87.81, 89.62, 92.01, 91.19]  # the report's Table 1
    assert [float(row["paper"]) for row in rows] == expected
    for row in rows:
        assert float(row["difference"]) == pytest.approx(
            float(row["accuracy"]) - float(row["paper"]), abs=0.011
        )
    markdown = (result.folder / "results.md").read_text()
    assert (
        "| Labeled data | finetune (%) | baseline (%) | Gain, finetune − baseline (pp) | "
        "finetune, paper (%) | baseline, paper (%) | Difference, finetune − paper (pp) |"
    ) in markdown
    ours = {(row["evaluation"], float(row["fraction"])): float(row["accuracy"]) for row in rows}
    pretrained, scratch = ours["finetune", 1.0], ours["baseline", 1.0]
    assert (
        f"| 100% | {pretrained:.2f} | {scratch:.2f} | {pretrained - scratch:.2f} | 92.01 | 91.19 "
        f"| {pretrained - 92.01:.2f} |" in markdown
    )
    one = ours["finetune", 0.01]
    assert f"| 1% | {one:.2f} | – | – | 66.76 | – | {one - 66.76:.2f} |" in markdown
    assert "**Model selection:** early stopping, best-weight restore and the learning-rate " in (
        markdown
    )


def _assert_numbers_of(folder, reference):
    losses = [float(row["loss"]) for row in _read_csv(folder / "pretrain/random/log.csv")]
    assert losses == pytest.approx(reference["pretext_loss"], rel=1e-4)
    for old, accuracy in reference["accuracy"].items():
        stage = "baseline/random/100pct" if old.startswith("baseline") else f"finetune/random/{old}"
        metrics = json.loads((folder / stage / "metrics.json").read_text())
        assert metrics["accuracy"] == accuracy, stage
        assert metrics["history"]["val_loss"] == pytest.approx(reference["val_loss"][old], rel=1e-4)


_BEFORE = Path(__file__).parent / "data/umea_smoke_before_redesign.json"


def test_smoke_numbers_are_those_of_the_runner_before_the_redesign(smoke_run):
    """The Umeå experiment as a YAML file gives the numbers of the Umeå-only runner it replaced,
    run under the same image-access recorder (see the reference file's `_about`)."""
    _assert_numbers_of(smoke_run[1].folder, json.loads(_BEFORE.read_text())["recorded"])


def test_a_plain_smoke_run_gives_the_numbers_of_the_command_before_the_redesigns(
    cifar_zip_path, tmp_path
):
    """Without the recorder: `keras-ssl reproduce umea --profile smoke`'s numbers, which the
    pydantic schema, the build-once checks and the library pretraining call left unchanged."""
    result = experiments.run(_smoke(cifar_zip_path), tmp_path / "run", verbose=0, log=len)
    _assert_numbers_of(result.folder, json.loads(_BEFORE.read_text())["command"])


def test_fractions_are_class_balanced_subsets_of_the_training_split(smoke_run, cifar):
    _, result, _, _ = smoke_run
    split = data.load_split(result.folder / "split.json")
    labels = cifar.labels
    assert (len(split["train"]), len(split["test"]), len(split["val"])) == (350, 100, 50)
    assert np.bincount(labels[split["test"]]).tolist() == [10] * 10
    assert not np.intersect1d(split["train"], split["test"]).size
    rows = _read_csv(result.folder / "results.csv")
    fractions = (0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
    used = [len(data.label_fraction(labels[split["train"]], f, seed=0)) for f in fractions]
    assert [int(row["labels_used"]) for row in rows] == [*used, 350]
    assert used == [10, 20, 40, 70, 110, 180, 350]


def test_reported_accuracy_is_the_saved_models_accuracy_on_the_held_out_images(smoke_run, cifar):
    _, result, _, _ = smoke_run
    split = data.load_split(result.folder / "split.json")
    test = cifar.subset(split["test"])
    for stage in ("finetune/random/100pct", "baseline/random/100pct"):
        model = keras.models.load_model(result.folder / stage / "model.keras")
        predicted = model.predict(test.numpy_images(), verbose=0).argmax(axis=1)
        metrics = json.loads((result.folder / stage / "metrics.json").read_text())
        assert metrics["accuracy"] == pytest.approx(np.mean(predicted == test.labels))
        assert np.trace(metrics["test"]["confusion_matrix"]) == round(100 * metrics["accuracy"])


def test_learning_happens_in_pretraining_and_fine_tuning(smoke_run):
    _, result, _, _ = smoke_run
    pretext = _read_csv(result.folder / "pretrain/random/log.csv")
    assert [int(row["epoch"]) for row in pretext] == [0, 1]
    assert float(pretext[1]["loss"]) < float(pretext[0]["loss"])
    for stage in ("finetune/random/100pct", "baseline/random/100pct"):
        log = _read_csv(result.folder / f"{stage}/log.csv")
        assert float(log[-1]["loss"]) < float(log[0]["loss"]), stage


class _StopAfterEpoch(keras.callbacks.Callback):
    """Raises KeyboardInterrupt (a kill) at the end of an epoch, after its checkpoint."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise KeyboardInterrupt


class _EpochSpy(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_a_killed_run_resumes_without_redoing_finished_work(
    make_cifar_folder, tmp_path, monkeypatch
):
    images = make_cifar_folder(tmp_path / "images", per_class=30)  # 150 train, 50 val, 100 test
    config = _smoke(
        images, "evaluations.finetune.fractions=[0.5, 1.0]", "evaluations.baseline=null"
    )
    folder = tmp_path / "run"
    quiet = {"verbose": 0, "log": lambda _: None}

    # 1. Killed after the first pretraining epoch.
    with pytest.raises(KeyboardInterrupt):
        experiments.run(config, folder, callbacks=[_StopAfterEpoch(1)], **quiet)
    state = json.loads((folder / "pretrain/random/state.json").read_text())
    assert state["epochs_done"] == 1 and not (folder / "pretrain/random/encoder.keras").exists()
    first_epoch = _read_csv(folder / "pretrain/random/log.csv")

    # 2. Started again: pretraining runs only its second epoch, from the checkpoint.
    spy, lines = _EpochSpy(), []
    result = experiments.run(
        config, folder, verbose=0, log=lines.append, callbacks=[spy],
        stop_after="finetune/random/50pct",
    )  # fmt: skip
    assert spy.epochs == [1]
    assert "  resuming pretraining after epoch 1/2 (checkpoint-epoch0001.weights.h5)" in lines
    log = _read_csv(folder / "pretrain/random/log.csv")
    assert len(log) == 2 and log[0] == first_epoch[0]
    assert result.ran == ["pretrain/random", "finetune/random/50pct"] and result.skipped == ["data"]
    assert result.stopped_after == "finetune/random/50pct" and not (folder / "results.md").exists()
    checkpoints = [p.name for p in (folder / "pretrain/random").glob("checkpoint-*")]
    assert checkpoints == ["checkpoint-epoch0002.weights.h5"]

    # 3. Killed inside a fine-tuning stage: it leaves no metrics, so it runs again later.
    finetune = keras_ssl.finetune.finetune
    monkeypatch.setattr(keras_ssl.finetune, "finetune", _raise(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        experiments.run(config, folder, **quiet)
    assert not list((folder / "finetune/random/100pct").iterdir())

    # 4. Finished stages are skipped: no pretraining, one fine-tuning, their files untouched.
    monkeypatch.setattr(pretraining_module, "build_variant_model", _raise(AssertionError))
    calls = []

    def counted(encoder, train_data, *args, **kwargs):
        calls.append(len(train_data[1]))
        return finetune(encoder, train_data, *args, **kwargs)

    monkeypatch.setattr(keras_ssl.finetune, "finetune", counted)
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    del before[folder / "run_info.json"]  # gets this session and the new stage times
    result = experiments.run(config, folder, **quiet)
    assert result.ran == ["finetune/random/100pct", "report"]
    assert result.skipped == ["data", "pretrain/random", "finetune/random/50pct"]
    assert calls == [150]  # 100 % of the 150 training images, once
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert [row["fraction"] for row in _read_csv(folder / "results.csv")] == ["0.5", "1.0"]

    # 5. Another config in the same folder is refused before anything runs.
    changed = _smoke(images, "evaluations.finetune.fractions=[0.5, 1.0]", "evaluations.baseline=null",
                     "pretrain.epochs=3")  # fmt: skip
    with pytest.raises(
        RunFolderError, match=r"pretrain\.epochs: 2 -> 3.*another output folder, or `force`"
    ):
        experiments.run(changed, folder, **quiet)
    assert calls == [150]


def _raise(error):
    def fail(*args, **kwargs):
        raise error

    return fail


def test_stop_after_data_writes_only_the_split(make_cifar_folder, tmp_path):
    images = make_cifar_folder(tmp_path / "images", per_class=25)
    lines = []
    result = experiments.run(_smoke(images), tmp_path / "run", stop_after="data", log=lines.append)
    assert (result.ran, result.skipped, result.stopped_after) == (["data"], [], "data")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "config.yaml",
        "run_info.json",
        "split.json",
    ]
    assert lines[-1] == "Stopped after data; run it again to go on."


_OWN_EXPERIMENT = """
name: two-methods
title: SimCLR and rotation side by side, judged by kNN
data: {{source: {source}, test: 0.25, val: 0.1}}
encoder: {{name: small_cnn, args: {{width: 8, depth: 2}}, image_size: 32}}
pretrain: {{method: simclr, augment: simclr, epochs: 2, batch_size: 32, learning_rate: 0.003}}
variants:
  simclr: {{}}
  rotation: {{pretrain: {{method: rotation, method_args: {{mode: all}}, augment: rotation}}}}
  untrained: {{pretrain: null}}
evaluations:
  knn: {{kind: knn, fractions: [0.2, 1.0], k: 5}}
figures: {{pretext_curves: pretext, label_efficiency: knn}}
"""


def test_an_experiment_of_ones_own_runs_end_to_end(make_cifar_folder, tmp_path):
    """Two methods, one encoder, kNN at two fractions: one YAML file, no code."""
    images = make_cifar_folder(tmp_path / "images", per_class=20)  # 200 images
    path = tmp_path / "two-methods.yaml"
    path.write_text(_OWN_EXPERIMENT.format(source=json.dumps(str(images))))
    experiment = experiments.load(path)
    result = experiments.run(experiment, tmp_path / "run", verbose=0, log=lambda _: None)
    assert result.ran == [
        "data", "pretrain/simclr", "knn/simclr/20pct", "knn/simclr/100pct", "pretrain/rotation",
        "knn/rotation/20pct", "knn/rotation/100pct", "knn/untrained/20pct", "knn/untrained/100pct",
        "report",
    ]  # fmt: skip
    rotation_log = _read_csv(tmp_path / "run/pretrain/rotation/log.csv")
    assert "rotation_accuracy" in rotation_log[0] and len(rotation_log) == 2
    split = data.load_split(tmp_path / "run/split.json")
    rows = _read_csv(tmp_path / "run/results.csv")
    assert len(rows) == 6 and {r["kind"] for r in rows} == {"knn"}
    # kNN with the whole training split as memory bank, checked against NumPy.
    imageset = data.load(images)
    encoder = keras.models.load_model(tmp_path / "run/pretrain/rotation/encoder.keras")
    bank = encoder.predict(imageset.subset(split["train"]).numpy_images(), verbose=0)
    queries = encoder.predict(imageset.subset(split["test"]).numpy_images(), verbose=0)
    expected = _numpy_knn(bank, imageset.labels[split["train"]], queries, k=5, temperature=0.1)
    row = next(r for r in rows if r["variant"] == "rotation" and r["fraction"] == "1.0")
    assert float(row["accuracy"]) == pytest.approx(
        100 * np.mean(expected == imageset.labels[split["test"]]), abs=0.01
    )
    for figure in ("pretext", "knn"):
        assert (tmp_path / f"run/figures/{figure}.png").read_bytes()[:4] == b"\x89PNG"


def _numpy_knn(bank, bank_labels, queries, k, temperature):
    """Weighted cosine kNN (as in InstDisc / solo-learn) in NumPy."""
    bank = bank / np.linalg.norm(bank, axis=1, keepdims=True)
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    similarity = queries @ bank.T
    nearest = np.argsort(-similarity, axis=1)[:, :k]
    votes = np.zeros((len(queries), bank_labels.max() + 1))
    for row, columns in enumerate(nearest):
        for column in columns:
            votes[row, bank_labels[column]] += np.exp(similarity[row, column] / temperature)
    return votes.argmax(axis=1)


def test_rotation_experiment_smoke_runs_the_two_class_downstream_task(
    tiny_imagenet_zip_path, tmp_path
):
    experiment = _smoke(tiny_imagenet_zip_path, experiment="rotation-tiny-imagenet")
    result = experiments.run(experiment, tmp_path / "run", verbose=0, log=lambda _: None)
    assert result.ran == ["data", "pretrain/rotation", "downstream/rotation/100pct",
                          "scratch/rotation/100pct", "report"]  # fmt: skip
    for stage in ("downstream/rotation/100pct", "scratch/rotation/100pct"):
        metrics = json.loads((result.folder / stage / "metrics.json").read_text())
        assert metrics["test"]["class_names"] == ["n01855672", "n01443537"]
        # Only the two classes' held-out images are scored.
        assert metrics["test"]["num_examples"] == sum(metrics["test"]["confusion_matrix"][0]) + sum(
            metrics["test"]["confusion_matrix"][1]
        )
    log = _read_csv(result.folder / "pretrain/rotation/log.csv")
    assert {"val_rotation_accuracy", "val_loss", "rotation_accuracy"} <= set(log[0])


def test_a_class_the_data_lack_fails_before_anything_is_written(make_cifar_folder, tmp_path):
    images = make_cifar_folder(tmp_path / "images", per_class=25)
    experiment = _smoke(images, "evaluations.finetune.classes=[cat, unicorn]")
    with pytest.raises(
        experiments.ConfigError,
        match=r"`evaluations.finetune.classes` names \['unicorn'\], which the data lack; its classes are: airplane",
    ):
        experiments.run(experiment, tmp_path / "run", verbose=0, log=lambda _: None)
    assert not (tmp_path / "run").exists()


def test_an_encoder_without_pretraining_has_the_same_weights_in_every_run(
    make_cifar_folder, tmp_path
):
    """A variant with `pretrain: null` is built from the experiment's seed, whatever drew
    random numbers before it (two runs of the same file once gave two random ViTs)."""
    images = make_cifar_folder(tmp_path / "images", per_class=10)
    document = {
        "name": "untrained",
        "data": {"source": str(images), "test": 0.3, "val": 0.2},
        "encoder": {"name": "small_cnn", "args": {"width": 4, "depth": 1}, "image_size": 32},
        "pretrain": None,
        "evaluations": {"probe": {"kind": "linear_probe", "recipe_args": {"epochs": 1}}},
    }
    experiment = experiments.resolve(document)
    weights = []
    for run in ("a", "b"):
        keras.random.uniform((1 + (run == "a"),))  # the global random state moves on
        np.random.default_rng().random()
        experiments.run(experiment, tmp_path / run, verbose=0, log=lambda _: None)
        model = keras.models.load_model(tmp_path / run / "probe/main/100pct/model.keras")
        weights.append(model.get_weights()[0])
    np.testing.assert_array_equal(weights[0], weights[1])
