"""The "Published runs off the H100" and "Published runs at scale (held out)" tables of
``gpuplan validate`` and their JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gpuplan.checks.chip_runs import ChipRunRow, median_abs_error


def chip_runs_dict(rows: Sequence[ChipRunRow], key: str = "chip_runs") -> dict[str, Any]:
    """``key`` (one entry per run) and ``<key>_median_abs_error``."""
    return {
        key: [
            {
                "id": r.run.id,
                "measurement": r.run.measurement,
                "accelerator": r.accelerator,
                "gpus": r.gpus,
                "framework": r.run.framework,
                "plan": r.plan,
                "plan_stated": dict(r.run.parallelism or {}),
                "measured_step_s": r.measured_step_s,
                "predicted_step_s": r.predicted_step_s,
                "error": r.error,
                "predicted_mfu": r.predicted_mfu,
                "source": r.run.source,
            }
            for r in rows
        ],
        f"{key}_median_abs_error": median_abs_error(list(rows)),
    }


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1%}"


def chip_runs_report(
    rows: Sequence[ChipRunRow], title: str = "Published runs off the H100"
) -> Group:
    """The table, and the median |error| under it."""
    view = Table(title=f"{title}: step time")
    for column in ("run", "GPUs", "stack", "meas. s", "pred. s", "error"):
        left = column in ("run", "stack")  # ids fold, whole
        view.add_column(column, justify="left" if left else "right", overflow="fold")
    for r in rows:
        view.add_row(
            r.run.id,
            f"{r.gpus:,}",
            r.run.framework,
            f"{r.measured_step_s:.2f}",
            f"{r.predicted_step_s:.2f}" if r.predicted_step_s is not None else "no plan",
            _percent(r.error),
        )
    median = median_abs_error(list(rows))
    timed = sum(r.predicted_step_s is not None for r in rows)
    note = Text(
        f"median |error| {'—' if median is None else f'{median:.1%}'} over {timed} runs"
        + (
            f" ({len(rows) - timed} of {len(rows)} without a step time, why in --json); "
            if timed < len(rows)
            else "; "
        )
        + "plan fields the reports do not state are searched within the stack (its best "
        "plan: a lower bound on the step time); plans in --json"
    )
    return Group(view, note)
