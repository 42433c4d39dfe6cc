"""The Umeå runner end to end on real CIFAR-10 JPEGs: outputs, numbers, resuming, refusal."""

import csv
import json

import keras
import numpy as np
import pytest

import keras_ssl
from keras_ssl import data
from keras_ssl.experiments import RunFolderError, apply_overrides, paper, profile, umea
from keras_ssl.experiments import pretraining as pretraining_module

pytestmark = pytest.mark.slow


def _smoke(source, *assignments):
    return apply_overrides(
        profile("smoke"), [f"data.source={json.dumps(str(source))}", *assignments]
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
        result = umea.run(config, folder, verbose=0, log=lines.append)
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
    assert sum(method == "fit" for method, _ in before) == len(umea.plan(config)) - 2
    assert all(not hashes & test for _, hashes in before)
    # Selection watched the validation images; each stage scored the test images once.
    assert sum(bool(hashes & val) for method, hashes in before if method == "fit") == 8
    assert len(finals) == 8 and all(hashes == test for hashes in finals)


def test_smoke_profile_writes_the_table_the_figures_and_the_records(smoke_run):
    config, result, lines, _ = smoke_run
    folder = result.folder
    names = [stage.name for stage in umea.plan(config)]
    assert result.ran == names and result.skipped == [] and result.stopped_after is None
    for stage in names[2:-1]:
        for output in ("metrics.json", "model.keras", "log.csv"):
            assert (folder / stage / output).is_file(), (stage, output)
    for output in ("encoder.keras", "log.csv", "checkpoint-epoch0002.weights.h5"):
        assert (folder / "pretrain/random" / output).is_file()
    for figure in ("fig2_augmented_views", "fig3_pretext_loss", "fig4_training_curves",
                   "fig5_label_efficiency", "confusion_matrix_random_100pct"):  # fmt: skip
        assert (folder / f"figures/{figure}.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(folder.rglob("*.partial*"))
    info = json.loads((folder / "run_info.json").read_text())
    assert set(info["stages"]) == set(names) and all(
        s["seconds"] > 0 for s in info["stages"].values()
    )
    assert info["seed"] == 0 and info["versions"]["keras"] == keras.__version__
    assert info["versions"]["keras_ssl"] == keras_ssl.__version__
    assert (folder / "config.yaml").read_text().startswith("name: umea\nprofile: smoke\n")
    # Progress: one banner per stage, in order.
    banners = [line for line in lines if line.startswith("== [")]
    assert banners == [
        f"== [{i}/11] {name}: {b.split(': ', 1)[1]}"
        for i, (name, b) in enumerate(zip(names, banners), 1)
    ]


def test_results_table_puts_the_papers_numbers_beside_ours(smoke_run):
    _, result, _, _ = smoke_run
    rows = _read_csv(result.folder / "results.csv")
    labels = ["1%", "5%", "10%", "20%", "30%", "50%", "100%", "100% (no pretraining)"]
    assert [row["labeled_data"] for row in rows] == labels
    expected = [*paper.TABLE_1.values(), paper.SUPERVISED_100]
    assert [float(row["paper"]) for row in rows] == expected
    for row in rows:
        assert float(row["difference"]) == pytest.approx(
            float(row["accuracy"]) - float(row["paper"]), abs=0.011
        )
    markdown = (result.folder / "results.md").read_text()
    assert paper.TABLE_HEADER in markdown
    ours = {(row["labeled_data"]): float(row["accuracy"]) for row in rows}
    pretrained, scratch = ours["100%"], ours["100% (no pretraining)"]
    assert (
        f"| 100% | {pretrained:.2f} | {scratch:.2f} | {pretrained - scratch:.2f} | 92.01 | 91.19 "
        f"| {pretrained - 92.01:.2f} |" in markdown
    )
    assert f"| 1% | {ours['1%']:.2f} | – | – | 66.76 | – | {ours['1%'] - 66.76:.2f} |" in markdown
    assert "**Model selection:** early stopping, best-weight restore and the learning-rate " in (
        markdown
    )


def test_fractions_are_class_balanced_subsets_of_the_training_split(smoke_run, cifar):
    _, result, _, _ = smoke_run
    split = data.load_split(result.folder / "split.json")
    labels = cifar.labels
    assert (len(split["train"]), len(split["test"]), len(split["val"])) == (350, 100, 50)
    assert np.bincount(labels[split["test"]]).tolist() == [10] * 10
    assert not np.intersect1d(split["train"], split["test"]).size
    rows = _read_csv(result.folder / "results.csv")
    used = [len(data.label_fraction(labels[split["train"]], f, seed=0)) for f in paper.TABLE_1]
    assert [int(row["labels_used"]) for row in rows] == [*used, 350]
    assert used == [10, 20, 40, 70, 110, 180, 350]


def test_reported_accuracy_is_the_saved_models_accuracy_on_the_held_out_images(smoke_run, cifar):
    _, result, _, _ = smoke_run
    split = data.load_split(result.folder / "split.json")
    test = cifar.subset(split["test"])
    for stage in ("finetune/random/100pct", "finetune/random/baseline-100pct"):
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
    for stage in ("100pct", "baseline-100pct"):
        log = _read_csv(result.folder / f"finetune/random/{stage}/log.csv")
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
    config = _smoke(images, "finetune.fractions=[0.5, 1.0]", "finetune.baseline_fractions=[]")
    folder = tmp_path / "run"
    quiet = {"verbose": 0, "log": lambda _: None}

    # 1. Killed after the first pretraining epoch.
    with pytest.raises(KeyboardInterrupt):
        umea.run(config, folder, callbacks=[_StopAfterEpoch(1)], **quiet)
    state = json.loads((folder / "pretrain/random/state.json").read_text())
    assert state["epochs_done"] == 1 and not (folder / "pretrain/random/encoder.keras").exists()
    first_epoch = _read_csv(folder / "pretrain/random/log.csv")

    # 2. Started again: pretraining runs only its second epoch, from the checkpoint.
    spy, lines = _EpochSpy(), []
    result = umea.run(
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
        umea.run(config, folder, **quiet)
    assert not list((folder / "finetune/random/100pct").iterdir())

    # 4. Finished stages are skipped: no pretraining, one fine-tuning, their files untouched.
    monkeypatch.setattr(pretraining_module, "build_pretext_model", _raise(AssertionError))
    calls = []

    def counted(encoder, train_data, *args, **kwargs):
        calls.append(len(train_data[1]))
        return finetune(encoder, train_data, *args, **kwargs)

    monkeypatch.setattr(keras_ssl.finetune, "finetune", counted)
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    del before[folder / "run_info.json"]  # gets this session and the new stage times
    result = umea.run(config, folder, **quiet)
    assert result.ran == ["finetune/random/100pct", "report"]
    assert result.skipped == ["data", "pretrain/random", "finetune/random/50pct"]
    assert calls == [150]  # 100 % of the 150 training images, once
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert [row["labeled_data"] for row in _read_csv(folder / "results.csv")] == ["50%", "100%"]

    # 5. Another config in the same folder is refused before anything runs.
    changed = apply_overrides(config, ["pretrain.epochs=3"])
    with pytest.raises(RunFolderError, match=r"pretrain\.epochs: 2 -> 3.*new --output, or --force"):
        umea.run(changed, folder, **quiet)
    assert calls == [150]


def _raise(error):
    def fail(*args, **kwargs):
        raise error

    return fail


def test_stop_after_data_writes_only_the_split(make_cifar_folder, tmp_path):
    images = make_cifar_folder(tmp_path / "images", per_class=25)
    lines = []
    result = umea.run(_smoke(images), tmp_path / "run", stop_after="data", log=lines.append)
    assert (result.ran, result.skipped, result.stopped_after) == (["data"], [], "data")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "config.yaml",
        "run_info.json",
        "split.json",
    ]
    assert lines[-1] == "Stopped after data (--stop-after); run the same command to go on."
