"""keras_ssl.config: one-line errors from pydantic models, argument checks, YAML reading."""

import time
from typing import Literal

import pytest

from keras_ssl.config import (
    Config,
    ConfigError,
    PositiveFloat,
    PositiveInt,
    SplitSize,
    check,
    deep_merge,
    differences,
    load_yaml,
    parse_assignment,
)


class Inner(Config):
    """Args:
    epochs: epochs.
    """

    epochs: PositiveInt = 3
    sizes: tuple[PositiveInt, ...] = ()


class Outer(Config):
    inner: Inner = Inner()
    rate: PositiveFloat = 0.1
    schedule: Literal["constant", "cosine"] = "constant"
    test: SplitSize = 0.2
    named: dict[str, Inner | None] = {}
    by_kind: dict[Literal["a", "b"], int] = {}


@pytest.mark.parametrize(
    "content, message",
    [
        ({"inner": {"epochs": 0}}, "`inner.epochs` must be an integer >= 1; got 0."),
        ({"inner": {"epochs": True}}, "`inner.epochs` must be an integer >= 1; got True."),
        ({"inner": {"epochs": "3"}}, "`inner.epochs` must be an integer >= 1; got '3'."),
        ({"inner": {"sizes": [2, 0]}}, "`inner.sizes`: every size must be an integer >= 1; got 0."),
        ({"rate": 0}, "`rate` must be a number > 0; got 0."),
        ({"rate": float("inf")}, "`rate` must be a number > 0; got inf."),
        ({"schedule": "step"}, "Unknown schedule 'step' (`schedule`); expected one of: constant, cosine."),
        ({"test": 1.5}, "`test` must be an integer >= 0 or a number in [0, 1); got 1.5."),
        ({"named": {"x": {"epochs": -1}}}, "`named.x.epochs` must be an integer >= 1; got -1."),
        ({"inner": {"epoch": 1, "rate": 2}}, "Unknown key(s) 'epoch', 'rate' in `inner`; known keys: epochs, sizes."),
        ({"colour": 1}, "Unknown key(s) 'colour' in `the settings`; known keys: inner, rate, schedule, test, named, by_kind."),
        ({"by_kind": {"c": 1}}, "Unknown key 'c' in `by_kind`; expected one of: a, b."),
    ],
)  # fmt: skip
def test_errors_are_one_line_naming_the_dotted_key_and_what_is_allowed(content, message):
    with pytest.raises(ConfigError) as error:
        Outer(**content)
    assert str(error.value) == message
    with pytest.raises(ConfigError) as error:
        Outer.validate_at(content, "experiment")
    assert "`experiment." in str(error.value) or "`experiment`" in str(error.value)


def test_models_are_frozen_and_round_trip():
    outer = Outer(inner={"epochs": 5}, named={"x": None})
    assert Outer.from_config(outer.get_config()) == outer
    assert outer.replace(rate=0.5).rate == 0.5 and outer.rate == 0.1
    with pytest.raises(ConfigError, match="Unknown key"):
        outer.replace(speed=1)
    with pytest.raises(ValueError):
        outer.rate = 1.0


def test_check_validates_an_argument_with_the_same_wording():
    assert check(3, PositiveInt, "queue_size") == 3
    with pytest.raises(ConfigError, match=r"^`queue_size` must be an integer >= 1; got 0\.$"):
        check(0, PositiveInt, "queue_size")


@pytest.mark.parametrize(
    "text, value",
    [("1e-3", 0.001), ("5E-4", 0.0005), ("3E+2", 300.0), ("1.5e-3", 0.0015), (".5e1", 5.0),
     ("0.001", 0.001), ("10", 10), ("1e", "1e"), ("e5", "e5"), ("abc1e3", "abc1e3")],
)  # fmt: skip
def test_yaml_reads_floats_as_yaml_1_2_and_python_do(text, value):
    assert load_yaml(f"learning_rate: {text}") == {"learning_rate": value}
    assert parse_assignment(f"pretrain.learning_rate={text}") == ("pretrain.learning_rate", value)


def test_yaml_refuses_a_duplicate_key_but_keeps_merge_keys():
    with pytest.raises(ConfigError, match=r"the key 'a' is given twice \(line 3\); keep one"):
        load_yaml("a: 1\nb: 2\na: 3", "experiment 'x'")
    merged = load_yaml("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3")
    assert merged["other"] == {"x": 1, "y": 3}


def test_yaml_refuses_an_alias_bomb_at_once():
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        previous, name = chr(96 + level), chr(97 + level)
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="expands to more than 100,000 values"):
        load_yaml("\n".join(lines), "experiment 'bomb.yaml'")
    assert time.perf_counter() - start < 5
    assert load_yaml("a: &x [1, 2]\nb: [*x, *x]") == {"a": [1, 2], "b": [[1, 2], [1, 2]]}


def test_deep_merge_replaces_the_arguments_of_a_changed_name():
    base = {"pretrain": {"method": "simclr", "method_args": {"temperature": 0.5}, "epochs": 3}}
    merged = deep_merge(base, {"pretrain": {"method": "byol"}}, {"method": "method_args"})
    assert merged == {"pretrain": {"method": "byol", "method_args": {}, "epochs": 3}}
    assert differences(base, merged) == [
        "pretrain.method: 'simclr' -> 'byol'",
        "pretrain.method_args.temperature: 0.5 -> '<missing>'",
    ]
