"""Run folders: atomic files, the settings guard, run_info.json."""

import json
import os
from unittest import mock

import pytest

from keras_ssl import experiments
from keras_ssl._files import atomic_write, is_temporary, write_csv, write_json
from keras_ssl.experiments import RunFolder, RunFolderError
from keras_ssl.run_folder import _MARKER


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


def test_temporary_names_are_recognised(tmp_path):
    seen = []
    for name in ("config.yaml", "checkpoint-epoch0001.weights.h5", "state"):
        atomic_write(tmp_path / name, lambda t: (seen.append(t), open(t, "w").close()))
    assert all(is_temporary(os.path.basename(t)) for t in seen)
    assert not any(map(is_temporary, ("config.yaml", ".partial", "notes.partial.txt", ".git")))


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


def _smoke():
    return experiments.load("umea", "smoke").get_config()


def test_force_on_another_tools_folder_deletes_nothing(tmp_path):
    (tmp_path / "config.yaml").write_text("lr: 0.1\n")
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "src").mkdir()
    (tmp_path / "src/train.py").write_text("print()")
    with pytest.raises(RunFolderError) as error:
        RunFolder(tmp_path).claim(_smoke(), force=True)
    message = str(error.value)
    assert "was not written by keras-ssl" in message and "Choose another output folder." in message
    assert "`force`" not in message and "\n" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "notes.txt", "src"]
    assert (tmp_path / "src/train.py").read_text() == "print()"


@pytest.mark.parametrize("text", ["[1, 2]\n", "a: [\n", ""])
def test_force_on_a_config_that_is_no_mapping_deletes_nothing(tmp_path, text):
    (tmp_path / "config.yaml").write_text(text)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(
        RunFolderError, match=r"not a keras-ssl run folder\. Choose another"
    ) as error:
        RunFolder(tmp_path).claim(_smoke(), force=True)
    assert "`force`" not in str(error.value) and "\n" not in str(error.value)
    assert (tmp_path / "notes.txt").is_file()


def test_force_deletes_only_keras_ssls_files(tmp_path):
    folder = RunFolder(tmp_path)
    smoke = _smoke()
    folder.claim(smoke)
    written = ["run_info.json", "split.json", "results.md", "pretrain/random/log.csv",
               "finetune/random/10pct/metrics.json", "figures/bars.png"]  # fmt: skip
    for name in [*written, "notes.txt", "src/train.py"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    other = dict(smoke, seed=1)
    assert folder.claim(other, force=True) is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "notes.txt", "src"]
    assert (tmp_path / "src/train.py").is_file() and folder.check(other) is True


def test_a_run_of_an_older_keras_ssl_resumes_and_is_marked(tmp_path):
    folder = RunFolder(tmp_path)
    folder.claim(_smoke())
    config = tmp_path / "config.yaml"
    config.write_text(config.read_text().replace(_MARKER + "\n", ""))  # written before the marker
    with pytest.raises(RunFolderError, match="was not written by keras-ssl"):
        folder.check(dict(_smoke(), seed=1), force=True)
    assert folder.claim(_smoke()) is True
    assert folder.claim(dict(_smoke(), seed=1), force=True) is False


def test_a_kill_during_the_first_config_write_leaves_a_fresh_folder(tmp_path):
    def killed(temporary):
        open(temporary, "w").write("name: umea\nti")
        raise KeyboardInterrupt

    # A SIGKILL runs no `finally`: the temporary file stays.
    with pytest.raises(KeyboardInterrupt), mock.patch("os.remove"):
        atomic_write(tmp_path / "config.yaml", killed)
    [leftover] = [p.name for p in tmp_path.iterdir()]
    assert leftover.startswith(".config.") and leftover.endswith(".partial.yaml")
    folder = RunFolder(tmp_path)
    assert folder.check(_smoke()) is False  # a fresh run folder, not a foreign one
    assert folder.claim(_smoke()) is False
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]  # the leftover removed
    assert folder.claim(_smoke()) is True


def test_claiming_removes_the_leftovers_of_killed_writes_only(tmp_path):
    folder = RunFolder(tmp_path)
    folder.claim(_smoke())
    (tmp_path / "pretrain/random").mkdir(parents=True)
    (tmp_path / "pretrain/random/.log.abcd_123.partial.csv").write_text("epo")  # killed writes
    (tmp_path / ".run_info.x1y2z3w4.partial.json").write_text("{")
    (tmp_path / "notes.partial.txt").write_text("mine")  # not keras_ssl's naming
    assert folder.claim(_smoke()) is True
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "config.yaml",
        "notes.partial.txt",
        "pretrain",
    ]
    assert not list((tmp_path / "pretrain/random").iterdir())


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
