"""The package's shape: no import circles, data flowing one way, the experiment layer's size.

Imports are read from the source (module level and inside functions alike), so the
checks see what a lazy import would hide from `sys.modules`.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1] / "keras_ssl"
# The data flow: a module may import from its own layer and those to its left.
LAYERS = [
    {"_lazy", "_files", "config", "registry", "utils", "callbacks", "resume", "run_folder"},
    {"distribution"},
    {"data"},
    {"augment"},
    {"encoders", "heads", "losses"},
    {"pretext"},
    {"finetune", "evaluate", "plots"},
    {"experiments"},
    {"cli"},
]


def _modules() -> dict[str, Path]:
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = ("keras_ssl", *path.relative_to(ROOT).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """The keras_ssl modules `name` imports, anywhere in its source."""
    tree = ast.parse(MODULES[name].read_text())
    package = name if MODULES[name].name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target.startswith("keras_ssl") and target != name:
                found.add(target)
    return found


def _layer(name: str) -> int:
    top = name.split(".")[1] if "." in name else "_lazy"
    return next(i for i, layer in enumerate(LAYERS) if top in layer)


def test_no_module_imports_one_that_imports_it_back():
    """Circles through package `__init__` files (which re-export their modules) aside."""
    graph = {
        name: {t for t in _imports(name) if MODULES[t].name != "__init__.py"}
        for name in MODULES
        if MODULES[name].name != "__init__.py"
    }
    circles = []

    def visit(node, trail):
        for target in graph.get(node, ()):
            if target in trail:
                circles.append(trail[trail.index(target) :] + [target])
            elif target not in done:
                visit(target, trail + [target])
        done.add(node)

    done = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [name])
    assert circles == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n != "keras_ssl"))
def test_data_flows_one_way(name):
    """No module imports from a layer to its right (data -> ... -> experiments -> cli)."""
    rightward = sorted(t for t in _imports(name) if t != "keras_ssl" and _layer(t) > _layer(name))
    assert rightward == [], f"{name} imports {rightward}"


def test_the_experiment_layer_stays_small():
    files = [*(ROOT / "experiments").glob("*.py"), ROOT / "cli.py"]
    assert sum(len(path.read_text().splitlines()) for path in files) <= 2000
