"""The YAML reference page, written from the pydantic models that validate the settings.

An mkdocs hook (registered under `hooks:` in mkdocs.yml): on every build it imports
each model of `MODELS` by dotted path and adds the page `reference/config.md` with one
section per model, a table of key, type, default and description each. Nested models
(a field whose type holds a model: `DataSpec`, `list[Variant]`, `dict[str, Evaluation]`)
get their own section, linked from the field's type.

A field's description is its `Field(description=...)` where set, else its entry in the
`Args:` (or `Attributes:`) section of the model's Google-style docstring, looked up
along the model's bases. A model that cannot be imported fails the build.

`reference_markdown(models)` does the writing and needs only pydantic, so the tests
run it without mkdocs.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import json
import re
import types
import typing
from collections.abc import Iterator, Mapping, Sequence

import pydantic
from pydantic.fields import FieldInfo

# The documents a user writes, top-level first: an experiment file, then the two
# settings objects that are also given on their own (the `finetune` and `pretrain`
# arguments of the library calls).
MODELS = [
    "keras_ssl.experiments.schema:Experiment",
    "keras_ssl.encoders:EncoderConfig",
    "keras_ssl.experiments.schema:PretrainSpec",
    "keras_ssl.finetune:FinetuneConfig",
]
PAGE = "reference/config.md"
TITLE = "YAML reference"
INTRODUCTION = """\
Every key an experiment file and the settings objects accept, written from the models
that validate them (so it cannot fall behind them). A key whose default is *required*
must be given; an unknown key is refused with the list of known ones. Types read as
YAML: `null` is YAML's null, a *mapping* is a YAML mapping, a *list* a YAML sequence.
"""


def import_model(path: str) -> type[pydantic.BaseModel]:
    """The model named by `"package.module:Name"`; a clear error if it is not there."""
    module_name, _, name = path.partition(":")
    if not module_name or not name:
        raise ValueError(f"Model path {path!r} must read 'package.module:Name'.")
    try:
        model = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as error:
        raise ImportError(f"Cannot import the settings model {path!r}: {error}") from error
    if not (isinstance(model, type) and issubclass(model, pydantic.BaseModel)):
        raise TypeError(f"{path!r} is {model!r}, not a pydantic model.")
    return model


def docstring_arguments(model: type) -> dict[str, str]:
    """`name -> description` from the `Args:` / `Attributes:` sections of the docstrings
    of `model` and its bases (the nearest class wins)."""
    found: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if cls.__module__.split(".")[0] in ("pydantic", "builtins"):
            continue  # BaseModel's own `Attributes:` are not settings
        found.update(_google_arguments(cls.__dict__.get("__doc__") or ""))
    return found


def _google_arguments(docstring: str) -> dict[str, str]:
    lines = inspect.cleandoc(docstring).splitlines()
    found, name, section_indent, entry_indent = {}, None, None, None
    for line in lines:
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        if section_indent is None:
            if text in ("Args:", "Arguments:", "Attributes:"):
                section_indent = indent
            continue
        if not text:
            continue
        if indent <= section_indent:  # the next section ("Example:", prose)
            section_indent, entry_indent, name = None, None, None
            if text in ("Args:", "Arguments:", "Attributes:"):
                section_indent = indent
            continue
        entry_indent = indent if entry_indent is None else entry_indent
        match = re.match(r"^(\*{0,2}[A-Za-z_]\w*)\s*(?:\([^)]*\))?\s*:\s*(.*)$", text)
        if indent == entry_indent and match:
            name = match.group(1).lstrip("*")
            found[name] = match.group(2)
        elif name is not None:
            found[name] = f"{found[name]} {text}".strip()
    return found


def reference_markdown(
    models: Sequence[type[pydantic.BaseModel]],
    title: str = TITLE,
    introduction: str = INTRODUCTION,
) -> str:
    """The reference page: one section per model and per model nested in them."""
    order = list(_models_in_order(models))
    anchors = _anchors(order)
    parts = [f"# {title}\n", introduction.strip() + "\n"]
    if len(models) > 1:
        parts.append(
            "Documents: " + ", ".join(f"[{m.__name__}](#{anchors[m]})" for m in models) + ".\n"
        )
    for model in order:
        parts.append(_section(model, anchors))
    return "\n".join(parts)


def _models_in_order(models: Sequence[type[pydantic.BaseModel]]) -> Iterator[type]:
    """Each model, then the models its fields hold (depth first), each once."""
    seen: set[type] = set()

    def visit(model):
        if model in seen:
            return
        seen.add(model)
        yield model
        for field in model.model_fields.values():
            for nested in _nested_models(field.annotation):
                yield from visit(nested)

    for model in models:
        yield from visit(model)


def _nested_models(annotation) -> Iterator[type]:
    if _is_model(annotation):
        yield annotation
        return
    for argument in typing.get_args(annotation):
        if not isinstance(argument, (FieldInfo, str, int, float, bool)) and argument is not ...:
            yield from _nested_models(argument)


def _is_model(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel)


def _anchors(models: Sequence[type]) -> dict[type, str]:
    anchors, used = {}, set()
    for model in models:
        anchor = re.sub(r"[^a-z0-9]+", "-", model.__name__.lower()).strip("-")
        if anchor in used:  # two models of one name in different modules
            anchor = re.sub(r"[^a-z0-9]+", "-", f"{model.__module__}.{model.__name__}".lower())
        used.add(anchor)
        anchors[model] = anchor
    return anchors


def _section(model: type[pydantic.BaseModel], anchors: dict[type, str]) -> str:
    doc = inspect.cleandoc(model.__doc__ or "")
    summary = doc.split("\n\n")[0].replace("\n", " ").strip()
    arguments = docstring_arguments(model)
    lines = [f"## {model.__name__} {{#{anchors[model]}}}\n"]
    lines.append(f"`{model.__module__}.{model.__qualname__}`" + (f": {summary}" if summary else ""))
    lines.append("")
    if not model.model_fields:
        lines.append("No keys.\n")
        return "\n".join(lines)
    lines += ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        key = field.alias or name
        description = field.description or arguments.get(name) or arguments.get(key) or ""
        cells = (
            f"`{key}`",
            _type_text(field.annotation, field.metadata, anchors),
            _default_text(field, anchors),
            description,
        )
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """One line, its pipes escaped outside code spans (inside them, tables keep them)."""
    parts = re.split(r"(`[^`]*`)", " ".join(str(text).split()))
    return "".join(p if i % 2 else p.replace("|", "\\|") for i, p in enumerate(parts))


def _type_text(annotation, metadata: Sequence = (), anchors: dict | None = None) -> str:
    """A field's type in words: `int ≥ 1`, `one of: "a", "b"`, `list of float`, ..."""
    anchors = anchors or {}
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_text(arguments[0], [*arguments[1:], *metadata], anchors)
    is_list = origin in (list, tuple, set, frozenset, Sequence) or annotation in (list, tuple)
    prefix, suffix = _constraints(metadata, "items" if is_list else "long")
    if annotation is None or annotation is type(None):
        return "null"
    if annotation is typing.Any:
        return "any value"
    if _is_model(annotation):
        name = annotation.__name__
        return f"[{name}](#{anchors[annotation]})" if annotation in anchors else name
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of: " + ", ".join(f"`{_yaml(m.value)}`" for m in annotation)
    if origin is typing.Literal:
        return "one of: " + ", ".join(f"`{_yaml(a)}`" for a in arguments)
    if origin in (typing.Union, types.UnionType):
        texts = [_type_text(a, (), anchors) for a in arguments]
        # `null` last: "an int ≥ 1 or null" reads better than "null or ...".
        texts = [t for t in texts if t != "null"] + (["null"] if "null" in texts else [])
        return prefix + " or ".join(dict.fromkeys(texts)) + suffix
    if is_list:
        items = [a for a in arguments if a is not ...]
        if origin is tuple and len(items) > 1 and ... not in arguments:
            inner = ", ".join(_inner_type_text(a, anchors) for a in items)
            return f"{prefix}list of {len(items)}: {inner}{suffix}"
        inner = _inner_type_text(items[0], anchors) if items else "values"
        return f"{prefix}list of {inner}{suffix}"
    if origin in (dict, Mapping) or annotation is dict:
        if len(arguments) == 2:
            key, value = (_inner_type_text(a, anchors) for a in arguments)
            return f"{prefix}mapping of {key} to {value}{suffix}"
        return f"{prefix}mapping{suffix}"
    name = getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
    return f"{prefix}{name}{suffix}"


