"""Size budget: modules under src/gpuplan at most 400 lines, functions at most 60 lines.

A module's size is its number of lines; a function's (or method's, nested ones included) is
``end_lineno - lineno + 1`` of its ``def`` in the syntax tree (decorators not counted). Only
Python is measured: data files (YAML) and templates are out of scope.

Today's exceptions are listed below with their current size. The lists can only shrink: the
test fails when a module or function not listed goes over its limit, when a listed one grows
above its recorded size, and when a listed one is back within the limit or no longer exists
(then remove it from the list). Splitting a function or module therefore updates the list
in the same commit; growing one that is listed is refused.

To regenerate the lists for the current tree (e.g. after a merge), run::

    python tests/architecture/test_size_budget.py --print-allowlist

and paste its output over MODULE_ALLOWLIST and FUNCTION_ALLOWLIST. Do this only to record
modules or functions that became smaller or went away, or to state a decision.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "gpuplan"

MODULE_LIMIT = 400
"""Lines per module."""
FUNCTION_LIMIT = 60
"""Lines per function or method, ``end_lineno - lineno + 1``."""

# Module path (relative to the repository root) -> its line count when it was listed.
MODULE_ALLOWLIST: dict[str, int] = {}

# "module.qualname" (nested functions as outer.inner) -> its line count when it was listed.
FUNCTION_ALLOWLIST: dict[str, int] = {
    "gpuplan.accounting.cluster.assess_cluster": 63,
    "gpuplan.cli.trends_view.show_trends": 96,
    "gpuplan.fitting.scaling_fit.fit_scaling_law": 74,
    "gpuplan.fitting.trends.fit_trend": 73,
    "gpuplan.report.figures.scaling_figure": 91,
}


def module_path(path: Path) -> str:
    """'src/gpuplan/model/step.py': the key of MODULE_ALLOWLIST."""
    return path.relative_to(REPO).as_posix()


def module_name(path: Path) -> str:
    """'gpuplan.model.step' ('gpuplan.catalog' for its __init__.py)."""
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def python_files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def module_sizes() -> dict[str, int]:
    """Line count of every module, by path relative to the repository root."""
    return {module_path(p): len(p.read_text("utf-8").splitlines()) for p in python_files()}


def _functions(
    node: ast.AST, prefix: str
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function below ``node`` with its qualified name (classes and functions nest)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{child.name}"
            yield name, child
            yield from _functions(child, f"{name}.")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")
        else:  # functions defined under if/try/with blocks keep the enclosing prefix
            yield from _functions(child, prefix)


def lines_of(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """``end_lineno - lineno + 1``: from the ``def`` line to the last line of the body."""
    assert node.end_lineno is not None
    return node.end_lineno - node.lineno + 1


def function_sizes() -> dict[str, int]:
    """Lines of every function and method, by 'module.qualname'. Two definitions with the
    same name (a property and its setter, an if/else pair) count as the larger one."""
    sizes: dict[str, int] = {}
    for path in python_files():
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for qualname, node in _functions(tree, f"{module_name(path)}."):
            sizes[qualname] = max(lines_of(node), sizes.get(qualname, 0))
    return sizes


def function_location(key: str) -> str:
    """'src/gpuplan/planning/run.py, function plan' for a FUNCTION_ALLOWLIST key."""
    parts = key.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        base = SRC.parent.joinpath(*parts[:cut])
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file():
                return f"{module_path(path)}, function {'.'.join(parts[cut:])}"
    return f"function {key}"


def budget_problems(
    sizes: dict[str, int], allowlist: dict[str, int], limit: int, kind: str, where: str
) -> list[str]:
    """What breaks the budget; ``where`` names the allowlist to edit."""
    problems = []
    for key, size in sorted(sizes.items()):
        label = key if kind == "module" else function_location(key)
        if key not in allowlist:
            if size > limit:
                problems.append(
                    f"{label}: {size} lines, over the limit of {limit} for a {kind}; split it "
                    f"({where} only shrinks)"
                )
        elif size > allowlist[key]:
            problems.append(
                f"{label}: {size} lines, grew above its recorded {allowlist[key]} in {where} "
                f"(limit {limit}); it may only shrink"
            )
        elif size <= limit:
            problems.append(
                f"{label}: {size} lines, now within the limit of {limit}; "
                f"remove it from the allowlist ({where})"
            )
    for key in sorted(set(allowlist) - set(sizes)):
        label = key if kind == "module" else function_location(key)
        problems.append(
            f"{label}: listed in {where} ({allowlist[key]} lines, limit {limit}) but no such "
            f"{kind} exists any more; remove it from the allowlist ({where})"
        )
    return problems


def test_module_sizes() -> None:
    problems = budget_problems(
        module_sizes(), MODULE_ALLOWLIST, MODULE_LIMIT, "module", "MODULE_ALLOWLIST"
    )
    assert not problems, "module size budget:\n" + "\n".join(problems)


def test_function_sizes() -> None:
    problems = budget_problems(
        function_sizes(), FUNCTION_ALLOWLIST, FUNCTION_LIMIT, "function", "FUNCTION_ALLOWLIST"
    )
    assert not problems, "function size budget:\n" + "\n".join(problems)


def test_budget_catches_growth_and_stale_entries() -> None:
    """The check itself: new, grown, shrunk and vanished entries are all reported."""
    sizes = {"new": 61, "grown": 80, "shrunk": 60, "same": 70}
    allowlist = {"grown": 75, "shrunk": 90, "same": 70, "gone": 100}
    problems = budget_problems(sizes, allowlist, 60, "module", "MODULE_ALLOWLIST")
    assert [p.split(":")[0] for p in problems] == ["grown", "new", "shrunk", "gone"]
    assert "80 lines, grew above its recorded 75" in problems[0]
    assert "61 lines, over the limit of 60" in problems[1]
    assert "remove it from the allowlist" in problems[2]
    assert "remove it from the allowlist" in problems[3]


def test_nested_functions_and_methods_are_measured() -> None:
    tree = ast.parse(
        "class A:\n"
        "    def m(self):\n"
        "        def inner():\n"
        "            return 1\n"
        "        return inner\n"
        "if True:\n"
        "    async def f():\n"
        "        pass\n"
    )
    found = {name: lines_of(node) for name, node in _functions(tree, "mod.")}
    assert found == {"mod.A.m": 4, "mod.A.m.inner": 2, "mod.f": 2}


def allowlist_source() -> str:
    """MODULE_ALLOWLIST and FUNCTION_ALLOWLIST for the current tree, as Python source."""

    def block(name: str, comment: str, entries: dict[str, int]) -> list[str]:
        if not entries:
            return [comment, f"{name}: dict[str, int] = {{}}"]
        body = [f'    "{key}": {size},' for key, size in sorted(entries.items())]
        return [comment, f"{name}: dict[str, int] = {{", *body, "}"]

    modules = {k: v for k, v in module_sizes().items() if v > MODULE_LIMIT}
    functions = {k: v for k, v in function_sizes().items() if v > FUNCTION_LIMIT}
    lines = [
        *block(
            "MODULE_ALLOWLIST",
            "# Module path (relative to the repository root) -> its line count when it was listed.",
            modules,
        ),
        "",
        *block(
            "FUNCTION_ALLOWLIST",
            '# "module.qualname" (nested functions as outer.inner) -> its line count when it was'
            " listed.",
            functions,
        ),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:] != ["--print-allowlist"]:
        sys.exit(f"usage: python {module_path(Path(__file__).resolve())} --print-allowlist")
    print(allowlist_source())
