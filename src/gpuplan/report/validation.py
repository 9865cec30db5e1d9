"""The validation tables: predicted against published step times, the targets, and the
kernels timed on a lent GPU; as JSON and as terminal tables (``gpuplan validate``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gpuplan.checks.validation import KernelCheck, TargetResult, ValidationRow


def validation_dict(
    results: Sequence[ValidationRow],
    targets: Sequence[TargetResult],
    kernels: Sequence[KernelCheck],
) -> dict[str, Any]:
    """``gpuplan validate --json``: every row, every target, every kernel check."""
    return {
        "rows": [
            {
                "id": r.id,
                "source_group": r.source_group,
                "basis": r.basis,
                "measured_step_s": r.measured_step_s,
                "predicted_step_s": r.predicted_step_s,
                "error": r.error,
                "predicted_mfu": r.predicted_mfu,
                "note": r.note,
            }
            for r in results
        ],
        "targets": [
            {
                "id": t.target.id,
                "description": t.target.description,
                "rows": t.summary.rows,
                "mean_abs": t.summary.mean_abs,
                "median_abs": t.summary.median_abs,
                "p90_abs": t.summary.p90_abs,
                "max_abs": t.summary.max_abs,
                "passed": t.passed,
                "failures": list(t.failures),
                "source": t.target.source,
            }
            for t in targets
        ],
        "kernels": [
            {
                "id": k.id,
                "description": k.description,
                "source": k.source,
                "kernels": k.summary.rows,
                "bias": k.bias,
                "mean_abs": k.summary.mean_abs,
                "median_abs": k.summary.median_abs,
                "p90_abs": k.summary.p90_abs,
                "max_abs": k.summary.max_abs,
            }
            for k in kernels
        ],
    }


def _rows_table(results: Sequence[ValidationRow]) -> Table:
    view = Table(title="Predicted vs published step time", show_lines=False)
    for column in ("row", "basis", "measured s", "predicted s", "error", "MFU"):
        view.add_column(column, justify="left" if column in ("row", "basis") else "right")
    for r in results:
        error = f"{r.error:+.1%}" if r.error is not None else "infeasible"
        view.add_row(
            r.id,
            r.basis,
            f"{r.measured_step_s:.3f}",
            f"{r.predicted_step_s:.3f}" if r.predicted_step_s else "—",
            error,
            f"{r.predicted_mfu:.1%}" if r.predicted_mfu else "—",
        )
    return view


def _targets_table(targets: Sequence[TargetResult]) -> Table:
    summary = Table(title="Targets (|error| of step time)")
    for column in ("target", "rows", "mean", "median", "p90", "max", "verdict"):
        summary.add_column(column, justify="left" if column == "target" else "right")
    for t in targets:
        s = t.summary
        summary.add_row(
            t.target.id,
            str(s.rows),
            f"{s.mean_abs:.1%}",
            f"{s.median_abs:.1%}",
            f"{s.p90_abs:.1%}",
            f"{s.max_abs:.1%}",
            "pass" if t.passed else "MISS: " + "; ".join(t.failures),
        )
    return summary


def _kernels_table(kernels: Sequence[KernelCheck]) -> Table:
    measured = Table(title="Kernels timed on a lent GPU (error of time; GEMMs: fwd, dgrad, wgrad)")
    for column in ("check", "kernels", "bias", "median", "p90", "max"):
        measured.add_column(column, justify="left" if column == "check" else "right")
    for k in kernels:
        s = k.summary
        measured.add_row(
            f"{k.accelerator} {k.description}",
            str(s.rows),
            f"{k.bias:+.1%}",
            f"{s.median_abs:.1%}",
            f"{s.p90_abs:.1%}",
            f"{s.max_abs:.1%}",
        )
    return measured


def validation_report(
    results: Sequence[ValidationRow],
    targets: Sequence[TargetResult],
    kernels: Sequence[KernelCheck],
    *,
    rows: bool = True,
) -> Group:
    """The tables of ``gpuplan validate`` (the rows only when ``rows``)."""
    parts: list[Table | Text] = [_rows_table(results)] if rows else []
    parts += [_targets_table(targets), _kernels_table(kernels)]
    parts += [Text(f"measured: {source}", style="dim")
              for source in dict.fromkeys(k.source for k in kernels)]  # fmt: skip
    return Group(*parts)
