"""The notebooks run top to bottom on real images with small settings, injected after
the cell tagged `parameters` (papermill's convention), and are kept without outputs."""

import zipfile
from pathlib import Path

import nbformat
import pytest
from check_notebooks import has_outputs
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CIFAR_ZIP = ROOT.parent / "shared" / "data" / "cifar10-train.zip"
TINY_IMAGENET_ZIP = ROOT.parent / "shared" / "data" / "tiny-imagenet-200-40class.zip"
CPU = {"ENCODER": "small_cnn", "ENCODER_ARGS": {"width": 8, "depth": 2}}
# Each notebook's settings for a CPU minute: few images, one or two epochs.
SMALL = {
    "01_quickstart.ipynb": {
        **CPU, "DATA": str(CIFAR_ZIP), "MAX_IMAGES": 1000, "PRETRAIN_EPOCHS": 1,
        "BATCH_SIZE": 64, "FINETUNE_EPOCHS": 2,
    },
    "02_reproduce_a_paper.ipynb": {"PROFILE": "smoke", "DATA": str(CIFAR_ZIP), "OUTPUT": "run"},
    "03_rotation_pretext.ipynb": {
        **CPU, "DATA": str(TINY_IMAGENET_ZIP), "MAX_IMAGES": 600, "IMAGE_SIZE": 32,
        "PRETRAIN_EPOCHS": 1, "BATCH_SIZE": 64, "FINETUNE_EPOCHS": 2,
    },
    "04_compare_methods.ipynb": {
        **CPU, "DATA": str(CIFAR_ZIP), "MAX_IMAGES": 600, "EPOCHS": 1, "BATCH_SIZE": 64,
        "METHOD_ARGS": {"dino": {"output_dim": 64, "hidden_dim": 64, "bottleneck_dim": 16,
                                 "local_views": 2, "head_batch_norm": True}},
    },
    # Its default folders, made by `_my_images` from the CIFAR-10 zip.
    "05_bring_your_own_images.ipynb": {
        **CPU, "IMAGE_SIZE": 32, "PRETRAIN_EPOCHS": 1, "BATCH_SIZE": 64, "FINETUNE_EPOCHS": 1,
    },
}  # fmt: skip


def _my_images(folder: Path) -> None:
    """A user's images: 256 unlabeled JPEGs in nested folders, 3 classes of 40 labeled."""
    with zipfile.ZipFile(CIFAR_ZIP) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".jpg"))
        for index, name in enumerate(names[::195][:256]):
            target = folder / "unlabeled" / f"batch_{index % 4}" / f"{index}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(name))
        for class_name in ("cat", "ship", "truck"):
            members = [n for n in names if n.split("/")[1] == class_name][:40]
            for name in members:
                target = folder / "labeled" / class_name / Path(name).name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(name))


def with_parameters(notebook, values: dict):
    """The notebook with a cell assigning `values` right after its `parameters` cell."""
    index = next(
        i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])
    )
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    notebook.cells.insert(index + 1, cell)
    return notebook


def test_every_notebook_has_small_settings_and_no_outputs():
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert [p.name for p in paths] == sorted(SMALL)
    for path in paths:
        assert not has_outputs(path), f"{path.name} keeps outputs"
        notebook = nbformat.read(path, as_version=4)
        parameters = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(parameters) == 1, path.name
        for name in SMALL[path.name]:  # every injected name is a setting of the notebook
            assert f"{name} = " in parameters[0].source or f"{name}, " in parameters[0].source


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL))
def test_notebook_runs_top_to_bottom(name, tmp_path):
    """Fails when any cell raises; runs in a fresh kernel in an empty folder."""
    if not (CIFAR_ZIP.exists() and TINY_IMAGENET_ZIP.exists()):
        pytest.skip("the shared data zips are missing")
    if name.startswith("05_"):
        _my_images(tmp_path / "my_images")
    notebook = with_parameters(nbformat.read(NOTEBOOKS / name, as_version=4), SMALL[name])
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )  # fmt: skip
    client.execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
