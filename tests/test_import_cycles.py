"""No import cycle between longtracerl's top-level packages and modules, lazy imports inside
functions included: a stage imports downward (shared modules, engines), never a stage that imports
it back. Read from the source with ``ast``, so nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import longtracerl

ROOT = Path(longtracerl.__file__).parent

KNOWN: set[frozenset[str]] = set()
"""Cycles still to remove (each entry: the packages of one cycle). Nothing may join them."""


def _top(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "longtracerl" or len(parts) < 2:
        return None
    name = parts[1]
    return name if (ROOT / name).is_dir() or (ROOT / f"{name}.py").exists() else None


def _imports(tree: ast.AST) -> list[str]:
    """Every absolute import in the tree (module level, in functions, under ``if``/``try``),
    except those under ``if TYPE_CHECKING:``."""
    out: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
            out.extend(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def package_graph() -> dict[str, dict[str, set[str]]]:
    """``{a: {b: {"a.x -> b.y", ...}}}``: top-level ``a`` imports top-level ``b``, and where."""
    graph: dict[str, dict[str, set[str]]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        module = ".".join(rel.parts)
        src = _top(module) if rel.name != "__init__" or len(rel.parts) > 2 else None
        if src is None:
            continue
        for name in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            dst = _top(name)
            if dst is not None and dst != src:
                graph.setdefault(src, {}).setdefault(dst, set()).add(f"{module} -> {name}")
    return graph


def cycles(graph: dict[str, dict[str, set[str]]]) -> list[frozenset[str]]:
    """The strongly connected groups of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(frozenset(group))

    for v in sorted(set(graph) | {w for ws in graph.values() for w in ws}):
        if v not in index:
            visit(v)
    return found


def test_the_checker_finds_a_cycle():
    graph = {
        "a": {"b": {"a.x -> b.y"}},
        "b": {"c": {"b -> c"}},
        "c": {"a": {"c -> a"}},
        "d": {"a": {"d -> a"}},
    }
    assert cycles(graph) == [frozenset({"a", "b", "c"})]


def test_lazy_imports_count_and_type_checking_ones_do_not():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from longtracerl.walks import x\n"
        "def f():\n    from longtracerl.agent.runner import run_agent\n"
    )
    assert "longtracerl.agent.runner" in _imports(tree)
    assert "longtracerl.walks" not in _imports(tree)


def test_no_import_cycle_between_top_level_packages():
    graph = package_graph()
    new = [c for c in cycles(graph) if c not in KNOWN]
    where = {
        "/".join(sorted(c)): sorted(e for a in c for b in c for e in graph.get(a, {}).get(b, ()))[:6]
        for c in new
    }
    assert not new, f"import cycles: {where}"
