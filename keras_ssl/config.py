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

from collections.abc import Mapping, Sequence
from typing import Annotated

import pydantic
from pydantic import ConfigDict, Field, Strict


class ConfigError(ValueError):
    """Bad input: a key, a value, a file, the data or the output folder.

    The message names the bad key or value and what is expected, on one line.
    """


class DataSourceError(ConfigError):
    """The data source cannot be used: missing, wrong layout, or unreachable."""


# Integers are strict (YAML's `true` or `"3"` is not a count); floats take integers.
Count = Annotated[int, Strict(), Field(ge=0)]
PositiveInt = Annotated[int, Strict(), Field(ge=1)]
PositiveFloat = Annotated[float, Strict(), Field(gt=0)]
Name = Annotated[str, Strict(), Field(min_length=1)]
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
        return type(self)(**{**self.model_dump(), **changes})


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
    first = details[0]
    path, field = _field(schema, first["loc"])
    prefix = [where] if where else []
    key = ".".join(map(str, prefix + path)) or where or "the settings"
    name = str(path[-1]) if path else key
    if first["type"] == "extra_forbidden":
        return _unknown_keys(details, first["loc"][:-1], schema, prefix)
    if first["type"] in ("value_error", "assertion_error"):
        text = str(first["ctx"]["error"])
        if "{key}" in text:
            return text.replace("{key}", key).replace("{name}", name)
        return f"`{key}`: {text}"
    if "enum" in field:
        return (
            f"Unknown {name} {first['input']!r} (`{key}`); expected one of: "
            f"{', '.join(map(str, field['enum']))}."
        )
    return f"`{key}` must be {expectation(field, schema)}; got {first['input']!r}."


def _unknown_keys(details: Sequence[dict], loc: Sequence, schema: dict, prefix: list) -> str:
    parent, node = _field(schema, loc)
    unknown = [
        repr(d["loc"][-1])
        for d in details
        if d["type"] == "extra_forbidden" and _field(schema, d["loc"][:-1])[0] == parent
    ]
    known = list(_resolve(schema, node).get("properties", {}))
    where = ".".join(map(str, prefix + parent)) or "the settings"
    return f"Unknown key(s) {', '.join(unknown)} in `{where}`; known keys: {', '.join(known)}."


def _resolve(schema: dict, node: dict) -> dict:
    """`node` with `$ref`s followed and a nullable `anyOf` reduced to its object branch."""
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    branches = [_resolve(schema, b) for b in node.get("anyOf", ())]
    objects = [b for b in branches if b.get("type") == "object"]
    return objects[0] if len(objects) == 1 and "properties" in objects[0] else node


def _field(schema: dict, loc: Sequence) -> tuple[list, dict]:
    """The keys of `loc` that name settings (union-branch tags dropped), and their schema."""
    path, node = [], schema
    for part in loc:
        node_ = _resolve(schema, node)
        if isinstance(part, str) and part in node_.get("properties", {}):
            node = node_["properties"][part]
        elif isinstance(node_.get("additionalProperties"), dict) and isinstance(part, str):
            node = node_["additionalProperties"]
        elif isinstance(part, int) and "items" in node_:
            node = node_["items"]
        elif not node_ and not node_.get("anyOf"):
            node = {}
        else:
            continue  # a tag pydantic adds for a union's branch, not a key
        path.append(part)
    return path, _resolve(schema, node) if "$ref" in node else node


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
    if kind == "string":
        return "a non-empty string" if field.get("minLength") else "a string"
    if "enum" in field:
        return "one of: " + ", ".join(map(str, field["enum"]))
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


def check_choice(value, choices: Sequence[str]):
    """`value` if it is one of `choices`, else a `ValueError` worded as a `Literal`'s.

    For validators of choices known only at run time (the registered methods,
    encoders, recipes): `error_message` fills in the key.
    """
    if value not in choices:
        raise ValueError(
            f"Unknown {{name}} {value!r} (`{{key}}`); expected one of: "
            f"{', '.join(map(str, choices))}."
        )
    return value
