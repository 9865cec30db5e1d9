"""One plan runs the model's formulas on Python floats (issue 15: model/xp.py,
model/one_plan.py): the same functions as the arrays of a search, so the numbers must be the
same to the bit, not merely close."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplan.catalog import load_catalog
from gpuplan.catalog.schema import Framework, Model
from gpuplan.model import xp
from gpuplan.model.batch import _SCALAR_FIELDS, PlanBatch, _stage_inputs, evaluate
from gpuplan.model.collectives import Collective, collective_times, p2p_times
from gpuplan.model.one_plan import batch_numbers, columns, on_numbers, plan_batch
from gpuplan.model.performance import device_of, network_of
from gpuplan.model.plan_check import plan_errors
from gpuplan.model.schedules import bubble
from gpuplan.model.step import StepEstimate, step_from_batch
from gpuplan.scenario.plan import ParallelPlan, Recompute
from gpuplan.scenario.resolve import DEFAULT_FRAMEWORK

CATALOG = load_catalog()
H100 = CATALOG.accelerator("h100-sxm")
NETWORKS = (
    network_of(CATALOG, H100),  # one non-blocking fabric
    network_of(CATALOG, H100, CATALOG.cluster("meta-roce-24k")),  # a 7:1 tier, rails
)
FINITE = st.floats(-1e12, 1e12, allow_nan=False)


@given(a=FINITE, b=FINITE, c=FINITE, pick=st.booleans())
def test_the_float_helpers_do_what_numpy_does_to_one_element(
    a: float, b: float, c: float, pick: bool
) -> None:
    low, high = min(b, c), max(b, c)
    assert xp.where(pick, a, b) == np.where(pick, a, b)
    assert xp.maximum(a, b) == np.maximum(a, b)
    assert xp.minimum(a, b) == np.minimum(a, b)
    assert xp.floor(a) == np.floor(a) and isinstance(xp.floor(a), float)
    assert xp.clip(a, low, high) == np.clip(a, low, high)
    assert xp.scalars(np.array([a]), b, np.array([[c]])) == (a, b, c)
    assert xp.scalars(np.array([a, b]), c) is None
    for x, y in ((a, b), (a, a), (0.0, -0.0), (-0.0, 0.0), (1, 1.0), (1.0, 1)):
        # spelled out (xp.py): the very object max and min pick, the first of equal ones
        assert xp.maximum(x, y) is max(x, y) and xp.minimum(x, y) is min(x, y)
    assert xp.where(np.True_, a, b) == a and xp.where(np.bool_(False), a, b) == b


@settings(max_examples=300, deadline=None)
@given(
    times=st.lists(st.floats(1e-9, 1e3, allow_nan=False), min_size=1, max_size=20),
    counts=st.lists(st.sampled_from((1.0, 2.0, 3.0, 14.0, 30.0)), min_size=20, max_size=20),
    slowest=st.integers(0, 19),
    interleave=st.integers(1, 4),
)
def test_one_plans_bubble_on_numbers_equals_numpys(
    times: list[float], counts: list[float], slowest: int, interleave: int
) -> None:
    """The stage times of one plan as a list of numbers (model/one_plan.py): the bubble's
    sum in numpy's order (xp.row_sum: left to right below 8 classes, numpy's pairwise sum
    from 8), to the bit."""
    count, at = counts[: len(times)], slowest % len(times)
    assert xp.row_sum(list(times)) == np.array([times]).sum(axis=1)[0]
    alone = bubble(list(times), at, 16, interleave, False, count)
    together = bubble(np.array([times, times]), np.array([at, 0]), 16, interleave, False,
                      np.array([count]))  # fmt: skip
    assert isinstance(alone, float) and alone == together[0]


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(tuple(Collective)),
    size=st.sampled_from((0.0, 1.0, 3e6, 2.5e9, 7.3e10)),
    ranks=st.sampled_from((1, 2, 3, 8, 16, 128, 1000, 16384)),
    stride=st.sampled_from((1, 2, 8, 16, 64, 512, 4096)),
    span=st.sampled_from((0, 8, 512, 3072, 24576, 131072)),
    same_domain=st.booleans(),
    network=st.sampled_from(NETWORKS),
)
def test_one_collective_or_send_on_floats_equals_the_array_path(
    kind: Collective, size: float, ranks: int, stride: int, span: int, same_domain: bool,
    network: object,
) -> None:  # fmt: skip
    """A 1-element input takes the float path, a 2-element one the array path."""
    one = collective_times(kind, np.array([size]), np.array([ranks]), np.array([stride]), network)
    two = collective_times(kind, np.array([size, 1.0]), np.array([ranks, 2]),
                           np.array([stride, 1]), network)  # fmt: skip
    assert one.shape == (1,) and one[0] == two[0]
    assert isinstance(collective_times(kind, size, ranks, stride, network), float)
    send = p2p_times(np.array([size]), np.array([same_domain]), network, np.array([stride]),
                     np.array([span]))  # fmt: skip
    sends = p2p_times(np.array([size, 1.0]), np.array([same_domain, True]), network,
                      np.array([stride, 1]), np.array([span, 0]))  # fmt: skip
    assert send.shape == (1,) and send[0] == sends[0]


def _exact(result: object) -> dict[str, object]:
    """A batch result's fields as Python numbers and lists (compared exactly)."""
    return {
        name: value.tolist() if isinstance(value, np.ndarray)
        else {k: v.tolist() for k, v in value.items()} if isinstance(value, dict) else value
        for name, value in result.__dict__.items()
    }  # fmt: skip


