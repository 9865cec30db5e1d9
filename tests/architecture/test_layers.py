"""The package layout follows the data flow: each package imports only the layers below it,
and no module imports itself back through others (no import cycles).

Layers, lowest first (docs/design.md): the foundation (errors, units, defaults), catalog, scenario,
model, search, reliability, fitting, accounting, planning, studies, checks, report, and the
adapters: web, then cli (whose ``serve`` starts the web app). ``gpuplan/__init__.py`` is
the public facade and may import any layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "gpuplan"

LAYERS: dict[str, int] = {
    "errors": 0,
    "units": 0,
    "defaults": 0,
    "catalog": 1,
    "scenario": 2,
    "model": 3,
    "search": 4,
    "reliability": 5,
    "fitting": 5,
    "accounting": 6,
    "planning": 7,
    "studies": 8,
    "checks": 9,
    "report": 10,
    "web": 11,
    "cli": 12,
    "__main__": 13,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def imports_of(path: Path) -> set[str]:
    """gpuplan modules imported anywhere in the file (module level, functions, TYPE_CHECKING)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("gpuplan")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gpuplan"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return found - {"gpuplan"}


def layer(module: str) -> tuple[str, int]:
    top = module.split(".")[1]
    assert top in LAYERS, f"{module}: package '{top}' has no layer; add it to LAYERS"
    return top, LAYERS[top]


def test_every_package_has_a_layer() -> None:
    for module in MODULES:
        if module != "gpuplan":
            layer(module)


def test_imports_point_down() -> None:
    upward = []
    for module, path in MODULES.items():
        if module == "gpuplan":
            continue
        top, rank = layer(module)
        for target in imports_of(path):
            target_top, target_rank = layer(target)
            if target_top != top and target_rank >= rank:
                upward.append(f"{module} (layer {rank}) imports {target} (layer {target_rank})")
    assert not upward, "imports that point up or sideways:\n" + "\n".join(sorted(upward))


def test_no_import_cycles() -> None:
    graph = {m: {t for t in imports_of(p) if t in MODULES and t != m} for m, p in MODULES.items()}
    # A package __init__ that re-exports its modules is not a cycle with them.
    for module in graph:
        graph[module] = {t for t in graph[module] if not module.startswith(t + ".")}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)
