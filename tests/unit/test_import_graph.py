"""The package's import graph: no cycles, and the layers point one way.

Read with ast from the source (every import, also those inside functions: a lazy import is
still a dependency; only imports under ``if TYPE_CHECKING:`` are left out), so the test needs
no import of the package and sees what a newcomer sees.
Layers: policy/ is pure (no engine, ui, cli, supervisor...); engine/ never reaches the UI, the
CLI or the monitors above it.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path
from types import MappingProxyType

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "systrace_py"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules ``name`` imports: ``from a.b import c`` is a.b.c when c is a
    module, else a.b; relative imports resolved against the module's package."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {id(inner) for node in ast.walk(tree)
                   if isinstance(node, ast.If) and _is_type_checking(node.test)
                   for stmt in node.body for inner in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only: no dependency when it runs
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    return {m for m in found if m in known and m != name}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


@functools.cache  # (the tree's sources, read once: each test read and parsed all of them)
def graph() -> Mapping[str, AbstractSet[str]]:
    mods = modules()
    known = set(mods)
    return MappingProxyType({name: frozenset(imports_of(name, path, known))
                             for name, path in mods.items()})


def find_cycle(edges: Mapping[str, AbstractSet[str]]) -> list[str] | None:
    """One cycle of the graph, as a path that starts and ends at the same module."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(edges, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for nxt in sorted(edges[node]):
            if colour[nxt] == grey:
                return [*stack[stack.index(nxt):], nxt]
            if colour[nxt] == white and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        colour[node] = black
        return None

    for node in sorted(edges):
        if colour[node] == white and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_is_read():
    edges = graph()
    assert "systrace_py.cli.run" in edges
    assert "systrace_py.session" in edges["systrace_py.cli.run"]
    assert "systrace_py.engine.tracer" in edges["systrace_py.session"]


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycles():
    cycle = find_cycle(graph())
    assert cycle is None, " -> ".join(cycle or [])


#: (modules under this prefix, may not import modules under these prefixes)
LAYERS = [
    ("systrace_py.policy", ("systrace_py.engine", "systrace_py.ui", "systrace_py.cli",
                            "systrace_py.supervisor", "systrace_py.learner", "systrace_py.api",
                            "systrace_py.approver", "systrace_py.session",
                            "systrace_py.audit")),
    ("systrace_py.engine", ("systrace_py.ui", "systrace_py.cli", "systrace_py.supervisor",
                            "systrace_py.learner", "systrace_py.api", "systrace_py.approver",
                            "systrace_py.session")),
    ("systrace_py.session", ("systrace_py.ui", "systrace_py.cli", "systrace_py.supervisor",
                             "systrace_py.learner", "systrace_py.api")),
    ("systrace_py.supervisor", ("systrace_py.cli",)),
    ("systrace_py.api", ("systrace_py.cli", "systrace_py.ui", "systrace_py.supervisor")),
    ("systrace_py.ui", ("systrace_py.cli",)),
]


def under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize(("layer", "forbidden"), LAYERS, ids=[layer for layer, _ in LAYERS])
def test_layers_point_one_way(layer, forbidden):
    wrong = sorted(f"{name} imports {target}" for name, targets in graph().items()
                   if under(name, layer) for target in targets
                   if any(under(target, f) for f in forbidden))
    assert wrong == []
