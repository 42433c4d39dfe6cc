"""A griffe extension that lets keras_ssl's docstrings render as written in the API pages.

keras_ssl's docstrings follow Keras': an `Example:` section of doctest lines
(`>>> ...` and their output), and `Args:` entries that document several
arguments at once (`encoder, train_data, ...: as in finetune`). Markdown reads
`>>>` as a nested quote and `[...]` output as a link, and griffe's Google parser
takes one name per entry, so before parsing each docstring:

- a run of doctest lines (from a `>>>` line to the next blank line) is put in a
  fenced `pycon` block;
- an `Args:` entry naming several arguments becomes one entry per argument, each
  with the shared description.

mkdocs.yml lists it under the python handler's `extensions`.
"""

from __future__ import annotations

import re

import griffe

_ENTRY = re.compile(r"^(?P<names>\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)+)\s*:\s*(?P<text>.*)$")


def fence_doctests(text: str) -> str:
    """`text` with each run of doctest lines inside a ```pycon fence."""
    out, in_fence, in_doctest, indent = [], False, False, ""
    for line in text.splitlines():
        stripped = line.strip()
        if in_doctest and (not stripped or not line.startswith(indent)):
            out.append(f"{indent}```")
            in_doctest = False
        if stripped.startswith("```") and not in_doctest:
            in_fence = not in_fence
        elif not in_fence and not in_doctest and stripped.startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}```pycon")
            in_doctest = True
        out.append(line)
    if in_doctest:
        out.append(f"{indent}```")
    return "\n".join(out)


def split_shared_arguments(text: str) -> str:
    """`text` with `Args:` entries naming several arguments written once per argument."""
    lines, out, index = text.splitlines(), [], 0
    section_indent = None
    while index < len(lines):
        line = lines[index]
        indent = len(line) - len(line.lstrip())
        if line.strip() in ("Args:", "Arguments:"):
            section_indent = indent
            out.append(line)
            index += 1
            continue
        if section_indent is not None and line.strip() and indent <= section_indent:
            section_indent = None
        if section_indent is None or not line.strip():
            out.append(line)
            index += 1
            continue
        # One entry: its first line (a list of names may run on over lines ending
        # in ","), then the deeper-indented lines after it.
        block = [line]
        index += 1
        while index < len(lines) and lines[index].strip():
            deeper = len(lines[index]) - len(lines[index].lstrip()) > indent
            names_go_on = ":" not in " ".join(block) and block[-1].rstrip().endswith(",")
            if not (deeper or names_go_on):
                break
            block.append(lines[index])
            index += 1
        joined = " ".join(part.strip() for part in block)
        match = _ENTRY.match(joined)
        if match:
            names = [name.strip() for name in match["names"].split(",")]
            out += [f"{' ' * indent}{name}: {match['text']}" for name in names]
        else:
            out += block
    return "\n".join(out)


class KerasDocstrings(griffe.Extension):
    """Rewrites each docstring as described in the module docstring, before parsing."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            value = split_shared_arguments(fence_doctests(obj.docstring.value))
            obj.docstring.value = value
