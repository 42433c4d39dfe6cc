"""Run folders: atomic files, the settings guard, run_info.json."""

import json

import pytest

from keras_ssl import experiments
from keras_ssl._files import atomic_write, write_csv, write_json
from keras_ssl.experiments import RunFolder, RunFolderError


def test_atomic_write_leaves_the_old_file_when_the_writer_fails(tmp_path):
    path = tmp_path / "metrics.json"
    write_json(path, {"accuracy": 0.5})

    def half_written(temporary):
        with open(temporary, "w") as f:
            f.write('{"accur')
        raise KeyboardInterrupt  # killed mid-write

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, half_written)
    assert json.loads(path.read_text()) == {"accuracy": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary left


def test_atomic_write_keeps_the_suffix_for_format_sniffing_writers(tmp_path):
    seen = []
    atomic_write(tmp_path / "model.keras", lambda t: (seen.append(t), open(t, "w").close()))
    assert seen[0].endswith(".keras") and (tmp_path / "model.keras").is_file()


def test_write_csv_takes_the_union_of_the_columns(tmp_path):
    write_csv(tmp_path / "log.csv", [{"epoch": 0, "loss": 1.0}, {"epoch": 1, "loss": 0.5, "lr": 1}])
    assert (tmp_path / "log.csv").read_text().splitlines() == ["epoch,loss,lr", "0,1.0,", "1,0.5,1"]


def test_same_settings_resume_other_settings_are_refused(tmp_path):
    folder = RunFolder(tmp_path / "run")
    smoke = experiments.load("umea", "smoke").get_config()
    assert folder.check(smoke) is False and not folder.path.exists()  # checking writes nothing
    assert folder.claim(smoke) is False
    assert (folder.path / "config.yaml").is_file()
    assert folder.claim(smoke) is True
    other = dict(smoke, seed=1, pretrain={**smoke["pretrain"], "epochs": 5})
    with pytest.raises(
        RunFolderError,
        match=r"holds a run of other settings; refusing to mix results\. Differences \(folder -> "
        r"now\): pretrain\.epochs: 2 -> 5; seed: 0 -> 1\. Use another output folder, or `force`",
    ):
        folder.check(other)
    (folder.path / "results.md").write_text("old")
    assert folder.claim(other, force=True) is False
    assert not (folder.path / "results.md").exists()  # --force started over
    assert folder.check(other) is True


def test_a_folder_of_other_files_is_not_taken(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(
        RunFolderError,
        match=r"is not empty and holds no config.yaml: it is not a keras-ssl run folder",
    ):
        RunFolder(tmp_path).check(experiments.load("umea", "smoke").get_config(), force=True)
    with pytest.raises(RunFolderError, match="exists and is not a folder"):
        RunFolder(tmp_path / "notes.txt").check({})


def test_two_spellings_of_one_data_path_are_the_same_settings(tmp_path, monkeypatch):
    (tmp_path / "images").mkdir()
    monkeypatch.chdir(tmp_path)
    folder = RunFolder(tmp_path / "run")
    folder.claim({"data": {"source": "images"}})
    assert folder.check({"data": {"source": str(tmp_path / "images")}}) is True


def test_run_info_sums_stage_time_over_sessions(tmp_path):
    folder = RunFolder(tmp_path)
    folder.start_session("keras-ssl reproduce umea", seed=0)
    folder.record_stage("pretrain/random", 10.0, epochs=1)
    folder.start_session("keras-ssl reproduce umea", seed=0)
    folder.record_stage("pretrain/random", 2.5)
    info = folder.info()
    assert info["stages"]["pretrain/random"]["seconds"] == 12.5
    assert len(info["sessions"]) == 2
    assert {"keras_ssl", "tensorflow", "keras", "python", "platform"} <= set(info["versions"])