def _alone_equals_together(
    model: Model, framework: Framework, plans: list[ParallelPlan], **context: object
) -> None:
    """Each plan evaluated alone (Python numbers, stage class by stage class where the
    schedule allows: model/one_plan.py) equals its row of all of them evaluated together
    (arrays), to the bit."""
    together = evaluate(model, H100, PlanBatch.from_plans(plans), framework=framework,
                        **context)  # type: ignore[arg-type]  # fmt: skip
    for row, plan in enumerate(plans):
        alone = evaluate(model, H100, PlanBatch.from_plans([plan]), framework=framework,
                         **context)  # type: ignore[arg-type]  # fmt: skip
        if on_numbers(framework, plan.pipeline_parallel):  # as estimate_step builds it
            numbers = plan_batch(PlanBatch, plan)
            assert numbers == batch_numbers(PlanBatch.from_plans([plan]))
            assert all(type(v) in (int, bool) for v in numbers.__dict__.values())
            _as_if_initialised(numbers)
            _as_if_initialised(_stage_inputs(
                model, numbers, context["seq_len"], context["dev"], framework,  # type: ignore[arg-type]
                context["network"], microbatches=1, tokens=1.0, pp_exposed=0.0,  # type: ignore[arg-type]
            ))  # fmt: skip
        else:
            numbers = PlanBatch.from_plans([plan])
        direct = evaluate(model, H100, numbers, framework=framework, as_numbers=True,
                          **context)  # type: ignore[arg-type]  # fmt: skip
        assert _exact(columns(direct, _SCALAR_FIELDS)) == _exact(alone)
        if on_numbers(framework, plan.pipeline_parallel):
            _as_if_initialised(direct)
        step = step_from_batch(direct, 0, plan, 1e15, H100)  # read from numbers
        assert step == step_from_batch(together, row, plan, 1e15, H100)
        _as_if_initialised(step.memory)
        if isinstance(step, StepEstimate):
            _as_if_initialised(step)
        for name, value in alone.__dict__.items():
            expected = getattr(together, name)
            if isinstance(value, dict):
                assert {k: v[0] for k, v in value.items()} == {k: v[row] for k, v in
                                                               expected.items()}, name  # fmt: skip
            elif isinstance(value, np.ndarray):
                assert value.shape == (1,) and value[0] == expected[row], (name, plan)
            else:
                assert value == expected, name


def _as_if_initialised(made: object) -> None:
    """A dataclass that step.built made without its ``__init__`` has exactly its fields, and
    equals the one its ``__init__`` makes of them."""
    names = [f.name for f in dataclasses.fields(made)]  # type: ignore[arg-type]
    assert list(made.__dict__) == names
    assert made == type(made)(**{name: getattr(made, name) for name in names})