def _inner_type_text(annotation, anchors: dict) -> str:
    """A type inside a list or mapping, in parentheses where it has parts of its own."""
    text = _type_text(annotation, (), anchors)
    return f"({text})" if " or " in text or ", " in text or ": " in text else text


def _constraints(metadata: Sequence, sized: str = "long") -> tuple[str, str]:
    """Bounds and lengths in words, before and after the type: ("non-empty ", " ≥ 1"),
    ("", " in [0, 1)"), ("", " with ≥ 2 items") for a list (`sized="items"`)."""
    found: dict[str, object] = {}
    for item in _flat_metadata(metadata):
        for attribute in ("ge", "gt", "le", "lt", "min_length", "max_length"):
            if getattr(item, attribute, None) is not None:
                found[attribute] = getattr(item, attribute)
    low = [(f"[{found['ge']}", f"≥ {found['ge']}")] if "ge" in found else []
    low = [(f"({found['gt']}", f"> {found['gt']}")] if "gt" in found else low
    high = [(f"{found['le']}]", f"≤ {found['le']}")] if "le" in found else []
    high = [(f"{found['lt']})", f"< {found['lt']}")] if "lt" in found else high
    words = [f"in {low[0][0]}, {high[0][0]}"] if low and high else [b[1] for b in low + high]
    shortest, longest = found.get("min_length"), found.get("max_length")
    if shortest and shortest > 1:
        words.append(f"with ≥ {shortest} {sized}" if sized == "items" else f"≥ {shortest} long")
    if longest is not None:
        words.append(f"with ≤ {longest} {sized}" if sized == "items" else f"≤ {longest} long")
    return ("non-empty " if shortest == 1 else ""), "".join(f" {w}" for w in words)


