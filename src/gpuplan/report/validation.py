"""The validation tables: predicted against published step times, the targets, the
kernels timed on a lent GPU and whole runs against their published totals; as JSON and as
terminal tables (``gpuplan validate``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gpuplan.checks.kernel_checks import KernelCheck
from gpuplan.checks.totals import TotalsRow, summarize_totals
from gpuplan.checks.validation import TargetResult, ValidationRow

MFU_CAPTION = "MFU: predicted, of the dense BF16 peak (FP8 rows too), per GPU used"


def row_dict(r: ValidationRow) -> dict[str, Any]:
    """One validation row in ``gpuplan validate --json`` (dense and MoE rows alike)."""
    return {
        "id": r.id,
        "source_group": r.source_group,
        "basis": r.basis,
        "measured_step_s": r.measured_step_s,
        "predicted_step_s": r.predicted_step_s,
        "error": r.error,
        "predicted_mfu": r.predicted_mfu,
        "note": r.note,
    }


def validation_dict(
    results: Sequence[ValidationRow],
    targets: Sequence[TargetResult],
    kernels: Sequence[KernelCheck],
    totals: Sequence[TotalsRow] = (),
) -> dict[str, Any]:
    """``gpuplan validate --json``: every row, target, kernel check and whole run."""
    return {
        "rows": [row_dict(r) for r in results],
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
        **totals_dict(totals),
    }


def totals_dict(totals: Sequence[TotalsRow]) -> dict[str, Any]:
    """The whole runs (``totals``) and their medians (``totals_summary``)."""
    summary = summarize_totals(list(totals))
    return {
        "totals": [
            {
                "id": t.run.id,
                "name": t.run.name,
                "model": t.run.model,
                "accelerator": t.run.accelerator,
                "gpus": t.run.gpus,
                "gpus_published": t.run.gpus_published,
                "setup_stated": t.run.setup_stated,
                "framework": t.framework,
                "plan": t.plan,
                "plan_gpus": t.plan_gpus,
                "published_gpu_hours": t.run.gpu_hours,
                "predicted_gpu_hours": t.predicted_gpu_hours,
                "gpu_hours_error": t.gpu_hours_error,
                "published_days": t.run.days,
                "predicted_days": t.predicted_days,
                "days_error": t.days_error,
                "goodput": t.goodput,
                "totals_basis": t.run.totals_basis,
                "source": t.run.source,
            }
            for t in totals
        ],
        "totals_summary": {
            "runs": summary.runs,
            "setup_stated": summary.stated,
            "median_abs_gpu_hours_error_stated": summary.median_abs_stated,
            "median_abs_gpu_hours_error_all": summary.median_abs_all,
            "median_abs_days_error": summary.median_abs_days,
            "target_median_abs_max": summary.target.median_abs_max,
            "passed": summary.passed,
        },
    }


def _rows_table(results: Sequence[ValidationRow]) -> Table:
    view = Table(title="Predicted vs published step time", show_lines=False, caption=MFU_CAPTION)
    for column in ("row", "basis", "measured s", "predicted s", "error", "MFU"):
        left = column in ("row", "basis")  # row ids fold, whole: the id is what a reader looks up
        view.add_column(column, justify="left" if left else "right", overflow="fold")
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


def _percent(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "—"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def _gpus_text(t: TotalsRow) -> str:
    """``768/1,000*``: the plan occupies 768 of the 1,000 charged (* count not published)."""
    text = f"{t.run.gpus:,}" + ("" if t.run.gpus_published else "*")
    if t.plan_gpus is not None and t.plan_gpus != t.run.gpus:
        text = f"{t.plan_gpus:,}/{text}"
    return text


def _totals_table(totals: Sequence[TotalsRow]) -> Table:
    view = Table(title="Whole runs: published vs predicted (failures included)")
    columns = ("run", "GPUs", "GPU-h pub.", "GPU-h pred.", "error",
               "days pub.", "days pred.", "error")  # fmt: skip
    for column in columns:
        view.add_column(column, justify="left" if column == "run" else "right", overflow="fold")
    for t in totals:
        view.add_row(
            t.run.name,
            _gpus_text(t),
            f"{t.run.gpu_hours / 1e3:,.0f}k",
            f"{t.predicted_gpu_hours / 1e3:,.0f}k" if t.predicted_gpu_hours else "—",
            _percent(t.gpu_hours_error) if t.predicted_gpu_hours else "infeasible",
            f"{t.run.days:.1f}" if t.run.days else "—",
            f"{t.predicted_days:.1f}" if t.predicted_days else "—",
            _percent(t.days_error),
        )
    return view


def _totals_summary(totals: Sequence[TotalsRow]) -> Text:
    s = summarize_totals(list(totals))
    return Text(
        f"median |error| of GPU-hours: {_percent(s.median_abs_stated, signed=False)} over the "
        f"{s.stated} runs that state GPUs, tokens and batch; "
        f"{_percent(s.median_abs_all, signed=False)} over all {s.runs} "
        "(*: GPU count not published, estimated; a/b: the plan occupies a of the b GPUs "
        "charged; plans in --json); target "
        f"<= {s.target.median_abs_max:.0%} over the runs that state their setup: "
        f"{'pass' if s.passed else 'MISS'}",
        style="green" if s.passed else "red",
    )


def validation_report(
    results: Sequence[ValidationRow],
    targets: Sequence[TargetResult],
    kernels: Sequence[KernelCheck],
    totals: Sequence[TotalsRow] = (),
    *,
    rows: bool = True,
) -> Group:
    """The tables of ``gpuplan validate`` (the rows only when ``rows``)."""
    parts: list[Table | Text] = [_rows_table(results)] if rows else []
    parts += [_targets_table(targets), _kernels_table(kernels)]
    parts += [Text(f"measured: {source}", style="dim")
              for source in dict.fromkeys(k.source for k in kernels)]  # fmt: skip
    if totals:
        parts += [_totals_table(totals), _totals_summary(totals)]
    return Group(*parts)
