"""A staged run (``stages:``): each stage planned on its own, the run's totals their sum.

Video models train in stages, at low resolution first and then high (Open-Sora 2.0, arXiv
2503.09642 sec. 4; Movie Gen, arXiv 2410.13720 sec. 3.1.6). Each stage is the scenario with
the stage's clip, GPUs, batch and length put in (:func:`stage_scenario`), planned by the
one :func:`~gpuplan.planning.run.plan`; the run's time, GPU-hours, FLOPs, energy,
emissions and cost are the sums over the stages (:func:`gpuplan.planning.serialize.
staged_totals`), its power the largest stage's. The plan, step and memory shown at the top
are those of the largest stage (most GPUs; the later one on a tie), and say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from gpuplan import units
from gpuplan.errors import ScenarioError
from gpuplan.model.step import Infeasible, InfeasibleKind
from gpuplan.planning.result import PlanResult
from gpuplan.scenario.schema import MAX_DAYS, Scenario, Stage


def check_stages(scenario: Scenario) -> None:
    """A staged run takes its length from its stages; a stage in steps needs a batch."""
    assert scenario.stages is not None
    training = scenario.training
    for key in ("tokens", "days", "samples"):
        if getattr(training, key) is not None:
            raise ScenarioError(
                f"training.{key}", "a staged run takes its length from its stages; remove it"
            )
    for index, stage in enumerate(scenario.stages):
        if stage.steps is not None and not (stage.global_batch or training.global_batch):
            raise ScenarioError(
                f"stages[{index}].steps = {stage.steps:g}",
                "needs a global batch (the stage's global_batch or training.global_batch)",
            )


def stage_scenario(scenario: Scenario, stage: Stage) -> Scenario:
    """The scenario of one stage: its clip, GPUs, batch and length over the scenario's."""
    training = scenario.training
    batch = stage.global_batch or training.global_batch
    samples = stage.samples
    if stage.steps is not None:
        assert batch is not None, "check_stages requires a batch with steps"
        samples = stage.steps * batch
    update = {
        "clip": stage.clip or training.clip,
        "global_batch": batch,
        "samples": samples,
        "days": stage.days,
        "tokens": None,
    }
    return scenario.model_copy(
        update={
            "gpus": stage.gpus or scenario.gpus,
            "training": training.model_copy(update=update),
            "stages": None,
        }
    )


def stage_label(index: int, stage: Stage) -> str:
    return stage.name or f"stage {index + 1}"


def plan_stages(scenario: Scenario, plan_one: Callable[[Scenario], PlanResult]) -> PlanResult:
    """Plan every stage with ``plan_one``; the result is the largest stage's, holding all
    of them (``stages``), infeasible when any stage is."""
    assert scenario.stages is not None
    check_stages(scenario)
    results = tuple(_plan_stage(scenario, i, s, plan_one) for i, s in enumerate(scenario.stages))
    labels = [stage_label(i, s) for i, s in enumerate(scenario.stages)]
    base_index = max(range(len(results)), key=lambda i: (results[i].resolved.gpus, i))
    base = results[base_index]
    note = (
        f"Staged run of {len(results)} stages ({', '.join(labels)}), each planned on its own; "
        "the run's time, GPU-hours, FLOPs, energy, emissions and cost are their sums, its "
        f"power the largest stage's. Plan, step and memory shown are those of "
        f"'{labels[base_index]}' ({base.resolved.gpus:,} GPUs)."
    )
    failed = next((i for i, r in enumerate(results) if r.infeasible is not None), None)
    infeasible = _too_long(results)
    if failed is not None:
        reason = results[failed].infeasible
        assert reason is not None
        infeasible = Infeasible(reason.kind, f"{labels[failed]}: {reason.reason}", reason.memory)
    return replace(
        base,
        resolved=replace(base.resolved, scenario=scenario),
        stages=results,
        stage_labels=tuple(labels),
        infeasible=infeasible or base.infeasible,
        run=base.run if infeasible is None else None,
        assumptions=(note, *base.assumptions),
    )


def _plan_stage(
    scenario: Scenario, index: int, stage: Stage, plan_one: Callable[[Scenario], PlanResult]
) -> PlanResult:
    """One stage planned; an error in the stage's own clip names the stage (it named
    ``training.clip``, which the scenario may not even have)."""
    try:
        return plan_one(stage_scenario(scenario, stage))
    except ScenarioError as exc:
        if stage.clip is None or not exc.field.startswith("training.clip"):
            raise
        where = f"stages[{index}].clip{exc.field.removeprefix('training.clip')}"
        raise ScenarioError(where, exc.message) from None


def _too_long(results: tuple[PlanResult, ...]) -> Infeasible | None:
    """Why stages that each fit are no run: together they take longer than a scenario may
    run (two stages of 3,650 days were a run of 7,300 days)."""
    runs = [r.run for r in results]
    if any(run is None for run in runs):
        return None
    days = sum(run.reliability.wall_time_s for run in runs if run is not None) / units.DAY_S
    if days <= MAX_DAYS * (1 + 1e-9):
        return None
    return Infeasible(
        InfeasibleKind.PROGRESS,
        f"the stages take {days:,.0f} days in all, more than the {MAX_DAYS:,.0f} days "
        "(10 years) a scenario may run; shorten the stages or use more GPUs",
    )
