"""`keras_ssl.registry.Registry`, and the six registries of the package built on it.

Named test_registries.py: `tests/pretext/test_registry.py` holds the basename (the test
folders are not packages).
"""

import ast
import re
from pathlib import Path

import pytest

import keras_ssl
from keras_ssl import augment, data, encoders, finetune, pretext
from keras_ssl.config import ConfigError
from keras_ssl.registry import Registry

PACKAGE = Path(keras_ssl.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    """The modules a file imports from, by its `import` and `from ... import` lines."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.add(node.module)
    return modules


def _schedules() -> Registry:
    schedules = Registry("schedule")

    @schedules.register("constant", description="The same rate throughout.")
    def constant(step, rate):
        return rate

    def cosine(step, rate):
        """Cosine decay to zero.

        More prose.
        """

    schedules.register("cosine", cosine, period=100)
    schedules.register("step", lambda step, rate: rate)
    return schedules


def test_register_get_available_describe_and_entry():
    schedules = _schedules()
    assert schedules.get("constant")(3, 0.1) == 0.1  # the decorator returns the function
    assert schedules.available() == ["constant", "cosine", "step"]
    assert "cosine" in schedules and "linear" not in schedules and ["x"] not in schedules
    assert schedules.describe("constant") == "The same rate throughout."
    assert schedules.describe("cosine") == "Cosine decay to zero."
    assert schedules.describe("step") == "step"  # no description, no docstring
    assert schedules.entry("cosine") == {"period": 100}
    schedules.entry("cosine")["period"] = 1  # a copy
    assert schedules.entry("cosine") == {"period": 100} and schedules.entry("step") == {}


def test_a_name_is_taken_once():
    schedules = _schedules()
    cosine = schedules.get("cosine")
    assert schedules.register("cosine", cosine, period=50) is cosine  # the same object again
    assert schedules.entry("cosine") == {"period": 50}
    with pytest.raises(ValueError, match=r"Schedule 'cosine' is already registered \(.*cosine\)"):
        schedules.register("cosine", lambda step, rate: 0.0)
    with pytest.raises(ValueError, match=r"Schedule 'cosine' is already registered"):
        schedules.register("cosine")(lambda step, rate: 0.0)


def test_unknown_names_raise_a_one_line_config_error():
    schedules = _schedules()
    message = "Unknown schedule 'linear'; expected one of: constant, cosine, step."
    for call in (schedules.get, schedules.entry, schedules.describe):
        with pytest.raises(ConfigError) as error:
            call("linear")
        assert str(error.value) == message
    with pytest.raises(ConfigError, match=r"Unknown schedule \['x'\]; expected one of"):
        schedules.get(["x"])  # unhashable
    worded = Registry("shape", unknown="No shape {name} here; try {names}.")
    worded.register("square", object())
    with pytest.raises(ValueError, match=r"^No shape 'circle' here; try square\.$"):
        worded.get("circle")


def test_copy_is_independent():
    schedules = _schedules()
    copy = schedules.copy()
    copy.register("linear", lambda step, rate: rate)
    assert "linear" in copy and "linear" not in schedules
    assert copy.get("cosine") is schedules.get("cosine")
    with pytest.raises(ConfigError, match="Unknown schedule 'x'"):
        copy.get("x")


def test_the_registry_module_imports_only_the_config_of_keras_ssl():
    imported = _imported_modules(PACKAGE / "registry.py")
    assert {m for m in imported if m.startswith("keras_ssl")} == {"keras_ssl.config"}


def test_the_six_registries_are_registries():
    from keras_ssl.augment import presets
    from keras_ssl.data import catalog
    from keras_ssl.encoders import registry as encoder_registry
    from keras_ssl.evaluate import protocols as evaluations
    from keras_ssl.finetune import recipes
    from keras_ssl.pretext import registry as method_registry

    registries = {
        method_registry.METHODS: pretext.available(),
        encoder_registry.ENCODERS: encoders.available(),
        recipes.RECIPES: finetune.available_recipes(),
        catalog.DATASETS: data.available_datasets(),
        presets.PRESETS: list(augment.available()),
        evaluations.KINDS: evaluations.available(),
    }
    for registry, names in registries.items():
        assert isinstance(registry, Registry)
        assert registry.available() == names and names, registry
        for name in names:
            assert registry.describe(name) and "\n" not in registry.describe(name)
    assert pretext.method_class("simclr") is pretext.SimCLR is method_registry.METHODS.get("simclr")
    assert encoders.info("resnet18").builder is encoders.resnet18
    assert finetune.get_recipe("umea") is recipes.RECIPES.get("umea")
    assert evaluations.get("knn").run is evaluations.KINDS.get("knn")
    assert not evaluations.get("knn").trains and evaluations.get("finetune").trains
    celeb_a = catalog.DATASETS.entry("celeb_a")
    assert celeb_a == {"splits": ("train", "validation", "test"), "multi_label": True}
    assert data.is_multi_label_dataset("celeb_a") and not data.is_multi_label_dataset("cifar10")
    assert augment.get("umea").name == "umea_augment"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: pretext.get("x", None), r"Unknown pretext method 'x'; available: byol, "),
        (lambda: encoders.get("x"), r"Unknown encoder 'x'. Available encoders: efficientnet_b0, "),
        (lambda: finetune.get_recipe("x"), r"Unknown recipe 'x'. Available recipes: full, "),
        (lambda: data.load_dataset("x"), r"Unknown data set 'x'; the catalogue has: celeb_a, "),
        (lambda: augment.get("x"), r"Unknown augmentation 'x': expected one of \['none', "),
    ],
)
def test_each_registry_keeps_its_message_for_an_unknown_name(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_evaluation_kinds_refuse_a_second_function_under_a_taken_name():
    from keras_ssl.evaluate import protocols as evaluations

    with pytest.raises(
        ConfigError, match=r"Unknown evaluation kind 'x'; expected one of: baseline"
    ):
        evaluations.get("x")
    with pytest.raises(ValueError, match="Evaluation kind 'knn' is already registered"):
        evaluations.register("knn")(lambda inputs: {})


@pytest.mark.parametrize("package", [pretext, encoders], ids=lambda p: p.__name__)
def test_methods_and_encoders_are_imported_and_exported_explicitly(package):
    """Adding a method or an encoder is its file plus one import line in `__init__.py`."""
    init = Path(package.__file__)
    imported = _imported_modules(init)
    assert "pkgutil" not in imported and "globals()" not in init.read_text()
    # A module that registers has a top-level `@register(...)` line.
    registering = [
        p for p in init.parent.glob("*.py") if re.search(r"^@register\(", p.read_text(), re.M)
    ]
    assert len(registering) >= 6
    for path in registering:
        module = f"{package.__name__}.{path.stem}"
        assert module in imported, f"{path.name} registers, but {init} does not import it"
    exported = set(package.__all__)
    assert all(hasattr(package, name) for name in exported)
    if package is pretext:
        registered = {pretext.method_class(name).__name__ for name in pretext.available()}
    else:
        registered = {encoders.info(name).builder.__name__ for name in encoders.available()}
    assert registered <= exported
