"""``gpuplan report``: a self-contained HTML report of a scenario or of a saved plan.

Register with ``app.command("report")(report)``. Bad input raises :class:`ScenarioError`;
``cli.main`` prints it as one line and exits 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from gpuplan.cli.flags import with_scenario_flags
from gpuplan.cli.writes import HTML_SUFFIXES, check_writable, write_safely
from gpuplan.defaults import DEFAULT_REPORT_FILE
from gpuplan.errors import ScenarioError


@with_scenario_flags
def report(
    scenario: dict[str, Any],
    from_json: Annotated[
        Path | None,
        typer.Option("--from-json", help="A saved `gpuplan plan --json` result instead."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the HTML file.")] = Path(
        DEFAULT_REPORT_FILE
    ),
    scaling: Annotated[
        bool,
        typer.Option(
            "--scaling/--no-scaling",
            help="Search other GPU counts for the time and cost curve (a few seconds).",
        ),
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what was written as JSON.")
    ] = False,
) -> None:
    """Write a self-contained HTML report (charts, claims, assumptions, sources).

    Takes the same scenario file and flags as plan, or a saved plan. Example: gpuplan
    report --model llama3-405b --hardware h100-sxm --gpus 16384; or gpuplan plan ... --json
    > plan.json && gpuplan report --from-json plan.json
    """
    if (not scenario) == (from_json is None):
        raise ScenarioError(
            "report",
            "give a scenario (a YAML file or flags) or --from-json FILE (one of them, not both)",
        )
    # imported here: jinja2 and the report's figures only for this command
    from gpuplan.catalog.loader import load_catalog
    from gpuplan.report.data import load_plan_file
    from gpuplan.report.figures import CHART_IDS
    from gpuplan.report.html import build_report, report_for_scenario
    from gpuplan.report.html import write_report as write_html

    check_writable(out, "--out", HTML_SUFFIXES, create_folders=True)
    catalog = load_catalog()
    if from_json is not None:
        data = build_report(load_plan_file(from_json), catalog, with_scaling=scaling)
    else:
        data = report_for_scenario(scenario, catalog, with_scaling=scaling)
    write_safely(lambda target: write_html(data, target), out, "--out")
    path = out.resolve()
    if as_json:
        summary = {"path": str(path), "bytes": path.stat().st_size, "charts": list(CHART_IDS)}
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        sys.stdout.write(f"{path}\n")
