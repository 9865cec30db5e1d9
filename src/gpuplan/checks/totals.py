"""Whole runs against their published totals (``gpuplan validate``'s "Whole runs" table).

Each record of ``catalog/data/run_totals.yaml`` is written as a scenario from what its
reports state (model, accelerator, count, tokens, batch, sequence length, the framework
profile closest to their stack) and planned through :func:`gpuplan.planning.run.plan`, the
function every door calls. Its wall-clock days and GPU-hours, failures and checkpoints
included, are compared with the published ones. No constant is fitted to these runs.
"""

from __future__ import annotations

import functools
import statistics
from dataclasses import dataclass
from typing import Any

from gpuplan import units
from gpuplan.catalog.loader import Catalog, _parse, _read_yaml
from gpuplan.catalog.schema import MedianTarget, RunTotal
from gpuplan.checks.validation import load_median_target
from gpuplan.planning.result import PlanResult
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario


@functools.cache
def load_run_totals() -> dict[str, RunTotal]:
    """The catalogued runs (run_totals.yaml), by id."""
    return _parse("run_totals.yaml", "run_totals", RunTotal, _read_yaml("run_totals.yaml"))


def load_totals_target() -> MedianTarget:
    """The bar of the totals (run_totals.yaml ``target``)."""
    return load_median_target("run_totals.yaml")


def scenario_of(run: RunTotal) -> dict[str, Any]:
    """The scenario mapping of a run: only what its reports state (its framework, and its
    plan where published); a published batch ramp as stages, one per phase, each at its
    batch for its tokens (as samples of ``seq_len`` tokens)."""
    training: dict[str, Any] = {"global_batch": run.global_batch, "seq_len": run.seq_len}
    if run.batch_schedule is None:
        training = {"tokens": run.tokens, **training}
    scenario: dict[str, Any] = {
        "model": run.model,
        "hardware": run.accelerator,
        "gpus": run.gpus,
        "training": training,
    }
    if run.framework is not None:
        scenario["framework"] = run.framework
    if run.cluster is not None:
        scenario["cluster"] = run.cluster
    if run.parallelism is not None:
        scenario["parallelism"] = dict(run.parallelism)
    if run.batch_schedule is not None:
        scenario["stages"] = [
            {
                "name": f"batch {phase.global_batch}",
                "global_batch": phase.global_batch,
                "samples": phase.tokens / run.seq_len,
            }
            for phase in run.batch_schedule
        ]
    return scenario


@dataclass(frozen=True)
class TotalsRow:
    """One run: published against predicted GPU-hours and days (failures included)."""

    run: RunTotal
    predicted_gpu_hours: float | None
    predicted_days: float | None
    goodput: float | None
    plan: str
    """The plan gpuplan chose (``tp2 pp3 dp128 ...``), or why none fits."""
    plan_gpus: int | None
    """GPUs the plan occupies; the run is charged for all ``gpus`` (as ``gpuplan plan``)."""
    framework: str
    """The framework profile the prediction used."""

    @property
    def gpu_hours_error(self) -> float | None:
        """Relative error of the GPU-hours (positive: we predict more)."""
        if self.predicted_gpu_hours is None:
            return None
        return self.predicted_gpu_hours / self.run.gpu_hours - 1

    @property
    def days_error(self) -> float | None:
        """Relative error of the days; None when the days are not published."""
        if self.predicted_days is None or self.run.days is None:
            return None
        return self.predicted_days / self.run.days - 1


def plan_text(result: PlanResult) -> str:
    """The plan as `tp2 pp3 dp128 mb1 zero1 none`, or why none fits (also after the plan
    when a stated plan does not fit)."""
    if result.parallel_plan is None:
        return result.infeasible.reason if result.infeasible else "no plan"
    p = result.parallel_plan
    text = f"tp{p.tensor_parallel} pp{p.pipeline_parallel} dp{p.data_parallel}"
    if p.context_parallel > 1:
        text += f" cp{p.context_parallel}"
    text += f" mb{p.microbatch} zero{p.zero} {p.recompute.value}"
    return text + (f": {result.infeasible.reason}" if result.infeasible else "")


def predict_total(run: RunTotal, catalog: Catalog) -> TotalsRow:
    """Plan one run and read its wall-clock days and GPU-hours, failures included; a
    published batch ramp is planned as stages (:func:`scenario_of`), one per phase, and the
    phases added up."""
    planned = plan(parse_scenario(scenario_of(run)), catalog)
    results = planned.stages or (planned,)
    main = results[-1]
    framework = main.resolved.framework.id
    if any(r.run is None for r in results):
        failed = next(r for r in results if r.run is None)
        return TotalsRow(run, None, None, None, plan_text(failed), None, framework)
    wall_s = sum(r.run.reliability.wall_time_s for r in results if r.run is not None)
    compute_s = sum(r.run.reliability.compute_time_s for r in results if r.run is not None)
    # Totals printed from the throughput alone are compared with the failure-free time.
    charged_s = compute_s if run.published_basis == "throughput" else wall_s
    return TotalsRow(
        run,
        main.resolved.gpus * charged_s / units.HOUR_S,
        charged_s / units.DAY_S,
        compute_s / wall_s,
        plan_text(main),
        main.parallel_plan.gpus if main.parallel_plan else None,
        framework,
    )


def predict_totals(catalog: Catalog) -> list[TotalsRow]:
    """Every catalogued run, in the file's order."""
    return [predict_total(run, catalog) for run in load_run_totals().values()]


@dataclass(frozen=True)
class TotalsSummary:
    """Median |error| of GPU-hours: over the runs that state their setup, and over all."""

    runs: int
    stated: int
    """Runs whose reports state GPUs, tokens and batch."""
    median_abs_stated: float | None
    median_abs_all: float | None
    median_abs_days: float | None
    """Over the runs with published days."""
    target: MedianTarget
    """The bar ``median_abs_stated`` must meet."""

    @property
    def passed(self) -> bool:
        return self.median_abs_stated is not None and (
            self.median_abs_stated <= self.target.median_abs_max
        )


def _median_abs(errors: list[float | None]) -> float | None:
    values = [abs(e) for e in errors if e is not None]
    return statistics.median(values) if values else None


def summarize_totals(rows: list[TotalsRow]) -> TotalsSummary:
    stated = [r for r in rows if r.run.setup_stated]
    return TotalsSummary(
        runs=len(rows),
        stated=len(stated),
        median_abs_stated=_median_abs([r.gpu_hours_error for r in stated]),
        median_abs_all=_median_abs([r.gpu_hours_error for r in rows]),
        median_abs_days=_median_abs([r.days_error for r in rows]),
        target=load_totals_target(),
    )
