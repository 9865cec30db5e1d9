"""Properties of the performance model: limits, monotonicity, conservation."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gpuplan.catalog import load_catalog
from gpuplan.model.kernels import device, gemm_time
from gpuplan.model.performance import estimate
from gpuplan.model.step import Infeasible, StepEstimate
from gpuplan.scenario.plan import ParallelPlan, Recompute

CATALOG = load_catalog()
MODEL = CATALOG.model("llama3-8b")  # 32 layers, 32 heads, 8 KV heads
H100 = CATALOG.accelerator("h100-sxm")

plans = st.builds(
    ParallelPlan,
    tensor_parallel=st.sampled_from([1, 2, 4, 8]),
    pipeline_parallel=st.sampled_from([1, 2, 4, 8]),
    data_parallel=st.sampled_from([1, 2, 4, 16]),
    context_parallel=st.sampled_from([1, 2]),
    microbatch=st.sampled_from([1, 2]),
    interleave=st.sampled_from([1, 2]),
    recompute=st.sampled_from(list(Recompute)),
    sequence_parallel=st.booleans(),
    zero=st.integers(0, 3),
)


def run(
    plan: ParallelPlan, global_batch: int = 256, seq_len: int = 4096
) -> StepEstimate | Infeasible:
    if plan.tensor_parallel == 1 and plan.sequence_parallel:
        plan = replace(plan, sequence_parallel=False)
    return estimate(CATALOG, MODEL, H100, plan, seq_len=seq_len, global_batch=global_batch)


@settings(max_examples=60, deadline=None)
@given(plans)
def test_step_is_physical(plan: ParallelPlan) -> None:
    result = run(plan)
    assume(isinstance(result, StepEstimate))
    assert isinstance(result, StepEstimate)
    assert 0 < result.mfu <= result.hfu < 1
    parts = [result.compute_s, result.recompute_s, result.bubble_s, result.optimizer_s,
             result.overlap_slowdown_s, result.straggler_s,
             *result.exposed_comm_s.values()]  # fmt: skip
    assert all(p >= 0 for p in parts)
    assert result.time_s == pytest.approx(sum(parts))
    # Hidden communication slows the compute beside it, never by more than it lasts.
    hidden = sum(result.comm_on_link_s.values()) - sum(result.exposed_comm_s.values())
    assert result.overlap_slowdown_s <= hidden + 1e-12
    for axis, exposed in result.exposed_comm_s.items():
        assert exposed <= result.comm_on_link_s[axis] + 1e-12
    # Memory never below the weights a GPU holds.
    assert result.memory.total_bytes >= result.memory.weights_bytes > 0
    # A plan given in full is refused only when what the model computes exceeds the HBM;
    # the assumed framework overhead may take it past (marked marginal: docs/design.md)
    assert result.memory.total_bytes - result.memory.overhead_bytes <= H100.hbm_bytes


@settings(max_examples=40, deadline=None)
@given(plans)
def test_tp1_has_no_tp_traffic(plan: ParallelPlan) -> None:
    result = run(replace(plan, tensor_parallel=1, sequence_parallel=False))
    assume(isinstance(result, StepEstimate))
    assert isinstance(result, StepEstimate)
    assert result.comm_on_link_s["tp"] == 0
    if plan.pipeline_parallel == 1:
        assert result.bubble_s == 0 and result.comm_on_link_s["pp"] == 0


@settings(max_examples=40, deadline=None)
@given(plans)
def test_higher_zero_never_raises_memory(plan: ParallelPlan) -> None:
    totals = []
    for zero in range(4):
        result = run(replace(plan, zero=zero))
        memory = result.memory if isinstance(result, (StepEstimate, Infeasible)) else None
        assume(memory is not None)
        assert memory is not None
        totals.append(memory.total_bytes)
    assert all(a >= b - 1 for a, b in itertools.pairwise(totals))


@settings(max_examples=40, deadline=None)
@given(plans, st.sampled_from([64, 128, 256]))
def test_more_microbatches_never_raise_the_bubble_fraction(plan: ParallelPlan, batch: int) -> None:
    small, large = run(plan, global_batch=batch), run(plan, global_batch=batch * 4)
    assume(isinstance(small, StepEstimate) and isinstance(large, StepEstimate))
    assert isinstance(small, StepEstimate) and isinstance(large, StepEstimate)
    assert large.bubble_s / large.time_s <= small.bubble_s / small.time_s + 1e-12


@settings(max_examples=30, deadline=None)
@given(plans)
def test_recompute_costs_time_and_saves_memory(plan: ParallelPlan) -> None:
    none = run(replace(plan, recompute=Recompute.NONE))
    full = run(replace(plan, recompute=Recompute.FULL))
    assume(isinstance(none, StepEstimate) and isinstance(full, StepEstimate))
    assert isinstance(none, StepEstimate) and isinstance(full, StepEstimate)
    assert full.time_s >= none.time_s
    assert full.memory.activations_bytes <= none.memory.activations_bytes
    assert full.hfu >= full.mfu


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(64, 65536),
    n=st.integers(64, 65536),
    k=st.integers(16, 65536),
    more=st.integers(1, 65536),
    fp8=st.booleans(),
)
def test_gemm_rate_never_falls_with_a_longer_inner_dimension(
    m: int, n: int, k: int, more: int, fp8: bool
) -> None:
    # The GEMM K-overhead is a fixed cost per output tile: with the same output (m x n), a
    # longer inner dimension spreads it over more work, so FLOPs per second never drop, and
    # the time never falls.
    dev = device(H100, CATALOG.efficiency_profile("h100-sxm"), fp8, 0.9)
    assert dev.gemm_k_overhead > 0
    short, long = gemm_time(m, n, k, dev), gemm_time(m, n, k + more, dev)
    assert long >= short
    assert k / short <= (k + more) / long * (1 + 1e-9)
