"""Settings as typed models: one place that validates, and one-line errors naming the key.

Every settings object of keras_ssl (fine-tuning recipes, pretraining, experiment
files) is a `Config`: a frozen pydantic model with unknown keys forbidden, choices as
`Literal`s, bounds as `Field` constraints and cross-field rules as validators. A bad
value raises `ConfigError` with one line: the dotted key, what is allowed, what was
given. The `keras-ssl` command prints that line and exits with status 2.

Example:

```python
from typing import Literal
from keras_ssl.config import Config, PositiveInt

class Training(Config):
    epochs: PositiveInt = 10
    schedule: Literal["constant", "cosine"] = "constant"

Training(epochs=0)
# ConfigError: `epochs` must be an integer >= 1; got 0.
Training(schedule="step")
# ConfigError: Unknown schedule 'step' (`schedule`); expected one of: constant, cosine.
```
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import pydantic
import yaml
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, Strict


class ConfigError(ValueError):
    """Bad input: a key, a value, a file, the data or the output folder.

    The message names the bad key or value and what is expected, on one line.
    """


class DataSourceError(ConfigError):
    """The data source cannot be used: missing, wrong layout, or unreachable."""


# Integers are strict (YAML's `true` or `"3"` is not a count); floats take integers.
Count = Annotated[int, Strict(), Field(ge=0)]
PositiveInt = Annotated[int, Strict(), Field(ge=1)]
PositiveFloat = Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)]
Name = Annotated[str, Strict(), Field(min_length=1)]
# A name that becomes part of a file or folder name: no path separators, no `..`.
FileName = Annotated[str, Strict(), Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
# A seed NumPy and every backend take.
Seed = Annotated[int, Strict(), Field(ge=0, lt=2**32)]
# An image side in pixels, from the smallest encoder input to what memory can hold.
ImageSide = Annotated[int, Strict(), Field(ge=8, le=4096)]
# `PositiveInt` that also takes NumPy integers (function arguments computed with NumPy).
PositiveIntLike = Annotated[
    PositiveInt,
    BeforeValidator(
        lambda v: int(v) if isinstance(v, numbers.Integral) and not isinstance(v, bool) else v
    ),
]


def _keras_optimizer(name: str) -> str:
    import keras

    try:
        keras.optimizers.get({"class_name": name, "config": {"learning_rate": 1e-3}})
    except (ValueError, TypeError):
        raise ValueError(
            f"Unknown optimizer {name!r} (`{{key}}`); use a Keras optimizer name such as "
            "'adam', 'adamw', 'sgd' or 'rmsprop'."
        ) from None
    return name


# A name `keras.optimizers.get` knows ("adam", "adamw", "sgd", ...).
OptimizerName = Annotated[Name, AfterValidator(_keras_optimizer)]
# Keyword arguments of a builder, method or recipe; null is none.
Arguments = Annotated[dict[str, Any], BeforeValidator(lambda value: {} if value is None else value)]
# A split size: a count of images, or a fraction of them.
SplitSize = Annotated[int, Strict(), Field(ge=0)] | Annotated[float, Strict(), Field(ge=0, lt=1)]


class Config(pydantic.BaseModel):
    """A frozen settings model whose errors are one-line `ConfigError`s.

    Subclasses declare fields with types, `Literal` choices and `Field` bounds.
    `get_config()` / `from_config()` round-trip through plain dicts, and
    `replace(**changes)` returns a validated copy.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    def __init__(self, **data):
        try:
            super().__init__(**data)
        except pydantic.ValidationError as error:
            raise ConfigError(error_message(error, type(self))) from None

    # Nested models are validated by pydantic itself, not through this `__init__`, so
    # that their errors keep their full key (pydantic calls a custom `__init__` only
    # where this marker is missing).
    __init__.__pydantic_base_init__ = True

    @classmethod
    def validate_at(cls, content, where: str = ""):
        """`cls(**content)`, with errors naming keys below `where` (e.g. "pretrain").

        Example:

        >>> Training.validate_at({"epochs": 0}, "pretrain")
        ConfigError: `pretrain.epochs` must be an integer >= 1; got 0.
        """
        if content is None:
            content = {}
        if not isinstance(content, Mapping):
            raise ConfigError(f"`{where or cls.__name__}` must be a mapping; got {content!r}.")
        try:
            return cls.model_validate(dict(content))
        except pydantic.ValidationError as error:
            raise ConfigError(error_message(error, cls, where)) from None

    def get_config(self) -> dict:
        """The fields as plain (YAML- and JSON-friendly) values."""
        return self.model_dump(mode="json")

    @classmethod
    def from_config(cls, config: Mapping):
        return cls(**config)

    def replace(self, **changes):
        """A copy with some fields changed, validated again; unknown names raise."""
        return type(self)(**{**self.model_dump(by_alias=True), **changes})


