"""The house keeps its shape: the package's own modules never import its face (``__init__``),
its import graph has no cycle, and no test module imports another."""

from __future__ import annotations

import ast

import grimp
import pytest

from support.paths import REPO


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # Imports under `if TYPE_CHECKING:` never run; every other import counts, including those
    # inside functions (they run on first call).
    return grimp.build_graph("receiptcore", exclude_type_checking_imports=True)


def test_no_module_inside_the_package_imports_its_init(graph):
    assert graph.find_modules_that_directly_import("receiptcore") == set()


def test_the_package_has_no_import_cycle(graph):
    cycles = _strongly_connected_components(
        {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    )
    assert [sorted(c) for c in cycles if len(c) > 1] == []


def test_a_cycle_would_be_found():
    found = _strongly_connected_components({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert sorted(sorted(c) for c in found if len(c) > 1) == [["a", "b", "c"]]


def test_no_test_module_imports_another():
    offenders = []
    for path in sorted((REPO / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                last = name.rsplit(".", 1)[-1]
                if last.startswith("test_") or last == "conftest":
                    offenders.append(f"{path.relative_to(REPO)} imports {name}")
    assert offenders == []


def _strongly_connected_components(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (an import graph can be deeper than Python's stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components