def test_a_plan_alone_equals_the_same_plan_in_a_batch_to_the_bit() -> None:
    """Llama 3 405B on 16,384 H100: 16 complete plans (two pipeline shapes, interleaved or
    not, both recompute modes, ZeRO 1 and 3) evaluated together on arrays, and each alone on
    Python floats."""
    model, framework = CATALOG.model("llama3-405b"), CATALOG.framework(DEFAULT_FRAMEWORK)
    plans = [
        ParallelPlan(tensor_parallel=8, pipeline_parallel=pp, data_parallel=16_384 // (8 * pp),
                     microbatch=1, interleave=v, recompute=rc, sequence_parallel=True, zero=z)
        for pp, v, rc, z in itertools.product((16, 8), (2, 1), (Recompute.FULL,
                                              Recompute.SELECTIVE), (1, 3))
    ]  # fmt: skip
    _alone_equals_together(model, framework, plans, seq_len=8192, global_batch=2048,
                           dev=device_of(CATALOG, H100, False), network=NETWORKS[0],
                           overhead_bytes=1e9)  # fmt: skip


@pytest.mark.parametrize(
    "framework_id",
    ["megatron-moe-2025", "deepspeed-zero3", "deepseek-hai-llm"],  # folding; live; DualPipe
)
def test_moe_plans_with_partial_recompute_alone_equal_the_batch(framework_id: str) -> None:
    """Qwen3 235B-A22B (94 layers: uneven stages) on 1,024 H100 over the 7:1 fabric: MoE
    plans with EP, a recompute of some layers of each chunk (every stage its own class),
    of none, or of all, ZeRO 1 and 3, with MoE folding, a ZeRO-3 live-parameter cap, or
    DualPipe (which keeps the array path), alone and together."""
    model, framework = CATALOG.model("qwen3-235b-a22b"), CATALOG.framework(framework_id)
    plans = [
        ParallelPlan(tensor_parallel=4, pipeline_parallel=pp, data_parallel=1024 // (4 * pp),
                     expert_parallel=8, microbatch=1, interleave=v, recompute=Recompute.FULL,
                     recompute_layers=n, sequence_parallel=True, zero=z)
        for pp, v, n, z in itertools.product((4, 8), (1, 2), (None, 0, 3), (1, 3))
    ]  # fmt: skip
    for plan in plans:
        assert not plan_errors(plan, model, 1024, 1024, 4096, accelerator=H100), plan
    _alone_equals_together(model, framework, plans, seq_len=4096, global_batch=1024,
                           dev=device_of(CATALOG, H100, False), network=NETWORKS[1],
                           overhead_bytes=1e9)  # fmt: skip


def _forget_everything() -> None:
    """Empty every cache a plan given in full reads (by identity and by equality)."""
    from gpuplan.model import kept, per_layer, rules

    kept.forget()
    per_layer._layer_cache.clear()
    rules._APPLYING.clear()


def test_kept_values_equal_fresh_ones_in_interleaved_contexts() -> None:
    """The caches keyed by the identity of records (model/kept.py: the estimate's device and
    network, the stage classes, the step's FLOPs, the logits, a plan's data-parallel
    collectives, the per-layer context, the rule table) return, for plans of two models,
    two frameworks, two clusters and both precisions asked in turn, what each plan gives
    alone with every cache emptied, to the bit."""
    from gpuplan.model.performance import estimate

    llama, qwen = CATALOG.model("llama3-405b"), CATALOG.model("qwen3-235b-a22b")
    cases = [
        (llama, plan, fp8, DEFAULT_FRAMEWORK, cluster, 8192, 2048)
        for plan in (
            ParallelPlan(tensor_parallel=8, pipeline_parallel=16, data_parallel=128,
                         interleave=2, recompute=Recompute.FULL, sequence_parallel=True,
                         zero=1),
            ParallelPlan(tensor_parallel=8, pipeline_parallel=8, data_parallel=256,
                         microbatch=2, recompute=Recompute.SELECTIVE, sequence_parallel=True,
                         zero=3),
        )
        for fp8 in (False, True)
        for cluster in (None, CATALOG.cluster("meta-roce-24k"))
    ] + [
        (qwen, ParallelPlan(tensor_parallel=4, pipeline_parallel=pp, data_parallel=1024 // (4 * pp),
                            expert_parallel=8, interleave=v, recompute=Recompute.FULL,
                            recompute_layers=n, sequence_parallel=True, zero=1),
         False, framework, None, 4096, 1024)
        for pp, v, n in ((4, 1, None), (8, 2, 3))
        for framework in ("megatron-moe-2025", "deepspeed-zero3")
    ]  # fmt: skip

    def run(case: tuple[object, ...]) -> object:
        model, plan, fp8, framework, cluster, seq_len, batch = case
        return estimate(CATALOG, model, H100, plan, seq_len=seq_len, global_batch=batch,  # type: ignore[arg-type]
                        fp8=fp8, framework_id=framework, cluster=cluster)  # type: ignore[arg-type]  # fmt: skip

    fresh = []
    for case in cases:
        _forget_everything()
        fresh.append(run(case))
    _forget_everything()
    for _ in range(2):  # every cache kept, contexts in turn, then all found again
        for case, expected in zip(cases, fresh, strict=True):
            assert run(case) == expected, case