def error_message(error: pydantic.ValidationError, model: type, where: str = "") -> str:
    """The first error of a `ValidationError` of `model` as one line naming its key.

    Args:
        error: what pydantic raised.
        model: the model validated.
        where: the dotted key of the model in a larger document (e.g. "pretrain").

    A validator's `ValueError` may write `{key}` and `{name}` for the dotted key and
    its last part; without them its message follows the key.

    Example:

    >>> error_message(validation_error, PretrainConfig, "pretrain")
    "`pretrain.epochs` must be an integer >= 1; got 0."
    """
    details = error.errors(include_url=False)
    schema = model.model_json_schema()
    # Of a union's failed branches, the one that got furthest names the problem best.
    same_field = [d for d in details if d["loc"][:1] == details[0]["loc"][:1]]
    first = max(same_field, key=lambda d: len(d["loc"]))
    path, field = _field(schema, first["loc"])
    prefix = [where] if where else []
    root = model.model_config.get("title") or "the settings"
    key = ".".join(map(str, prefix + path)) or where or root
    name = str(path[-1]) if path else key
    if first["type"] == "extra_forbidden":
        return _unknown_keys(details, first["loc"][:-1], schema, prefix, root)
    if "[key]" in first["loc"]:  # a mapping's key is not one of its choices
        parent, node = _field(schema, first["loc"][: first["loc"].index("[key]") - 1])
        choices = _resolve(schema, node).get("propertyNames", {}).get("enum")
        where = ".".join(map(str, prefix + parent))
        if choices is None:
            return f"`{where}` has the key {first['input']!r}: {first['msg'].lower()}."
        return (
            f"Unknown key {first['input']!r} in `{where}`; expected one of: "
            f"{', '.join(map(str, choices))}."
        )
    if first["type"] in ("value_error", "assertion_error"):
        text = str(first["ctx"]["error"])
        if "{key}" in text:
            return text.replace("{key}", key).replace("{name}", name)
        return f"`{key}`: {text}" if path or where else text
    if path and isinstance(path[-1], int):  # an item of a list
        items = str(path[-2]) if len(path) > 1 else "item"
        key = key.rsplit(".", 1)[0]
        item = items[:-1] if items.endswith("s") else "item"
        return (
            f"`{key}`: every {item} must be {expectation(field, schema)}; got {first['input']!r}."
        )
    if "enum" in field:
        return (
            f"Unknown {name} {first['input']!r} (`{key}`); expected one of: "
            f"{', '.join(map(str, field['enum']))}."
        )
    return f"`{key}` must be {expectation(field, schema)}; got {first['input']!r}."


def _unknown_keys(
    details: Sequence[dict], loc: Sequence, schema: dict, prefix: list, root: str
) -> str:
    parent, node = _field(schema, loc)
    unknown = [
        repr(d["loc"][-1])
        for d in details
        if d["type"] == "extra_forbidden" and _field(schema, d["loc"][:-1])[0] == parent
    ]
    known = list(_resolve(schema, node).get("properties", {}))
    where = ".".join(map(str, prefix + parent)) or root
    return f"Unknown key(s) {', '.join(unknown)} in `{where}`; known keys: {', '.join(known)}."


def _resolve(schema: dict, node: dict) -> dict:
    """`node` with `$ref`s followed and a nullable `anyOf` reduced to its object branch."""
    node = _follow(schema, node)
    branches = [_resolve(schema, b) for b in node.get("anyOf", ())]
    objects = [b for b in branches if b.get("type") == "object"]
    return objects[0] if len(objects) == 1 else node


def _field(schema: dict, loc: Sequence) -> tuple[list, dict]:
    """The keys of `loc` that name settings (union-branch tags dropped), and their schema."""
    path, node, tag_next = [], schema, False
    for part in loc:
        if tag_next:  # pydantic names the branch of a union it tried
            tag_next = False
            continue
        node_ = _resolve(schema, node)
        if isinstance(part, str) and part in node_.get("properties", {}):
            node = node_["properties"][part]
        elif isinstance(node_.get("additionalProperties"), dict) and isinstance(part, str):
            node = node_["additionalProperties"]
        elif isinstance(part, int) and "items" in node_:
            node = node_["items"]
        else:
            continue
        path.append(part)
        branches = [b for b in _follow(schema, node).get("anyOf", ()) if b.get("type") != "null"]
        tag_next = len(branches) > 1
    return path, _follow(schema, node)


