"""The import cycles of the cia_workbook package (every import, lazy ones and TYPE_CHECKING ones
too): `python3 scripts/import_cycles.py [REPO]` prints each cycle, and nothing but « 0 cycles »
when there is none. tests/test_package_layout.py runs it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module name → the package's modules it imports (a bare package's docstring-only
    `__init__` is not an edge: importing `cia_workbook.intake.reader` runs no code of it)."""
    modules = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    empty = {m for m, p in modules.items() if p.name == "__init__.py" and _only_docstring(p)}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from P import m` of a module m depends on P.m; of a name, on P.
                subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules]
                names = len(subs) < len(node.names)
                targets = subs + ([node.module] if names else [])
            # A module's own packages are run before it by Python: not a dependency of its code.
            parents = {name.rsplit(".", k)[0] for k in range(1, name.count(".") + 1)}
            graph[name] |= {t for t in targets if t in modules and t != name and t not in empty | parents}
    return graph


def _only_docstring(path: Path) -> bool:
    body = ast.parse(path.read_text("utf-8")).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main() -> None:
    repo = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
    graph = import_graph(repo / "cia_workbook")
    found = cycles(graph)
    for component in found:
        print("cycle:", " ↔ ".join(component))
        for m in component:
            print(f"    {m} → {', '.join(sorted(graph[m] & set(component)))}")
    print(f"{len(found)} cycles")


if __name__ == "__main__":
    main()