def test_stage_classes_are_the_pipelines_columns_as_numbers() -> None:
    """one_plan.stage_classes reads pipeline._pipeline_stages column by column (every stage
    under a partial recompute, whose kept layers come along): each class holds the
    ``.item()`` of its column, of its type, and is built (one_plan.built) as its
    ``__init__`` builds it."""
    from gpuplan.model.one_plan import stage_classes
    from gpuplan.model.pipeline import _pipeline_stages

    cases = (("llama3-405b", 16, 2, -1), ("llama3-405b", 8, 1, -1),
             ("qwen3-235b-a22b", 4, 2, 3), ("qwen3-235b-a22b", 6, 1, 0))  # fmt: skip
    for model_id, pp, v, n in cases:
        model = CATALOG.model(model_id)
        classes, count = stage_classes(model, pp, v, n)
        s = _pipeline_stages(model, pp, v, every=n >= 0, n=n)
        assert len(classes) == s.index.size == len(count) and (n < 0 or len(classes) == pp)
        for c, stage in enumerate(classes):
            _as_if_initialised(stage)
            for name in ("layers", "moe_layers", "dense_layers", "index", "first", "last",
                         "count"):  # fmt: skip
                value, expected = getattr(stage, name), getattr(s, name).item(c)
                assert value == expected and type(value) is type(expected), name
            assert stage.kept == (None if s.kept is None else
                                  (s.kept[0].item(c), s.kept[1].item(c)))  # fmt: skip
            assert count[c] == s.count.item(c)


@pytest.mark.parametrize(
    ("model_id", "framework_id"),
    [("llama3-405b", DEFAULT_FRAMEWORK), ("deepseek-v3", "deepseek-hai-llm"),
     ("llama3-405b", "fsdp2-torchtitan-2024"), ("mixtral-8x7b", "megatron-bridge-llm-2025")],
)  # fmt: skip
def test_a_layer_kept_whatever_its_recompute_equals_a_fresh_one(
    model_id: str, framework_id: str
) -> None:
    """per_layer keeps what a layer costs whatever its recompute (per_layer._shared): each
    recompute of a key asked in turn, after the others, gets layer_costs of its own plan alone, to
    the bit, dense and MoE layer, and the shared part is computed once per key and layer."""
    from gpuplan.model import per_layer as pl
    from gpuplan.model.kept import forget
    from gpuplan.model.layer import layer_costs

    model, framework = CATALOG.model(model_id), CATALOG.framework(framework_id)
    dev, network = device_of(CATALOG, H100, False), NETWORKS[1]
    forget()
    pl._layer_cache.clear()
    ep = 8 if model.moe else 1
    for mode in (Recompute.FULL, Recompute.NONE, Recompute.SELECTIVE):
        plan = ParallelPlan(tensor_parallel=4, context_parallel=2, microbatch=1, recompute=mode,
                            sequence_parallel=True, expert_parallel=ep)  # fmt: skip
        key = (4, 2, 1, pl.RECOMPUTE_ORDER.index(mode), 1, plan.expert_parallel)
        dense, moe, _ = pl.per_layer(model, key, 4096, dev, framework, network)
        for values, moe_layer in ((dense, False), (moe, model.moe is not None)):
            (fresh,) = layer_costs(model, (plan,), 4096, moe_layer, dev, framework.attention,
                                   network, pl._options(framework),
                                   framework.selective_recompute, framework.cp_ring)  # fmt: skip
            assert values == {f: getattr(fresh, f) for f in pl.LAYER_FIELDS}
    assert pl._shared.cache_size() == (1 if model.moe is None else 2)


