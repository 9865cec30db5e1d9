"""The prediction intervals of a plan (its JSON ``intervals`` block) as table rows, for the
terminal and the HTML report alike; their coverage on the validation rows (``validate``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gpuplan.report import humanize as hz

if TYPE_CHECKING:  # the checks (validation rows, YAML) are imported by validate, not by plan
    from gpuplan.checks.residuals import Coverage

LABELS: dict[str, tuple[str, Callable[[float], str]]] = {
    "step_time_s": ("Step time", lambda v: f"{v:.2f} s"),
    "days": ("Time to train, with failures", hz.days),
    "gpu_hours": ("GPU-hours", hz.number),
    "cost_usd": ("Run cost, cloud rental", hz.usd),
    "tokens": ("Training tokens (days given)", hz.number),
}


def interval_rows(block: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """``(label, "P10 / P50 / P90 (width)")`` per bounded quantity, then what it rests on and
    any warning that the plan lies outside what was validated."""
    if block is None:
        return []
    rows = []
    for key, (label, show) in LABELS.items():
        if key in block:
            b = block[key]
            rows.append(
                (
                    f"{label}, P10 / P50 / P90",
                    f"{show(b['p10'])} / {show(b['p50'])} / {show(b['p90'])} "
                    f"(width {hz.percent(b['width'])})",
                )
            )
    basis = block["basis"]
    rows.append(("Interval rests on", f"validation residuals: {basis['selection']}"))
    rows += [("Outside validated range", warning) for warning in block["warnings"]]
    return rows


def combined_rows(block: Mapping[str, Any] | None) -> list[tuple[str, list[str]]]:
    """``(label, [P10, P50, P90])`` of a Monte Carlo's combined intervals."""
    if block is None:
        return []
    return [
        (label, [show(block[key][k]) for k in ("p10", "p50", "p90")])
        for key, (label, show) in LABELS.items()
        if key in block
    ]


def coverage_dict(coverage: Coverage) -> dict[str, Any]:
    """``gpuplan validate --json``'s ``intervals``: how often the P10-P90 step-time
    interval, built without each row's source, covers the published step time."""
    from gpuplan.checks.residuals import COVERAGE_TARGET

    return {
        "target": COVERAGE_TARGET,
        "covered_fraction": coverage.fraction,
        "median_width": coverage.median_width,
        "passed": coverage.passed,
        "by_source": {s: {"covered": c, "rows": n} for s, (c, n) in coverage.by_source().items()},
        "rows": [
            {
                "id": r.id,
                "low": r.low,
                "high": r.high,
                "measured_over_predicted": math.exp(r.log_ratio),
                "covered": r.covered,
            }
            for r in coverage.rows
        ],
    }


def coverage_report(coverage: Coverage) -> Group:
    """The coverage of the prediction intervals, per source and in all, with their width."""
    from gpuplan.checks.residuals import COVERAGE_TARGET

    table = Table(title="Prediction intervals: P10-P90 of step time, each row's source held out")
    for name in ("source", "rows", "covered", "share"):
        table.add_column(name, justify="left" if name == "source" else "right")
    for source, (covered, rows) in coverage.by_source().items():
        table.add_row(source, str(rows), str(covered), hz.percent(covered / rows))
    table.add_row(
        "all", str(len(coverage.rows)), str(sum(r.covered for r in coverage.rows)),
        hz.percent(coverage.fraction), style="bold",
    )  # fmt: skip
    verdict = "pass" if coverage.passed else "MISS"
    note = Text(
        f"target: at least {hz.percent(COVERAGE_TARGET)} covered ({verdict}); median width "
        f"(P90 - P10) / predicted: {hz.percent(coverage.median_width)}"
    )
    return Group(table, note)
