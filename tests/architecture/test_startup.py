"""Start-up: building the command line imports no heavy library (issue 15, Speed).

Every command pays for what ``import gpuplan.cli.app`` imports (``gpuplan --help`` does
nothing else), so the web server, the HTML templates, the plots, the sweeps' Parquet and Dask,
scipy and numpy are imported by the commands that use them, never at start-up. This is an
assertion on the import graph, checked in a fresh interpreter; the timings are in
``benchmarks/startup_bench.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("fastapi", "starlette", "uvicorn", "jinja2", "plotly", "pyarrow", "dask",
         "distributed", "scipy", "numpy")  # fmt: skip
"""Top-level packages that ``import gpuplan.cli.app`` must not import."""

LIBRARY = ("gpuplan.model", "gpuplan.search", "gpuplan.planning", "gpuplan.studies",
           "gpuplan.checks", "gpuplan.report", "gpuplan.web")  # fmt: skip
"""gpuplan layers that only run a command, never build the command line."""


def _modules_after(statement: str) -> list[str]:
    code = f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(json.loads(out.stdout))


def test_building_the_command_line_imports_no_heavy_library() -> None:
    loaded = _modules_after("import gpuplan.cli.app")
    heavy = sorted({m.split(".")[0] for m in loaded} & set(HEAVY))
    assert not heavy, f"import gpuplan.cli.app imports {heavy}: import them in the command"
    library = sorted(m for m in loaded if m.startswith(LIBRARY))
    assert not library, f"import gpuplan.cli.app imports {library}"


def test_the_facade_imports_on_first_use() -> None:
    loaded = _modules_after("import gpuplan")
    assert not [m for m in loaded if m.startswith("gpuplan.")], loaded
    after = _modules_after("import gpuplan; gpuplan.plan")
    assert "gpuplan.planning.run" in after


def test_the_facade_names_are_the_library_objects() -> None:
    import gpuplan
    from gpuplan.planning.run import plan
    from gpuplan.scenario.schema import Scenario

    assert gpuplan.plan is plan
    assert gpuplan.Scenario is Scenario
    assert set(gpuplan.__all__) <= set(dir(gpuplan))
