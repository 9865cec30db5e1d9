"""The plan chosen for time to train next to the plan chosen for step time (``gpuplan search
--compare-objectives``)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gpuplan.planning.result import PlanResult
from gpuplan.studies.time_to_train import ObjectiveComparison


def _plan(result: PlanResult) -> str:
    p = result.parallel_plan
    if p is None:
        return "—"
    return (
        f"{p.tensor_parallel}·{p.pipeline_parallel}·{p.data_parallel}·{p.context_parallel}"
        f" v{p.interleave} Z{p.zero}"
    )


def _cells(result: PlanResult) -> list[str]:
    if result.run is None or result.step is None:
        reason = result.infeasible.reason if result.infeasible else "no plan"
        return [reason, ""]
    rel = result.run.reliability
    return [
        f"{_plan(result)}, {result.step.time_s:.2f} s",
        f"{rel.wall_days:.1f} ({rel.goodput:.0%}, {rel.checkpoint_write_s:.1f} s)",
    ]


def objectives_report(comparisons: Sequence[ObjectiveComparison]) -> Group:
    """One row per GPU count: both plans, their step, checkpoint write, goodput and days."""
    first = comparisons[0].time_to_train.resolved
    table = Table(title=f"Plan for time to train vs plan for step time: {first.model.name} "
                  f"on {first.accelerator.name}")  # fmt: skip
    # Plans and days wrap on a narrow terminal; the GPU count and the saving never do.
    table.add_column("GPUs", justify="right", no_wrap=True, min_width=7)
    for side in ("time to train", "step time"):
        table.add_column(f"for {side}: plan, step")
        table.add_column("days (goodput, ckpt)", justify="right")
    table.add_column("saved", justify="right", no_wrap=True, min_width=5)
    for c in comparisons:
        saved = c.days_saved
        table.add_row(f"{c.gpus:,}", *_cells(c.time_to_train), *_cells(c.step_time),
                      "—" if saved is None else f"{saved:.1f} d")  # fmt: skip
    notes = Text(
        "Plans as TP·PP·DP·CP, interleave v, ZeRO stage Z. "
        "Days to train include checkpoint writes, restarts and lost work. ckpt: the "
        "checkpoint write, the slowest GPU writing the weights and optimizer state it holds "
        "(sharding shrinks it) or the storage's aggregate cap.\n"
    )
    if all(c.time_to_train.parallel_plan == c.step_time.parallel_plan for c in comparisons):
        notes.append(
            "Both objectives choose the same plans here: no plan's shorter checkpoint write "
            "outweighs a faster step (where the storage's aggregate rate binds, every plan "
            "writes as fast).\n"
        )
    return Group(table, notes)
