"""``gpuplan validate``'s output from a :class:`gpuplan.checks.suite.ValidationSuite`: its
tables for the terminal, and one JSON document."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType

from gpuplan.checks.suite import ValidationSuite
from gpuplan.checks.video import video_dict
from gpuplan.report.breakdown import breakdown_dict, breakdown_table
from gpuplan.report.chip_runs import chip_runs_dict, chip_runs_report
from gpuplan.report.intervals import coverage_dict, coverage_report
from gpuplan.report.moe_validation import moe_dict, moe_report
from gpuplan.report.validation import validation_dict, validation_report
from gpuplan.report.video_validation import video_table, video_target_dict


def suite_dict(suite: ValidationSuite) -> dict[str, Any]:
    """Every table of the suite, and whether it passed, as one JSON-ready mapping."""
    data = validation_dict(suite.rows, suite.targets, suite.kernels, suite.totals)
    data["targets"].append(video_target_dict(suite.video))
    return (
        data
        | breakdown_dict(suite.groups)
        | chip_runs_dict(suite.chip_runs)
        | chip_runs_dict(suite.scale_runs, "scale_runs")
        | {"video": video_dict(suite.video), "intervals": coverage_dict(suite.coverage)}
        | moe_dict(suite.moe)
        | {"passed": suite.passed, "failures": suite.failures}
    )


def suite_tables(suite: ValidationSuite, rows: bool = True) -> list[RenderableType]:
    """The suite's tables, in the order the terminal shows them."""
    return [
        validation_report(suite.rows, suite.targets, suite.kernels, suite.totals, rows=rows),
        breakdown_table(suite.groups),
        chip_runs_report(suite.chip_runs),
        chip_runs_report(suite.scale_runs, "Published runs at scale (held out)"),
        video_table(suite.video),
        moe_report(suite.moe),
        coverage_report(suite.coverage),
    ]
