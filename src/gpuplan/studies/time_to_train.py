"""Time to train, failures included: the plan chosen for it against the plan chosen for step
time, and which GPU count of a range finishes first.

At scale the fastest step is not the fastest run: every GPU added shortens the step but
brings failures closer (a synchronous job stops at any GPU's failure), and each plan writes
its checkpoint at its own speed (:mod:`gpuplan.reliability.plan_checkpoint`). The plan
search ranks by wall-clock time per step with failures (``training.objective:
time_to_train``, the default); :func:`compare_objectives` plans each scenario both ways,
:func:`shortest_run` finds the GPU count of a range with the fewest days.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gpuplan.catalog.loader import Catalog, load_catalog
from gpuplan.planning.result import PlanResult
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario
from gpuplan.scenario.schema import Objective


@dataclass(frozen=True)
class ObjectiveComparison:
    """One scenario planned for time to train and for step time."""

    gpus: int
    time_to_train: PlanResult
    step_time: PlanResult

    @property
    def days_saved(self) -> float | None:
        """Wall-clock days the time-to-train plan saves over the step-time plan."""
        fast, slow = self.time_to_train.run, self.step_time.run
        if fast is None or slow is None:
            return None
        return slow.reliability.wall_days - fast.reliability.wall_days

    def to_dict(self) -> dict[str, Any]:
        return {
            "gpus": self.gpus,
            "days_saved": self.days_saved,
            "time_to_train": _summary(self.time_to_train),
            "step_time": _summary(self.step_time),
        }


def _summary(result: PlanResult) -> dict[str, Any]:
    run, step = result.run, result.step
    return {
        "plan": None if result.parallel_plan is None else result.parallel_plan.as_dict(),
        "step_time_s": None if step is None else step.time_s,
        "days": None if run is None else run.reliability.wall_days,
        "goodput": None if run is None else run.reliability.goodput,
        "checkpoint_write_s": None if run is None else run.reliability.checkpoint_write_s,
        "infeasible_reason": None if result.infeasible is None else result.infeasible.reason,
    }


def with_objective(data: Mapping[str, Any], objective: Objective) -> dict[str, Any]:
    """The scenario mapping with ``training.objective`` set."""
    training = dict(data.get("training") or {})
    training["objective"] = objective.value
    return {**data, "training": training}


def compare_objectives(
    scenarios: Sequence[Mapping[str, Any]], catalog: Catalog | None = None
) -> list[ObjectiveComparison]:
    """Each scenario mapping (one GPU count each: :func:`gpuplan.studies.answer.
    single_scenarios`) planned for time to train and for step time."""
    catalog = catalog or load_catalog()
    comparisons = []
    for one in scenarios:
        fast = plan(parse_scenario(with_objective(one, Objective.TIME_TO_TRAIN)), catalog)
        step = plan(parse_scenario(with_objective(one, Objective.STEP_TIME)), catalog)
        comparisons.append(ObjectiveComparison(fast.resolved.gpus, fast, step))
    return comparisons


@dataclass(frozen=True)
class ShortestRun:
    """The GPU count of a range whose run ends first, and whether more GPUs are slower."""

    index: int
    gpus: int
    days: float
    note: str | None
    """Set when a larger count of the range takes longer (failures outgrow the speed-up)."""

    def to_dict(self) -> dict[str, Any]:
        return {"gpus": self.gpus, "days": self.days, "note": self.note}


def shortest_run(results: Sequence[PlanResult]) -> ShortestRun | None:
    """The result with the fewest wall-clock days (failures included); None if none runs."""
    return _shortest(
        [
            RunPoint(
                i,
                r.resolved.gpus,
                r.run.reliability.wall_days,
                r.run.reliability.goodput,
                r.run.reliability.mtbi_s,
            )
            for i, r in enumerate(results)
            if r.run is not None
        ]
    )


def shortest_run_json(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """:func:`shortest_run` of plan results given as their JSON (``PlanResult.to_dict``)."""
    points = [
        RunPoint(
            i,
            int(row["scenario"]["gpus"]),
            float(run["days"]),
            float(run["goodput"]),
            float(run["mtbi_s"]),
        )
        for i, row in enumerate(rows)
        if isinstance(run := row.get("run"), Mapping) and isinstance(row.get("scenario"), Mapping)
    ]
    found = _shortest(points)
    return None if found is None else found.to_dict()


@dataclass(frozen=True)
class RunPoint:
    index: int
    gpus: int
    days: float
    goodput: float
    mtbi_s: float


def _shortest(points: Sequence[RunPoint]) -> ShortestRun | None:
    if not points:
        return None
    best = min(points, key=lambda p: p.days)
    slower = [p for p in points if p.gpus > best.gpus]
    note = None
    if slower:
        most = max(slower, key=lambda p: p.gpus)
        note = (
            f"Fewer GPUs finish sooner: {best.gpus:,} GPUs train in {best.days:.1f} days "
            f"(goodput {best.goodput:.0%}), {most.gpus:,} GPUs take {most.days:.1f} days "
            f"(goodput {most.goodput:.0%}, one interruption every {most.mtbi_s / 60:.0f} min): "
            "failures, restarts and lost work outgrow the faster step."
        )
    return ShortestRun(best.index, best.gpus, best.days, note)
