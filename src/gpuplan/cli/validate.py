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
) -> None:
    """Predict every published measurement and compare; exit 1 when a target is missed.

    Example: gpuplan validate --no-rows
    """
    from gpuplan.catalog.loader import load_catalog
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