@pytest.mark.parametrize("fp8", [False, True])
def test_the_logits_bf16_device_equals_the_replaced_one(fp8: bool) -> None:
    """The logits' BF16 device (pipeline_io._bf16) is the device ``replace`` builds with
    the BF16 GEMM rate and k-overhead and no FP8, field for field; a BF16 device is itself
    (no copy), an FP8 one a different object with the BF16 numbers."""
    from gpuplan.model.pipeline_io import _bf16

    dev = device_of(CATALOG, H100, fp8)
    _bf16.cache_clear()
    bf16 = _bf16(dev)
    assert bf16 == dataclasses.replace(
        dev,
        gemm_flops_per_s=dev.bf16_gemm_flops_per_s,
        fp8=False,
        gemm_k_overhead=dev.bf16_gemm_k_overhead,
    )
    assert (bf16 is dev) is (not fp8)
    assert bf16.fp8 is False and bf16.gemm_flops_per_s == dev.bf16_gemm_flops_per_s
    if fp8:
        assert bf16.gemm_flops_per_s < dev.gemm_flops_per_s


@pytest.mark.parametrize(
    ("model_id", "framework_id", "fp8"),
    [("llama3-405b", DEFAULT_FRAMEWORK, False), ("llama3-405b", "megatron-bridge-llm-2025", True),
     ("qwen3-235b-a22b", "megatron-moe-2025", False), ("deepseek-v3", "deepseek-hai-llm", True)],
)  # fmt: skip
def test_one_key_alone_equals_its_column_of_many_keys(
    model_id: str, framework_id: str, fp8: bool
) -> None:
    """per_layer of one plan's key (per_layer._one_key: its own steps, the layer model's
    tuples, no RoutingOptions for a dense model, no ring built for CP 1) computed in an empty
    context equals, to the bit, that key's column of per_layer over an array of keys (the
    search's path) computed in another: dense and MoE layers, CP 1 and 2 (a plain ring and
    Transformer Engine's), TP 1 and 4, both micro-batches, every recompute."""
    from gpuplan.model import per_layer as pl

    model, framework = CATALOG.model(model_id), CATALOG.framework(framework_id)
    dev, network = device_of(CATALOG, H100, fp8), NETWORKS[1]
    ep = 8 if model.moe else 1
    keys = [(tp, cp, mb, r, 1, ep)
            for tp, cp, mb, r in itertools.product((1, 4), (1, 2), (1, 2), range(3))]  # fmt: skip
    alone = []
    for key in keys:
        _forget_everything()
        alone.append(pl.per_layer(model, key, 4096, dev, framework, network))
    _forget_everything()
    dense, moe, acts = pl.per_layer(model, np.asarray(keys), 4096, dev, framework, network)
    for i, (one_dense, one_moe, one_acts) in enumerate(alone):
        assert one_dense == {name: dense[name][i].item() for name in pl.LAYER_FIELDS}, keys[i]
        assert one_moe == {name: moe[name][i].item() for name in pl.LAYER_FIELDS}, keys[i]
        assert one_acts == tuple(acts[:, i].tolist()), keys[i]
        assert all(type(v) is float for v in (*one_dense.values(), *one_moe.values(), *one_acts))


@pytest.mark.parametrize("framework_id", [DEFAULT_FRAMEWORK, "megatron-bridge-llm-2025",
                                          "colossalai-zero2-2025"])  # fmt: skip
def test_a_layer_without_cp_has_the_rings_own_zeros(framework_id: str) -> None:
    """layer._context_parallel of CP 1 returns, without building them, what the ring's own
    functions give: ring_cost's zeros, their sum on the link and nothing exposed (so no
    Ulysses), for no ring, Transformer Engine's and Open-Sora's (each hidden per pass)."""
    from gpuplan.model.layer import _context_parallel, _Shape
    from gpuplan.model.ring import RingShape, ring_cost, ring_exposed

    model, ring = CATALOG.model("llama3-405b"), CATALOG.framework(framework_id).cp_ring
    dev, network = device_of(CATALOG, H100, False), NETWORKS[1]
    x = _Shape.of(model, ParallelPlan(tensor_parallel=8, microbatch=2), 8192)
    attention = (1.5e-3, 5.2e-3)
    cost = ring_cost(RingShape(1, 8, x.tokens * x.q_width / 8, x.tokens * x.kv_width / 8, True),
                     ring, network, dev)  # fmt: skip
    exposed = ring_exposed(cost, ring, *attention)
    assert exposed == 0.0
    expected = (cost, cost.link_forward_s + cost.link_backward_s, exposed)
    assert _context_parallel(model, x, attention, network, dev, ring) == expected
