"""The docs: the YAML reference generator, and what the README and docs pages may say."""

import importlib.util
import re
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from keras_ssl.config import Config, PositiveInt

ROOT = Path(__file__).parents[1]


def _hook():
    path = ROOT / "docs" / "hooks" / "config_reference.py"
    spec = importlib.util.spec_from_file_location("config_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Schedule(Config):
    """How the learning rate moves.

    Args:
        kind: the schedule's name.
        warmup: epochs of linear warm-up first.
    """

    kind: Literal["constant", "cosine"] = "constant"
    warmup: int = Field(0, ge=0, description="Warm-up epochs (from the field).")


class Document(Config):
    """A small experiment document.

    Args:
        name: what the run is called;
            used for folders.
        epochs: how long to train.
        schedule: see below.
        stages: named schedules.
        note: free text.

    Example:
        ignored: this is not an argument.
    """

    name: str
    epochs: PositiveInt = 10
    schedule: Schedule = Schedule()
    stages: dict[str, Schedule] = Field(default_factory=dict)
    note: str | None = None


def _rows(markdown: str, section: str) -> dict[str, list[str]]:
    text = markdown.split(f"## {section} ")[1].split("\n## ")[0]
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    return {cells[0].strip("` "): cells[1:] for cells in (_split(row) for row in rows)}


def _split(row: str) -> list[str]:
    """The cells of a table row: split on pipes neither escaped nor in code spans."""
    spans = iter(re.findall(r"`[^`]*`", row))
    masked = re.sub(r"`[^`]*`", "\0", row.strip().strip("|"))
    cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", masked)]
    return [re.sub("\0", lambda _: next(spans), cell) for cell in cells]


def test_the_reference_has_a_table_per_model_and_links_nested_ones():
    markdown = _hook().reference_markdown([Document], title="Reference", introduction="Intro.")
    assert markdown.startswith("# Reference\n")
    assert "## Document {#document}" in markdown and "## Schedule {#schedule}" in markdown
    assert markdown.index("## Document") < markdown.index("## Schedule")
    assert markdown.count("## Schedule") == 1  # held twice, written once
    document = _rows(markdown, "Document")
    assert list(document) == ["name", "epochs", "schedule", "stages", "note"]
    assert document["name"] == ["str", "*required*", "what the run is called; used for folders."]
    assert document["epochs"] == ["int ≥ 1", "`10`", "how long to train."]
    assert document["schedule"][:2] == ["[Schedule](#schedule)", "[its defaults](#schedule)"]
    assert document["stages"][:2] == ["mapping of str to [Schedule](#schedule)", "`{}`"]
    assert document["note"][:2] == ["str or null", "`null`"]
    assert "ignored" not in markdown  # the Example section holds no arguments
    schedule = _rows(markdown, "Schedule")
    assert schedule["kind"] == [
        "one of: `constant`, `cosine`",
        "`constant`",
        "the schedule's name.",
    ]
    # A field's own description wins over the docstring's.
    assert schedule["warmup"] == ["int ≥ 0", "`0`", "Warm-up epochs (from the field)."]


def test_docstring_arguments_come_from_the_bases_too():
    class Longer(Schedule):
        """More settings.

        Args:
            cycles: how many times to restart.
        """

        cycles: int = 1

    arguments = _hook().docstring_arguments(Longer)
    assert arguments == {
        "kind": "the schedule's name.",
        "warmup": "epochs of linear warm-up first.",
        "cycles": "how many times to restart.",
    }


def test_a_plain_pydantic_model_and_pipes_in_descriptions():
    class Plain(BaseModel):
        sizes: tuple[int, ...] = (1, 2)
        mode: str = Field("a b", description="either | or `a | b`")
        rate: float = Field(0.5, ge=0, lt=1)
        label: str = Field("x", min_length=1)
        names: list[str] = Field(["a", "b"], min_length=2)

    rows = _rows(_hook().reference_markdown([Plain]), "Plain")
    assert rows["sizes"][:2] == ["list of int", "`[1, 2]`"]
    assert rows["mode"] == ["str", '`"a b"`', "either \\| or `a | b`"]
    assert rows["rate"][:2] == ["float in [0, 1)", "`0.5`"]
    assert rows["label"][0] == "non-empty str"
    assert rows["names"][:2] == ["list of str with ≥ 2 items", "`[a, b]`"]


def test_a_model_that_cannot_be_imported_fails_loudly():
    hook = _hook()
    with pytest.raises(ImportError, match="keras_ssl.config:NoSuchModel"):
        hook.import_model("keras_ssl.config:NoSuchModel")
    with pytest.raises(TypeError, match="not a pydantic model"):
        hook.import_model("keras_ssl.config:ConfigError")
    assert hook.import_model("keras_ssl.config:Config") is Config


def _user_pages():
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_the_readme_is_short_and_keeps_the_set_up_commands():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    assert "make test" in readme and "make reproduce-umea" in readme


@pytest.mark.parametrize(
    "pattern",
    [r"\.\./shared", r"development machine", r"\bissues?\s*#?\s*\d+", r"(?<![\w/])#\d+\b"],
)
def test_user_pages_speak_to_users(pattern):
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _user_pages()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(pattern, line, flags=re.IGNORECASE)
    ]
    assert not found, "\n".join(found)


def _docstrings_extension():
    pytest.importorskip("griffe")  # the docs extra
    path = ROOT / "docs" / "hooks" / "docstrings.py"
    spec = importlib.util.spec_from_file_location("docstrings_extension", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_doctest_lines_are_fenced_and_shared_arguments_split():
    extension = _docstrings_extension()
    text = "Example:\n\n>>> f([1])\n[(8, 32), (8, 16)]\n\nMore prose.\n```python\n>>> kept\n```"
    assert extension.fence_doctests(text) == (
        "Example:\n\n```pycon\n>>> f([1])\n[(8, 32), (8, 16)]\n```\n\nMore prose.\n"
        "```python\n>>> kept\n```"
    )
    args = "Args:\n    a, b,\n    **rest: as in `f`.\n    c: its own,\n        on two lines.\n\nReturns:\n    x"
    assert extension.split_shared_arguments(args) == (
        "Args:\n    a: as in `f`.\n    b: as in `f`.\n    **rest: as in `f`.\n"
        "    c: its own,\n        on two lines.\n\nReturns:\n    x"
    )
