"""The folders draw the layers: imports point down (or within a package), never up, never in a circle.

Every import counts, those under `if TYPE_CHECKING:` and inside functions too: a type-only circle is
still a circle a reader has to untangle.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

import simulator

PACKAGE_ROOT = Path(simulator.__file__).parent

#: Each room and its layer: a module may import its own room and any room of a lower layer.
LAYERS: dict[str, float] = {
    "simulator": 0, "simulator.defaults": 0, "simulator.core": 0,
    "simulator.core.reports": 0.1, "simulator.core.config": 0.2, "simulator.core.mail": 0.3,
    "simulator.transport": 1,
    "simulator.gateway": 2, "simulator.endpoints": 2, "simulator.settings": 2,
    "simulator.admin": 3,
    "simulator.console": 3.5,
    "simulator.sandbox": 4,
    "simulator.conformance": 4,
    "simulator.cli": 5,
    "simulator.testing": 6,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE_ROOT.rglob("*.py")}


def room(module: str) -> str:
    """The room (`simulator.core`, `simulator.gateway`, ...) that `module` lives in."""
    return max((name for name in LAYERS if module == name or module.startswith(name + ".")), key=len)


def imported(module: str) -> Iterator[str]:
    """Every simulator module that `module` imports, wherever the import statement stands."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            if name in MODULES and name != module and not module.startswith(name + "."):
                yield name


@functools.cache
def graph() -> dict[str, list[str]]:
    """Each module's imports of our modules: parsed once, by the worker that runs these tests."""
    return {module: sorted(set(imported(module))) for module in MODULES}


def test_every_module_lives_in_a_room() -> None:
    assert all(room(module) for module in MODULES)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_or_stay_in_the_room(module: str) -> None:
    upward = [target for target in graph()[module]
              if room(target) != room(module) and LAYERS[room(target)] >= LAYERS[room(module)]
              and room(target) != "simulator"]
    assert not upward, f"{module} imports {upward}: a room imports only rooms of a lower layer"


def test_nothing_imports_the_composition_root_but_the_command_line_and_the_test_plugin() -> None:
    importers = [module for module, targets in graph().items() if "simulator.sandbox" in targets]
    assert all(room(module) in ("simulator.cli", "simulator.testing") for module in importers), importers


def find_cycle(graph: dict[str, list[str]]) -> list[str]:
    """One import circle of `graph` (as a path that ends where it starts), or []."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str]:
        if node in visiting:
            return [*visiting[visiting.index(node):], node]
        if node in done:
            return []
        visiting.append(node)
        for target in graph.get(node, []):
            if cycle := visit(target):
                return cycle
        visiting.pop()
        done.add(node)
        return []

    for start in sorted(graph):
        if cycle := visit(start):
            return cycle
    return []


def test_the_import_graph_has_no_circle() -> None:
    assert find_cycle(graph()) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"], "d": []}) == ["a", "b", "c", "a"]


@pytest.mark.parametrize("package", sorted(m for m, p in MODULES.items() if p.name == "__init__.py"))
def test_every_package_says_what_it_owns_and_may_import(package: str) -> None:
    docstring = ast.get_docstring(ast.parse(MODULES[package].read_text(encoding="utf-8"))) or ""
    assert docstring, f"{package} has no docstring"
    if package != "simulator":
        assert "May import" in docstring, f"{package}'s docstring does not say what it may import"
