"""The plan a validation row is predicted on (``gpuplan validate``).

A row's published plan is evaluated as given. Fields its source does not state are chosen
as its stack would: an unpublished recompute is the least that fits; a row without a
published schedule (no micro-batch) has its micro-batch, and its sequence parallelism and
recompute where unstated, searched within the stack's profile (``frameworks.yaml``), the
fastest plan that leaves the allocator's headroom free, as every search does. Such a
prediction is the stack's best plan: a lower bound on the published run's step time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import Measurement, Model
from gpuplan.model.performance import estimate
from gpuplan.model.step import Infeasible, InfeasibleKind, StepEstimate
from gpuplan.scenario.plan import ParallelPlan, Recompute
from gpuplan.search.plans import MICROBATCHES


def schedule_searched(measurement: Measurement) -> bool:
    """Whether the row's schedule is unpublished (no micro-batch), so that validation
    searches it within the stack: the prediction is then that stack's best plan, a lower
    bound on the step time of the published configuration."""
    return measurement.plan is not None and measurement.plan.microbatch is None


def stated_plan(measurement: Measurement, catalog: Catalog, framework_id: str) -> ParallelPlan:
    """The row's published plan; unstated schedule fields take the stack's defaults
    (an unstated micro-batch is 1 here and searched by ``best_estimate``)."""
    plan, framework = measurement.plan, catalog.framework(framework_id)
    assert plan is not None and plan.tp and plan.pp and plan.dp
    return ParallelPlan(
        tensor_parallel=plan.tp,
        pipeline_parallel=plan.pp,
        data_parallel=plan.dp,
        context_parallel=plan.cp or 1,
        expert_parallel=plan.ep or 1,
        microbatch=plan.microbatch or 1,
        interleave=plan.interleave or 1,
        recompute=Recompute(plan.recompute or framework.default_recompute),
        recompute_layers=plan.recompute_layers,
        sequence_parallel=(
            plan.sequence_parallel
            if plan.sequence_parallel is not None
            else framework.default_sequence_parallel and plan.tp > 1
        ),
        zero=plan.zero if plan.zero is not None else framework.default_zero,
    )


def best_estimate(
    measurement: Measurement, catalog: Catalog, model: Model, framework_id: str
) -> StepEstimate | Infeasible:
    """The row's step estimate on its stated plan, unstated fields chosen as its stack would."""
    hardware, seq_len, batch = measurement.hardware, measurement.seq_len, measurement.global_batch
    assert measurement.plan is not None and hardware is not None
    assert seq_len is not None and batch is not None
    stated, parallel = measurement.plan, stated_plan(measurement, catalog, framework_id)

    def run(candidate: ParallelPlan) -> StepEstimate | Infeasible:
        return estimate(catalog, model, catalog.accelerator(hardware), candidate,
                        seq_len=seq_len, global_batch=batch,
                        fp8=measurement.precision == "fp8", framework_id=framework_id,
                        cluster=catalog.cluster_measured_on(measurement.id))  # fmt: skip

    def least_recompute(candidate: ParallelPlan) -> StepEstimate | Infeasible:
        result = run(candidate)
        if stated.recompute is None:
            # Unpublished recompute: a run that fits without it ran without it; otherwise the
            # least recompute that fits, as the frameworks' recipes do.
            for mode in (Recompute.SELECTIVE, Recompute.FULL):
                if not (isinstance(result, Infeasible) and result.kind is InfeasibleKind.MEMORY):
                    break
                result = run(replace(candidate, recompute=mode))
        return result

    if stated.microbatch is not None:
        return least_recompute(parallel)
    return _searched_schedule(measurement, catalog, parallel, framework_id, run)


def _searched_schedule(
    measurement: Measurement,
    catalog: Catalog,
    parallel: ParallelPlan,
    framework_id: str,
    run: Callable[[ParallelPlan], StepEstimate | Infeasible],
) -> StepEstimate | Infeasible:
    """No published schedule: the micro-batch (over the search's set), and sequence
    parallelism and recompute where the source does not state them, are searched within the
    stack; its fastest plan that leaves the allocator's headroom free, as every search does."""
    stated, framework = measurement.plan, catalog.framework(framework_id)
    assert stated is not None and measurement.hardware is not None
    sequence_parallel = (
        (False, True)
        if stated.sequence_parallel is None
        and parallel.tensor_parallel > 1
        and framework.sequence_parallel
        else (parallel.sequence_parallel,)
    )
    recompute = (
        tuple(Recompute(m) for m in framework.recompute_modes)
        if stated.recompute is None
        else (parallel.recompute,)
    )
    results = [run(replace(parallel, microbatch=mb, sequence_parallel=sp, recompute=rc))
               for mb in MICROBATCHES for sp in sequence_parallel for rc in recompute]  # fmt: skip
    headroom = catalog.system("allocator_headroom_fraction").for_accelerator(measurement.hardware)
    capacity = catalog.accelerator(measurement.hardware).hbm_bytes * (1.0 - headroom)
    fitting = [r for r in results
               if isinstance(r, StepEstimate) and r.memory.total_bytes <= capacity]  # fmt: skip
    if fitting:
        return min(fitting, key=lambda r: r.time_s)
    return next((r for r in results if isinstance(r, Infeasible)), results[0])
