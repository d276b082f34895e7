"""The dependency order is a straight line, and no module imports itself back round a cycle.

configuration (config) -> corpus -> index -> rag -> service -> api / eval -> command line (policyqa)
-> the benchmark (bench/, registered as `policyqa bench`; it drives the command line's server helpers,
so it sits on top). A module may import from its own layer's package and from any layer below it; never
from a layer above, nor from a sibling package of its layer (api and eval stay apart).
Every import counts: module level, inside functions, under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("config", "corpus", "index", "rag", "service", "api", "eval", "policyqa", "bench")
CONFIGURATION = "config"
# The layer of each package, bottom first.
LAYERS = {
    CONFIGURATION: 0,
    "corpus": 1,
    "index": 2,
    "rag": 3,
    "service": 4,
    "api": 5,
    "eval": 5,
    "policyqa": 6,
    "bench": 7,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _source_files() -> dict[str, Path]:
    files = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            files[_module_name(path)] = path
    return files


def _imported_names(module: str, path: Path) -> Iterator[str]:
    """Every dotted name `module` imports (absolute; relative imports resolved), anywhere in the file."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _import_graph() -> dict[str, set[str]]:
    """Map each of our modules to the modules of ours it imports (`from a import b` counts a.b when b is
    a module, else a)."""
    files = _source_files()
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets = set()
        for name in _imported_names(module, path):
            # The longest prefix of the name that is one of our modules.
            parts = name.split(".")
            for end in range(len(parts), 0, -1):
                candidate = ".".join(parts[:end])
                if candidate in files:
                    targets.add(candidate)
                    break
        graph[module] = targets - {module}
    return graph


def _layer(module: str) -> tuple[int, str]:
    """(layer, package) of a module."""
    package = module.split(".")[0]
    return LAYERS[package], package


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _violations(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """(importer, imported) pairs that go up the order or across to a sibling package of the same layer."""
    bad = set()
    for module, targets in graph.items():
        layer, package = _layer(module)
        for target in targets:
            target_layer, target_package = _layer(target)
            if target_layer > layer or (target_layer == layer and target_package != package):
                bad.add((module, target))
    return bad


def _package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same imports between top-level folders."""
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        package = module.split(".")[0]
        packages.setdefault(package, set()).update(t.split(".")[0] for t in targets)
        packages[package].discard(package)
    return packages


def _all_violations(graph: dict[str, set[str]]) -> set[str]:
    """Every cycle between modules or packages and every import against the order, described."""
    found = {f"modules import each other: {', '.join(c)}" for c in _cycles(graph)}
    found |= {f"packages import each other: {', '.join(c)}" for c in _cycles(_package_graph(graph))}
    found |= {f"{a} imports {b}, against the order" for a, b in _violations(graph)}
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return _import_graph()


def test_the_walk_sees_every_kind_of_import(graph: dict[str, set[str]]) -> None:
    # Guards the test itself: a module-level import, an import inside a function, a package __init__.
    assert "corpus.models" in graph["corpus.parse"]
    assert "eval.calibrate" in graph["policyqa.cli"]
    assert "corpus.load" in graph["corpus"]
    assert {"corpus", "index", "rag", "api", "eval", "policyqa"} <= {m.split(".")[0] for m in graph}


def test_no_cycles_and_no_imports_against_the_order(graph: dict[str, set[str]]) -> None:
    assert sorted(_all_violations(graph)) == []


def test_the_configuration_imports_nothing_of_ours(graph: dict[str, set[str]]) -> None:
    imported = {t for module, targets in graph.items() if _layer(module)[1] == CONFIGURATION for t in targets}
    assert "config.settings" in graph and {t.split(".")[0] for t in imported} <= {CONFIGURATION}


def test_a_cycle_and_an_upward_import_are_caught() -> None:
    graph = {"corpus.a": {"corpus.b"}, "corpus.b": {"corpus.a"}, "index.x": {"rag.y"}, "rag.y": set()}
    assert _cycles(graph) == [["corpus.a", "corpus.b"]]
    assert _violations(graph) == {("index.x", "rag.y")}
    assert _violations({"api.a": {"eval.b"}, "eval.b": set(), "api.c": {"config.settings"}}) == {
        ("api.a", "eval.b")
    }
