"""``gpuplan validate``: every published measurement predicted and compared; a thin adapter.

Register with ``app.command("validate")(validate)``. The library is imported in the command's
body (not for ``gpuplan --help``; tests/architecture/test_startup.py).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from gpuplan.catalog.loader import Catalog

console = Console()


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _tables(catalog: Catalog) -> dict[str, Any]:
    """Every table validate shows: the published runs and their targets, the kernels, the
    totals, the chip runs, the runs at scale, the held-out groups, video, MoE and the
    intervals' coverage."""
    from gpuplan.checks.breakdown import held_out_groups
    from gpuplan.checks.chip_runs import predict_chip_runs, predict_scale_runs
    from gpuplan.checks.kernel_checks import kernel_checks
    from gpuplan.checks.moe_validation import validate_moe
    from gpuplan.checks.residuals import interval_coverage, residual_rows
    from gpuplan.checks.totals import predict_totals
    from gpuplan.checks.validation import check_targets
    from gpuplan.checks.validation import validate as run_validation
    from gpuplan.checks.video import predict_video_rows

    results = run_validation(catalog)
    return {
        "results": results,
        "targets": check_targets(results),
        "kernels": kernel_checks(catalog),
        "totals": predict_totals(catalog),
        "chip_runs": predict_chip_runs(catalog),
        "scale_runs": predict_scale_runs(catalog),
        "groups": held_out_groups(results),
        "video": predict_video_rows(catalog),
        "moe": validate_moe(catalog),
        "coverage": interval_coverage(residual_rows(catalog)),
    }


def _show(t: dict[str, Any], as_json: bool, rows: bool) -> None:
    from gpuplan.checks.video import video_dict
    from gpuplan.report.breakdown import breakdown_dict, breakdown_table
    from gpuplan.report.chip_runs import chip_runs_dict, chip_runs_report
    from gpuplan.report.intervals import coverage_dict, coverage_report
    from gpuplan.report.moe_validation import moe_dict, moe_report
    from gpuplan.report.validation import validation_dict, validation_report
    from gpuplan.report.video_validation import video_table, video_target_dict

    if as_json:
        data = validation_dict(t["results"], t["targets"], t["kernels"], t["totals"])
        data["targets"].append(video_target_dict(t["video"]))
        _emit_json(
            data
            | breakdown_dict(t["groups"])
            | chip_runs_dict(t["chip_runs"])
            | chip_runs_dict(t["scale_runs"], "scale_runs")
            | {"video": video_dict(t["video"]), "intervals": coverage_dict(t["coverage"])}
            | moe_dict(t["moe"])
        )
    else:
        console.print(
            validation_report(t["results"], t["targets"], t["kernels"], t["totals"], rows=rows)
        )
        console.print(breakdown_table(t["groups"]), chip_runs_report(t["chip_runs"]))
        console.print(chip_runs_report(t["scale_runs"], "Published runs at scale (held out)"))
        console.print(video_table(t["video"]), moe_report(t["moe"]), coverage_report(t["coverage"]))


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
    from gpuplan.checks.video import summarize_video

    catalog = load_catalog()
    tables = _tables(catalog)
    _show(tables, as_json, rows)
    if write_residuals:
        path, count = write_residuals_file(catalog)
        console.print(f"wrote {count} residuals to {path}", highlight=False)
    if not all(t.passed for t in tables["targets"]) or not summarize_video(tables["video"]).passed:
        raise typer.Exit(1)
    if not tables["coverage"].passed:
        raise typer.Exit(1)
