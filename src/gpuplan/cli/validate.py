"""``gpuplan validate``: every published measurement predicted and compared; a thin adapter.

Register with ``app.command("validate")(validate)``. The library is imported in the command's
body (not for ``gpuplan --help``; tests/architecture/test_startup.py).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console()


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def validate(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    rows: Annotated[bool, typer.Option("--rows/--no-rows", help="List every row.")] = True,
    write_residuals: Annotated[
        bool,
        typer.Option(
            "--write-residuals",
            help="Rewrite the catalog's validation residuals (the prediction intervals' data).",
        ),
    ] = False,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            metavar="ROW_ID",
            help="Print the scenario validate evaluates for one row of any of its tables "
            "(YAML; --json: JSON), ready for gpuplan plan FILE.",
        ),
    ] = None,
) -> None:
    """Predict every published measurement and compare; exit 1 when a target is missed.

    Example: gpuplan validate --no-rows; gpuplan validate --scenario ROW_ID > row.yaml
    """
    from gpuplan.catalog.loader import load_catalog

    if scenario is not None:
        _print_scenario(scenario, as_json, load_catalog())
        return
    from gpuplan.checks.residuals import write_residuals as write_residuals_file
    from gpuplan.checks.suite import validate_all
    from gpuplan.report.validation_suite import suite_dict, suite_tables

    catalog = load_catalog()
    suite = validate_all(catalog)
    if as_json:
        _emit_json(suite_dict(suite))
    else:
        console.print(*suite_tables(suite, rows))
    if write_residuals:
        path, count = write_residuals_file(catalog)
        console.print(f"wrote {count} residuals to {path}", highlight=False)
    if not suite.passed:
        raise typer.Exit(1)


def _print_scenario(row_id: str, as_json: bool, catalog: Any) -> None:
    """One row's scenario: YAML with the notes as comments, or JSON (the notes on stderr)."""
    import yaml

    from gpuplan.checks.row_scenarios import row_scenario

    row = row_scenario(row_id, catalog)
    if as_json:
        _emit_json(row.scenario)
        for note in row.notes:
            sys.stderr.write(f"note: {note}\n")
        return
    header = [f"validation row {row.row_id} of the {row.table}, as gpuplan validate evaluates it"]
    comments = "".join(f"# {line}\n" for line in header + list(row.notes))
    sys.stdout.write(comments + yaml.safe_dump(row.scenario, sort_keys=False))
