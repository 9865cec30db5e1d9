"""The plan search: agrees with the scalar model, never returns a plan that does not fit,
beats hand-built plans, and accounts for every plan it enumerated."""

from __future__ import annotations

import random

import numpy as np
import pytest

from gpuplan.catalog import Catalog
from gpuplan.errors import ScenarioError
from gpuplan.model.batch import PlanBatch, evaluate
from gpuplan.model.performance import device_of, estimate, network_of
from gpuplan.model.rules import plan_errors
from gpuplan.model.step import StepEstimate
from gpuplan.scenario.plan import ParallelPlan, Recompute
from gpuplan.search.plans import SearchOptions, gpu_range, search


@pytest.fixture(scope="module")
def llama405(catalog: Catalog):  # type: ignore[no-untyped-def]
    return search(
        catalog, catalog.model("llama3-405b"), catalog.accelerator("h100-sxm"), 16384,
        global_batch=2048, seq_len=8192,
    )  # fmt: skip


def test_pruned_counts_add_up(llama405) -> None:  # type: ignore[no-untyped-def]
    assert sum(llama405.pruned.values()) + llama405.feasible == llama405.enumerated
    assert llama405.evaluated == llama405.feasible + llama405.pruned["does not fit in memory"]


def test_no_returned_plan_exceeds_memory(llama405) -> None:  # type: ignore[no-untyped-def]
    for step in (*llama405.top, *llama405.pareto):
        assert step.memory.total_bytes <= step.capacity_bytes
        assert step.plan.gpus == 16384
    times = [s.time_s for s in llama405.top]
    assert times == sorted(times)


def test_best_beats_hand_built_plans(catalog: Catalog, llama405) -> None:  # type: ignore[no-untyped-def]
    model, h100 = catalog.model("llama3-405b"), catalog.accelerator("h100-sxm")
    hand = [
        ParallelPlan(8, 16, 128, interleave=4, recompute=Recompute.SELECTIVE,
                     sequence_parallel=True, zero=2),  # Meta's layout (Dubey et al. 2024)
        ParallelPlan(8, 16, 128, sequence_parallel=True, zero=1),
        ParallelPlan(8, 8, 256, sequence_parallel=True, zero=3),
        ParallelPlan(4, 32, 128, interleave=2, sequence_parallel=True, zero=1),
    ]  # fmt: skip
    for plan in hand:
        result = estimate(catalog, model, h100, plan, seq_len=8192, global_batch=2048)
        if isinstance(result, StepEstimate):
            assert llama405.best.time_s <= result.time_s + 1e-9


def test_vectorised_and_scalar_paths_agree(catalog: Catalog) -> None:
    model, h100 = catalog.model("llama3-70b"), catalog.accelerator("h100-sxm")
    rng = random.Random(7)
    plans = []
    while len(plans) < 40:
        plan = ParallelPlan(
            tensor_parallel=rng.choice([1, 2, 4, 8]),
            pipeline_parallel=rng.choice([1, 2, 4, 5, 8]),
            data_parallel=rng.choice([1, 2, 4, 8]),
            context_parallel=rng.choice([1, 2]),
            microbatch=rng.choice([1, 2]),
            interleave=rng.choice([1, 2]),
            recompute=rng.choice(list(Recompute)),
            zero=rng.randint(0, 3),
        )
        if plan.tensor_parallel > 1:
            plan = ParallelPlan(**{**plan.__dict__, "sequence_parallel": rng.random() < 0.8})
        if not plan_errors(plan, model, plan.gpus, 64, 8192):
            plans.append(plan)
    batch = evaluate(
        model, h100, PlanBatch.from_plans(plans), seq_len=8192, global_batch=64,
        dev=device_of(catalog, h100, False), network=network_of(catalog, h100),
        framework=catalog.framework("modern"), overhead_bytes=3 * 2**30,
    )  # fmt: skip
    for index, plan in enumerate(plans):
        single = estimate(catalog, model, h100, plan, seq_len=8192, global_batch=64)
        memory = single.memory if single.memory is not None else None  # type: ignore[union-attr]
        assert memory is not None
        assert batch.memory_bytes[index] == pytest.approx(memory.total_bytes, rel=1e-12)
        if isinstance(single, StepEstimate):
            assert batch.time_s[index] == pytest.approx(single.time_s, rel=1e-12)
        else:
            assert not batch.fits[index]


def test_fixed_fields_are_respected(catalog: Catalog) -> None:
    result = search(
        catalog, catalog.model("llama3-70b"), catalog.accelerator("h100-sxm"), 512,
        global_batch=512, seq_len=8192, options=SearchOptions(tp=4, zero=1),
    )  # fmt: skip
    assert result.top and all(s.plan.tensor_parallel == 4 and s.plan.zero == 1 for s in result.top)


def test_one_million_gpus_finishes_with_an_answer(catalog: Catalog) -> None:
    result = search(
        catalog, catalog.model("llama3-405b"), catalog.accelerator("h100-sxm"), 1_000_000,
        global_batch=16384, seq_len=8192,
    )  # fmt: skip
    assert result.best is not None
    assert 900_000 <= result.best.plan.gpus <= 1_000_000
    assert result.notes  # says it could not use exactly 1,000,000 GPUs
    assert 0 < result.best.mfu < 1


def test_a_model_that_fits_nowhere_says_why(catalog: Catalog) -> None:
    result = search(
        catalog, catalog.model("llama3-405b"), catalog.accelerator("a100-40gb"), 8,
        global_batch=8, seq_len=8192,
    )  # fmt: skip
    assert result.best is None and result.feasible == 0
    assert result.pruned.get("does not fit in memory", 0) > 0


def test_gpu_range() -> None:
    assert gpu_range(1024, 4096) == [1024, 1536, 2048, 3072, 4096]
    assert gpu_range(700, 700) == [700]
    with pytest.raises(ScenarioError, match="1 <= low <= high"):
        gpu_range(10, 5)


def test_bigger_clusters_are_never_slower_per_step_at_equal_layout_freedom(
    catalog: Catalog,
) -> None:
    model, h100 = catalog.model("llama3-8b"), catalog.accelerator("h100-sxm")
    steps = [
        search(catalog, model, h100, g, global_batch=512, seq_len=8192).best for g in (64, 128, 256)
    ]
    times = np.asarray([s.time_s for s in steps if s is not None])
    assert len(times) == 3 and np.all(np.diff(times) < 0)