def _follow(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def expectation(field: dict, schema: dict | None = None) -> str:
    """What a field's JSON schema allows, in words: "an integer >= 1 or null".

    Example:

    >>> expectation({"type": "number", "exclusiveMinimum": 0})
    'a number > 0'
    """
    if "anyOf" in field:
        texts = [expectation(branch, schema) for branch in field["anyOf"]]
        return " or ".join(dict.fromkeys(texts))
    if "$ref" in field and schema is not None:
        return expectation(_resolve(schema, field), schema)
    kind = field.get("type")
    if kind in ("integer", "number"):
        return ("an integer" if kind == "integer" else "a number") + _bounds(field)
    if kind == "string" and "pattern" in field:
        return "a name of letters, digits, '_', '.' and '-' (no '/')"
    if kind == "string":
        return "a non-empty string" if field.get("minLength") else "a string"
    if "enum" in field:
        return "one of: " + ", ".join(map(str, field["enum"]))
    if kind == "array" and field.get("minItems"):
        return f"a list of at least {field['minItems']}"
    words = {"boolean": "true or false", "null": "null", "object": "a mapping", "array": "a list"}
    return words.get(kind, "a valid value")


def _bounds(field: dict) -> str:
    low = ("[", field["minimum"]) if "minimum" in field else None
    low = ("(", field["exclusiveMinimum"]) if "exclusiveMinimum" in field else low
    high = ("]", field["maximum"]) if "maximum" in field else None
    high = (")", field["exclusiveMaximum"]) if "exclusiveMaximum" in field else high
    if low and high:
        return f" in {low[0]}{low[1]}, {high[1]}{high[0]}"
    if low:
        return f" {'>=' if low[0] == '[' else '>'} {low[1]}"
    if high:
        return f" {'<=' if high[0] == ']' else '<'} {high[1]}"
    return ""


@functools.cache
def _adapter(kind) -> pydantic.TypeAdapter:
    return pydantic.TypeAdapter(kind)


def check(value, kind, name: str):
    """`value` validated as the type `kind` (e.g. `PositiveInt`), else a one-line error.

    For arguments of layers and functions, worded as the settings' errors are.

    Args:
        value: the argument.
        kind: a type, with constraints (`PositiveInt`, `Count`, `PositiveFloat`, ...).
        name: the argument's name, for the message.

    Returns:
        The validated value (e.g. a list as the tuple `kind` asks for).

    Raises:
        ConfigError: (a `ValueError`) naming the argument, what it must be and its value.

    Example:

    >>> check(0, PositiveInt, "queue_size")
    ConfigError: `queue_size` must be an integer >= 1; got 0.
    """
    adapter = _adapter(kind)
    try:
        return adapter.validate_python(value)
    except pydantic.ValidationError:
        expected = expectation(adapter.json_schema())
        raise ConfigError(f"`{name}` must be {expected}; got {value!r}.") from None


def check_choice(value, choices: Sequence[str], field: str | None = None):
    """`value` if it is one of `choices`, else a `ValueError` worded as a `Literal`'s.

    For validators of choices known only at run time (the registered methods,
    encoders, recipes): `error_message` fills in the key.

    Args:
        value: the value given.
        choices: the allowed values.
        field: the field's name, where a model validator (not the field's own) checks
            it; None names the validated field itself.
    """
    if value not in choices:
        name, key = ("{name}", "{key}") if field is None else (field, f"{{key}}.{field}")
        raise ValueError(
            f"Unknown {name} {value!r} (`{key}`); expected one of: {', '.join(map(str, choices))}."
        )
    return value


# -- documents: the nested dicts settings are written as ------------------------------------


def deep_merge(base: Mapping, changes: Mapping, replaced_with: Mapping[str, str] = {}) -> dict:
    """`base` with `changes` merged in, mapping by mapping; other values replace.

    Args:
        base: the document.
        changes: what to change (e.g. a profile).
        replaced_with: `{name key: arguments key}`: where `changes` gives another
            name (e.g. `method`), its arguments (`method_args`) are those `changes`
            gives, or none, instead of a merge with the old name's.

    Example:

    >>> deep_merge({"data": {"test": 0.2, "val": 0.1}}, {"data": {"val": 0}})
    {'data': {'test': 0.2, 'val': 0}}
    """
    merged = copy.deepcopy(dict(base))
    for key, value in (changes or {}).items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value, replaced_with)
        else:
            merged[key] = copy.deepcopy(value)
    for key, arguments in replaced_with.items():
        # Names only (a recipe's `augment: true` is a switch, and has no arguments).
        names = all(isinstance(v, (str, type(None))) for v in (base.get(key), changes.get(key)))
        if key in (changes or {}) and base.get(key) != changes[key] and names:
            merged[arguments] = copy.deepcopy(changes.get(arguments) or {})
    return merged


