"""Start-up: building the command line imports no heavy library (issue 15, Speed).

Every command pays for what ``import gpuplan.cli.app`` imports (``gpuplan --help`` does
nothing else), so the web server, the HTML templates, the plots, the sweeps' Parquet and Dask,
scipy and numpy are imported by the commands that use them, never at start-up. This is an
assertion on the import graph, checked in a fresh interpreter; the timings are in
``benchmarks/startup_bench.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


PLAN_MFU = ["plan", "--model", "llama3-405b", "--hardware", "h100-sxm", "--gpus", "16384",
            "--mfu", "0.4"]  # fmt: skip
"""The start-up benchmark's plan (benchmarks/startup_bench.py): a fixed-MFU plan."""

NOT_FOR_A_PLAN = ("yaml", "scipy", "plotly", "jinja2", "fastapi", "starlette", "uvicorn",
                  "pyarrow", "dask", "distributed", "rich.progress", "gpuplan.web",
                  "gpuplan.checks", "gpuplan.fitting.trends", "gpuplan.studies.uncertainty",
                  "gpuplan.studies.sweep", "gpuplan.report.html")  # fmt: skip
"""What ``gpuplan plan`` with a fixed MFU must not import once the user cache is warm: the
catalog comes validated from the cache and the flags' values are plain, so not even YAML."""


def test_a_warm_fixed_mfu_plan_imports_only_what_it_uses(tmp_path: Path) -> None:
    code = (
        "import contextlib, io, json, sys; sys.argv = ['gpuplan', *json.loads(sys.argv[1])]\n"
        "from gpuplan.cli.app import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out, "
        "contextlib.suppress(SystemExit):\n"
        "    main()\n"
        "print(json.dumps({'out': out.getvalue(), 'modules': sorted(sys.modules)}))"
    )
    env = {**os.environ, "GPUPLAN_CACHE_DIR": str(tmp_path), "COLUMNS": "100"}
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, json.dumps(PLAN_MFU)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        for _ in range(2)  # the first fills the user cache
    ]
    cold, warm = (json.loads(run.stdout) for run in runs)
    assert warm["out"] == cold["out"] and "Step time (from the given MFU)" in warm["out"]
    loaded = [m for m in warm["modules"] if m.startswith(NOT_FOR_A_PLAN)]
    assert not loaded, f"a warm fixed-MFU plan imports {loaded}"
    assert "yaml" in cold["modules"]  # the first run did parse the catalog


def test_the_entry_point_imports_the_app_after_setting_the_collector() -> None:
    """``gpuplan.cli.main`` sets the collector's thresholds before it imports the command
    line, so importing the package (what the console script does first) must not import it."""
    loaded = _modules_after("import gpuplan.cli")
    assert "gpuplan.cli.app" not in loaded
    assert "typer" not in loaded
