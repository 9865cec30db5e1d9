"""Properties of clusters and stragglers: less bandwidth never trains faster, more ranks never
wait less, more oversubscription never speeds a collective."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gpuplan.catalog import load_catalog
from gpuplan.model.collectives import Collective, Link, Network, Tier, collective_times
from gpuplan.model.performance import estimate
from gpuplan.model.step import StepEstimate
from gpuplan.model.stragglers import straggler_times
from gpuplan.scenario.plan import ParallelPlan, Recompute

CATALOG = load_catalog()
MODEL = CATALOG.model("llama3-8b")
H100 = CATALOG.accelerator("h100-sxm")

plans = st.builds(
    ParallelPlan,
    tensor_parallel=st.sampled_from([1, 2, 4, 8]),
    pipeline_parallel=st.sampled_from([1, 2, 4]),
    data_parallel=st.sampled_from([1, 2, 8, 32]),
    context_parallel=st.sampled_from([1, 2]),
    microbatch=st.sampled_from([1, 2]),
    recompute=st.sampled_from(list(Recompute)),
    zero=st.integers(0, 3),
)
profiles = st.sampled_from([c for c in CATALOG.clusters.values() if c.accelerator == "h100-sxm"])


@settings(max_examples=40, deadline=None)
@given(plans, profiles)
def test_half_the_scaleout_bandwidth_never_trains_faster(plan: ParallelPlan, cluster) -> None:  # type: ignore[no-untyped-def]
    halved = cluster.model_copy(update={"scaleout_gbit_per_s": cluster.scaleout_gbit_per_s / 2})
    plan = replace(plan, sequence_parallel=plan.tensor_parallel > 1)
    steps = [
        estimate(CATALOG, MODEL, H100, plan, seq_len=4096, global_batch=256, cluster=c)
        for c in (cluster, halved)
    ]
    assume(all(isinstance(s, StepEstimate) for s in steps))
    full, half = steps
    assert isinstance(full, StepEstimate) and isinstance(half, StepEstimate)
    assert half.time_s >= full.time_s * (1 - 1e-12)
    for axis, seconds in full.comm_on_link_s.items():
        assert half.comm_on_link_s[axis] >= seconds * (1 - 1e-12)


@settings(max_examples=100, deadline=None)
@given(
    st.floats(1e-3, 1e3),
    st.integers(1, 10_000_000),
    st.integers(1, 10_000_000),
    st.floats(0.0, 0.2),
)
def test_more_ranks_never_reduce_the_straggler_cost(
    busy_s: float, ranks: int, more: int, cv: float
) -> None:
    low, high = sorted((ranks, more))
    assert float(straggler_times(busy_s, high, cv)) >= float(straggler_times(busy_s, low, cv))
    assert float(straggler_times(busy_s, 1, cv)) == 0.0


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(list(Collective)),
    st.integers(2, 4096),
    st.sampled_from([1, 2, 4, 8, 16, 64, 256]),
    st.sampled_from([1.0, 1.5, 2.0, 7.0]),
    st.floats(1.0, 10.0),
    st.booleans(),
)
def test_more_oversubscription_never_speeds_a_collective(
    kind: Collective, n: int, stride: int, ratio: float, extra: float, rails: bool
) -> None:
    def network(oversubscription: float) -> Network:
        return Network(
            Link(400e9, 1e-6),
            Link(50e9, 5e-6),
            8,
            (Tier(256, oversubscription), Tier(4096, 1.0)),
            rails,
        )

    low = float(collective_times(kind, 1e8, n, stride, network(ratio)))
    high = float(collective_times(kind, 1e8, n, stride, network(ratio * extra)))
    flat = float(collective_times(kind, 1e8, n, stride, replace(network(1.0), tiers=())))
    assert high >= low * (1 - 1e-12) and low >= flat * (1 - 1e-12)


A100 = CATALOG.accelerator("a100-80gb")
A100_CLUSTERS = [c for c in CATALOG.clusters.values() if c.accelerator == "a100-80gb"]


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(["deepspeed-zero3", "megatron-deepspeed-2022", "gpt-neox-2022"]),
    st.sampled_from([8, 64, 512]),
    st.sampled_from(A100_CLUSTERS),
    st.sampled_from([Recompute.NONE, Recompute.FULL]),
)
def test_half_the_scaleout_bandwidth_never_trains_faster_on_old_stacks(  # type: ignore[no-untyped-def]
    framework: str, dp: int, cluster, recompute: Recompute
) -> None:
    zero = 3 if framework == "deepspeed-zero3" else 1
    plan = ParallelPlan(data_parallel=dp, microbatch=1, recompute=recompute, zero=zero)
    halved = cluster.model_copy(update={"scaleout_gbit_per_s": cluster.scaleout_gbit_per_s / 2})
    steps = [
        estimate(
            CATALOG,
            MODEL,
            A100,
            plan,
            seq_len=2048,
            global_batch=dp * 4,
            framework_id=framework,
            cluster=c,
        )
        for c in (cluster, halved)
    ]
    assume(all(isinstance(s, StepEstimate) for s in steps))
    full, half = steps
    assert isinstance(full, StepEstimate) and isinstance(half, StepEstimate)
    assert half.time_s >= full.time_s * (1 - 1e-12)