def set_value(document: dict, key: str, value, replaced_with: Mapping[str, str] = {}) -> None:
    """Sets the dotted `key` of `document` in place, creating mappings on the way.

    As in `deep_merge`, setting another name of `replaced_with` clears its arguments.

    Example:

    >>> document = {"pretrain": {"epochs": 3}}
    >>> set_value(document, "pretrain.epochs", 5)
    """
    parts = key.split(".")
    target = document
    for depth, part in enumerate(parts[:-1]):
        if target.get(part) is None:
            target[part] = {}
        if not isinstance(target[part], dict):
            where = ".".join(parts[: depth + 1])
            raise ConfigError(f"`{where}` is not a mapping; cannot set {key!r}.")
        target = target[part]
    arguments = replaced_with.get(parts[-1])
    if arguments and target.get(parts[-1]) != value:
        target[arguments] = {}
    target[parts[-1]] = value


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2's floats, refused duplicate keys, bounded aliases.

    PyYAML follows YAML 1.1, where `1e-3` (no dot) is a string; and it keeps the last of
    two equal keys, and expands nested aliases without bound (the "billion laughs").
    """

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None and _expanded_size(node, {}) > MAX_YAML_NODES:
            raise ConfigError(
                f"it expands to more than {MAX_YAML_NODES:,} values (nested aliases `*name`?); "
                "write the values out instead"
            )
        return node

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:  # the keys written here (merged ones may be overridden)
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node.value, str):
                continue
            if (key_node.tag, key_node.value) in seen:
                line = key_node.start_mark.line + 1
                raise ConfigError(
                    f"the key {key_node.value!r} is given twice (line {line}); keep one"
                )
            seen.add((key_node.tag, key_node.value))
        return super().construct_mapping(node, deep)


def _expanded_size(node, sizes: dict) -> int:
    """How many values `node` holds with every alias written out (shared nodes counted once
    per use, each computed once)."""
    if id(node) not in sizes:
        children = node.value if isinstance(node.value, list) else []
        pairs = [
            item for child in children for item in (child if isinstance(child, tuple) else (child,))
        ]
        sizes[id(node)] = 1 + sum(_expanded_size(child, sizes) for child in pairs)
    return sizes[id(node)]


MAX_YAML_NODES = 100_000
MAX_YAML_CHARACTERS = 1_000_000
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def load_yaml(text: str, what: str = "the YAML text"):
    """`text` parsed as YAML: floats as YAML 1.2 reads them (`1e-3`), duplicate keys and
    alias bombs refused, in one line naming `what`.

    Example:

    >>> load_yaml("learning_rate: 1e-3")
    {'learning_rate': 0.001}
    """
    if len(text) > MAX_YAML_CHARACTERS:
        raise ConfigError(f"{what} is over {MAX_YAML_CHARACTERS:,} characters; is it YAML?")
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except ConfigError as error:
        raise ConfigError(f"Cannot read {what}: {error}.") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"Cannot parse {what}: {' '.join(str(error).split())}") from None


def parse_assignment(assignment: str) -> tuple[str, Any]:
    """`"dotted.key=value"` as `(key, value)`, the value parsed as YAML.

    Example:

    >>> parse_assignment("evaluations.finetune.fractions=[0.1, 1.0]")
    ('evaluations.finetune.fractions', [0.1, 1.0])
    """
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"Expected KEY=VALUE (e.g. pretrain.epochs=3); got {assignment!r}.")
    return key.strip(), load_yaml(text, f"the value of {assignment!r}") if text.strip() else None


def differences(old: Mapping, new: Mapping, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two documents, as `key: old -> new`.

    Example:

    >>> differences({"seed": 0, "data": {"test": 10}}, {"seed": 0, "data": {"test": 20}})
    ['data.test: 10 -> 20']
    """
    lines = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key, "<missing>"), new.get(key, "<missing>")
        name = f"{prefix}{key}"
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            lines.extend(differences(a, b, prefix=f"{name}."))
        elif not _same(a, b):
            lines.append(f"{name}: {a!r} -> {b!r}")
    return lines


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return a == b


class _Dumper(yaml.SafeDumper):
    """Block-style sections, lists on one line: `fractions: [0.01, 0.05, ...]`."""


for _sequence in (list, tuple):
    _Dumper.add_representer(
        _sequence, lambda d, value: d.represent_sequence("tag:yaml.org,2002:seq", value, True)
    )


def dump_yaml(content: Mapping) -> str:
    """Nested dicts as YAML text, keys in their order, lists on one line."""
    return yaml.dump(
        dict(content), Dumper=_Dumper, sort_keys=False, default_flow_style=False,
        allow_unicode=True, width=100,
    )  # fmt: skip