def _flat_metadata(metadata: Sequence) -> Iterator:
    for item in metadata:
        if isinstance(item, FieldInfo):  # `Annotated[int, Field(ge=0)]` nests one
            yield from _flat_metadata(item.metadata)
        else:
            yield item


def _default_text(field: FieldInfo, anchors: dict[type, str]) -> str:
    if field.is_required():
        return "*required*"
    if field.default_factory is not None:
        try:
            value = field.default_factory()
        except TypeError:  # a factory that takes the validated data
            return "*computed*"
    else:
        value = field.default
    if isinstance(value, pydantic.BaseModel):
        target = type(value)
        return f"[its defaults](#{anchors[target]})" if target in anchors else "its defaults"
    return f"`{_yaml(value)}`"


def _yaml(value) -> str:
    """A default as it would be written in YAML (flow style)."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, pydantic.BaseModel):
        value = value.model_dump(mode="json")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value if re.fullmatch(r"[A-Za-z_][\w.\-/]*", value) else json.dumps(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_yaml(k)}: {_yaml(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, default=str)


def on_files(files, config):
    """mkdocs hook: add the reference page, built from `MODELS`, to the site's files."""
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File

    try:
        models = [import_model(path) for path in MODELS]
    except (ImportError, TypeError, ValueError) as error:
        raise PluginError(f"config_reference hook: {error}") from error
    files.append(File.generated(config, PAGE, content=reference_markdown(models)))
    return files
