"""The plan evaluation's shortcuts give the answer of the plain evaluation (issue 15, Speed).

The search evaluates one stage per class of identical pipeline stages, the stage times once
per group of plans that differ only in ZeRO stage, and keeps per-layer costs between
searches. The plain path they must match: every stage of every plan on its own (the stage
classes replaced by one class per stage), one plan per call, with the per-layer cache
emptied before each. Values agree to rounding (the bubble's sum is taken in another order).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuplan.catalog import load_catalog
from gpuplan.catalog.schema import AttentionKernel
from gpuplan.model import batch as batch_module
from gpuplan.model import one_plan, per_layer, pipeline
from gpuplan.model.batch import PlanBatch, evaluate, evaluate_memory
from gpuplan.model.collectives import Collective, collective_times
from gpuplan.model.layer import layer_cost, layer_costs
from gpuplan.model.performance import device_of, network_of
from gpuplan.model.rules import Context
from gpuplan.scenario.plan import ParallelPlan, Recompute
from gpuplan.search.plans import SearchOptions, _enumerate, search

CATALOG = load_catalog()
CASES = (
    ("llama3-405b", "h100-sxm", 2048, 1024, 8192, "modern"),
    ("llama3-70b", "a100-80gb", 768, 512, 4096, "megatron-2022"),
    ("mixtral-8x7b", "h100-sxm", 256, 512, 4096, "modern"),
    ("deepseek-v3", "h800", 1024, 960, 4096, "modern"),
    ("gpt3-175b", "a100-80gb", 384, 1536, 2048, "megatron-2022"),
    # DualPipe, EP overlap, selective recompute scope, FP8 and deduplicated dispatch, MTP
    ("deepseek-v3", "h800", 1024, 960, 4096, "deepseek-hai-llm"),
    ("mixtral-8x7b", "h100-sxm", 256, 512, 4096, "megatron-moe-deepep-overlap-2025"),  # folding
)
FIELDS = ("weights_bytes", "grads_bytes", "optimizer_bytes", "activations_bytes", "compute_s",
          "recompute_s", "bubble_s", "optimizer_s", "overlap_slowdown_s", "time_s",
          "memory_bytes", "memory_stage")  # fmt: skip


def _plans(case: int) -> PlanBatch:
    model_id, hardware, gpus, global_batch, seq_len, framework_id = CASES[case]
    framework = CATALOG.framework(framework_id)
    context = Context(CATALOG.model(model_id), gpus, global_batch, seq_len,
                      CATALOG.accelerator(hardware), False,
                      experts_fold_tp=framework.moe_parallel_folding,
                      dualpipe=framework.pipeline_schedule == "dualpipe")  # fmt: skip
    columns, _ = _enumerate(context, SearchOptions(min_used=0.5), {})
    return PlanBatch(**columns)


PLANS = [_plans(i) for i in range(len(CASES))]


def _evaluate(case: int, plans: PlanBatch) -> batch_module.BatchResult:
    model_id, hardware, _, global_batch, seq_len, framework_id = CASES[case]
    accelerator = CATALOG.accelerator(hardware)
    return evaluate(
        CATALOG.model(model_id), accelerator, plans, seq_len=seq_len,
        global_batch=global_batch, dev=device_of(CATALOG, accelerator, False, framework_id),
        network=network_of(CATALOG, accelerator), framework=CATALOG.framework(framework_id),
        overhead_bytes=2.0**30,
    )  # fmt: skip


def _every_stage(model: object, pp: int, v: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return tuple(range(pp)), (1,) * pp


@pytest.mark.parametrize("case", range(len(CASES)))
def test_the_cases_have_plans_to_compare(case: int) -> None:
    plans = PLANS[case]
    assert len(plans) > 50
    assert (plans.pp > 1).any() and len(np.unique(plans.zero)) > 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.integers(0, len(CASES) - 1), picks=st.lists(st.integers(0, 10**9), min_size=1,
                                                           max_size=12))  # fmt: skip
def test_batched_shortcuts_equal_every_stage_of_each_plan_alone(
    case: int, picks: list[int]
) -> None:
    plans = PLANS[case]
    chosen = np.asarray([p % len(plans) for p in picks])
    chosen = np.concatenate([chosen, np.flatnonzero(plans.pp == plans.pp.max())[:3]])
    fast = _evaluate(case, plans.take(chosen))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "_stage_classes", _every_stage)
        # one plan's kept stage classes (model/one_plan.py): fresh under the patch, so a
        # plan alone has every stage, and none of them kept once the patch is gone
        patch.setattr(
            one_plan, "stage_classes", functools.cache(one_plan.stage_classes.__wrapped__)
        )
        for row in range(chosen.size):
            per_layer._layer_cache.clear()
            per_layer._same_context.cache_clear()  # (found by identity in front of it)
            per_layer._one_key.cache_clear()
            alone = _evaluate(case, plans.take(chosen[row : row + 1]))
            for field in FIELDS:
                expected = float(np.asarray(getattr(alone, field))[0])
                actual = float(np.asarray(getattr(fast, field))[row])
                assert math.isclose(actual, expected, rel_tol=1e-12, abs_tol=1e-15), field
            for axis, values in alone.exposed_s.items():
                assert math.isclose(fast.exposed_s[axis][row], values[0], rel_tol=1e-12,
                                    abs_tol=1e-15), axis  # fmt: skip


def test_stage_classes_stand_for_every_stage() -> None:
    """Llama 3 405B on 16 stages (126 layers): the first and last stages hold 7 layers, the
    14 others 8 (Dubey et al. 2024 sec. 3.3.2): three classes, sizes 1, 14, 1."""
    model = CATALOG.model("llama3-405b")
    heads, sizes = pipeline._stage_classes(model, 16, 1)
    assert heads == (0, 1, 15) and sizes == (1, 14, 1)
    stages = pipeline._pipeline_stages(model, 16, 1)
    assert stages.layers.tolist() == [[7.0, 8.0, 7.0]]
    assert float((stages.layers * stages.count).sum()) == 126


def test_a_plan_given_in_full_is_kept_and_equal_to_its_first_evaluation() -> None:
    from gpuplan.model import kept, step
    from gpuplan.model.performance import estimate
    from gpuplan.scenario.plan import ParallelPlan, Recompute

    model, h100 = CATALOG.model("llama3-405b"), CATALOG.accelerator("h100-sxm")
    plan = ParallelPlan(
        tensor_parallel=8, pipeline_parallel=16, data_parallel=128, interleave=2,
        recompute=Recompute.FULL, sequence_parallel=True, zero=1,
    )  # fmt: skip

    def run() -> object:
        return estimate(CATALOG, model, h100, plan, seq_len=8192, global_batch=2048)

    evaluations: list[object] = []

    def counted(*args: object, **kwargs: object) -> object:
        evaluations.append(args)
        return evaluate(*args, **kwargs)

    evaluate = step.evaluate
    kept.forget()
    per_layer._layer_cache.clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(step, "evaluate", counted)
        first = run()
        again = run()  # the same records: kept by their identity, no record hashed
        # an equal model that is another object (a scenario resolved again): the first
        # equal record seen stands for it (kept.canonical), so the plan is kept as well
        copy = model.model_copy()
        assert copy == model and copy is not model
        other = estimate(CATALOG, copy, h100, plan, seq_len=8192, global_batch=2048)
    assert len(evaluations) == 1
    assert again == first and again is not first and other == first


def test_the_layer_cache_keeps_the_newest_contexts() -> None:
    per_layer._layer_cache.clear()
    limit = per_layer.LAYER_CACHE_CONTEXTS
    for context in range(limit + 36):
        per_layer._known_layers(("context", context))
    kept = [key[1] for key in per_layer._layer_cache]
    per_layer._layer_cache.clear()
    assert kept == list(range(36, limit + 36))


def test_a_kept_batch_gives_the_answer_of_a_fresh_evaluation() -> None:
    """Llama 3 70B on 3,296 and on 3,432 H100 (no plan uses them all): both searches fall
    back to plans that use fewer GPUs and share evaluated batches; the second search reuses
    the first's (its lower floors may add batches of their own) and answers as a fresh one."""
    from gpuplan.search import evaluated
    from gpuplan.search.plans import search

    model, h100 = CATALOG.model("llama3-70b"), CATALOG.accelerator("h100-sxm")

    def run(gpus: int) -> object:
        return search(CATALOG, model, h100, gpus, global_batch=1024, seq_len=8192)

    evaluated._kept.clear()
    run(3296)
    kept = list(evaluated._kept)
    second = run(3432)
    assert set(kept) <= set(evaluated._kept)  # the first search's batches are kept
    evaluated._kept.clear()
    fresh = run(3432)
    for field in ("best", "top", "pareto", "feasible", "evaluated", "pruned", "enumerated"):
        assert getattr(second, field) == getattr(fresh, field), field


# The search's memory-first evaluation: every plan's memory in one pass over all plans
# (batch.evaluate_memory, stage classes of every pipeline shape padded side by side in
# model/padded_stages.py), then the step times of the plans that fit, in one pass too.

MEMORY = ("weights", "grads", "optimizer", "activations", "memory_stage")


def _inputs(case: int) -> dict[str, object]:
    _, hardware, _, global_batch, seq_len, framework_id = CASES[case]
    accelerator = CATALOG.accelerator(hardware)
    return {
        "seq_len": seq_len,
        "global_batch": global_batch,
        "dev": device_of(CATALOG, accelerator, False, framework_id),
        "network": network_of(CATALOG, accelerator),
        "framework": CATALOG.framework(framework_id),
    }


def _plain(case: int, plans: PlanBatch) -> batch_module.BatchResult:
    model_id, hardware = CASES[case][:2]
    return batch_module.evaluate(CATALOG.model(model_id), CATALOG.accelerator(hardware), plans,
                                 overhead_bytes=2.0**30, **_inputs(case))  # fmt: skip


def _close(actual: np.ndarray, expected: np.ndarray, name: str) -> None:
    for a, e in zip(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                    strict=True):  # fmt: skip
        assert math.isclose(a, e, rel_tol=1e-12, abs_tol=1e-15), (name, a, e)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.integers(0, len(CASES) - 1), picks=st.lists(st.integers(0, 10**9), min_size=1,
                                                           max_size=40))  # fmt: skip
def test_memory_first_equals_the_plain_evaluation(case: int, picks: list[int]) -> None:
    """Random plans of every case (DualPipe, MoE, folding, FP8 dispatch among them): the
    memory pass gives the plain evaluation's memory exactly, and the step times evaluated
    with it (the search's path) the plain evaluation's to rounding."""
    plans = PLANS[case]
    chosen = np.asarray([p % len(plans) for p in picks])
    subset = plans.take(chosen)
    plain = _plain(case, subset)
    memory = evaluate_memory(CATALOG.model(CASES[case][0]), subset,
                             **_inputs(case))  # fmt: skip
    expected = {"weights": plain.weights_bytes, "grads": plain.grads_bytes,
                "optimizer": plain.optimizer_bytes, "activations": plain.activations_bytes,
                "memory_stage": plain.memory_stage}  # fmt: skip
    for name in MEMORY:
        assert np.array_equal(memory[name], expected[name]), name
    model_id, hardware = CASES[case][:2]
    fast = batch_module.evaluate(CATALOG.model(model_id), CATALOG.accelerator(hardware), subset,
                                 overhead_bytes=2.0**30, memory=memory,
                                 **_inputs(case))  # fmt: skip
    for field in FIELDS:
        _close(getattr(fast, field), getattr(plain, field), field)
    for axis, values in plain.exposed_s.items():
        _close(fast.exposed_s[axis], values, axis)
        _close(fast.on_link_s[axis], plain.on_link_s[axis], axis)


def _reference_top(case: int) -> tuple[list[dict[str, object]], int, float]:
    """The search's ranking from the plain evaluation of every enumerated plan: plans that
    fit (leaving the allocator's headroom) by step time, ties in enumeration order."""
    model_id, hardware, gpus, global_batch, seq_len, framework_id = CASES[case]
    from gpuplan.search.framework_limits import restrict_to_framework

    accelerator, framework = CATALOG.accelerator(hardware), CATALOG.framework(framework_id)
    context = Context(CATALOG.model(model_id), gpus, global_batch, seq_len, accelerator, False,
                      framework.moe_parallel_folding,
                      framework.pipeline_schedule == "dualpipe")  # fmt: skip
    columns, _ = _enumerate(context, SearchOptions(min_used=1.0), {})
    plans = PlanBatch(**restrict_to_framework(framework, columns, {}))
    overhead = CATALOG.system("framework_memory_overhead_gib").for_accelerator(hardware)
    headroom = CATALOG.system("allocator_headroom_fraction").for_accelerator(hardware)
    result = batch_module.evaluate(CATALOG.model(model_id), accelerator, plans,
                                   overhead_bytes=overhead * 2**30,
                                   **_inputs(case))  # fmt: skip
    fits = result.memory_bytes <= accelerator.hbm_bytes * (1 - headroom)
    times = np.where(fits, result.time_s, np.inf)
    order = np.lexsort((times, times))[: min(10, int(fits.sum()))]
    return ([plans.plan(int(i)).as_dict() for i in order], int(fits.sum()),
            float(result.memory_bytes.min()))  # fmt: skip


def test_the_search_ranks_as_the_plain_evaluation_of_every_plan() -> None:
    """Llama 3 405B on 2,048 H100 and DeepSeek-V3 under DualPipe (the per-shape path): the
    same ten best plans, the same count of plans that fit, the same smallest memory."""
    for case in (0, 5):
        model_id, hardware, gpus, global_batch, seq_len, framework_id = CASES[case]
        found = search(CATALOG, CATALOG.model(model_id), CATALOG.accelerator(hardware), gpus,
                       global_batch=global_batch, seq_len=seq_len, framework_id=framework_id,
                       options=None)  # fmt: skip
        top, feasible, smallest = _reference_top(case)
        assert [e.plan.as_dict() for e in found.top] == top
        assert found.feasible == feasible
        assert found.min_memory_bytes == smallest


def _pareto_by_sorting(time_s: np.ndarray, memory_bytes: np.ndarray, used: np.ndarray) -> list[int]:
    """The Pareto front as the search took it before issue 15: per GPU count, the plans in
    (time, memory) order whose memory is below every plan before them; then the plans no
    other beats on all three, at most 50, fastest first."""
    front: list[int] = []
    for count in np.unique(used):
        members = np.flatnonzero(used == count)
        order = members[np.lexsort((memory_bytes[members], time_s[members]))]
        best = np.minimum.accumulate(memory_bytes[order])
        keep = np.ones(order.size, dtype=bool)
        keep[1:] = memory_bytes[order][1:] < best[:-1]
        front.extend(int(i) for i in order[keep])
    chosen = np.asarray(front)
    t, m, g = time_s[chosen], memory_bytes[chosen], used[chosen]
    dominated = (
        (t[None, :] <= t[:, None]) & (m[None, :] <= m[:, None]) & (g[None, :] >= g[:, None])
        & ((t[None, :] < t[:, None]) | (m[None, :] < m[:, None]) | (g[None, :] > g[:, None]))
    ).any(axis=1)  # fmt: skip
    survivors = chosen[~dominated]
    return [int(i) for i in survivors[np.argsort(time_s[survivors], kind="stable")][:50]]


ROWS = st.tuples(st.integers(0, 12), st.integers(0, 12), st.sampled_from([64, 96, 128]))


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(ROWS, min_size=1, max_size=300))
def test_the_pareto_staircase_equals_sorting(rows: list[tuple[int, int, int]]) -> None:
    """Step times, memory and GPU counts from small ranges (many ties and duplicates): the
    search's staircase walk gives the front that sorting gave, in the same order."""
    from gpuplan.search.select import pareto_front as _pareto

    time_s = np.asarray([r[0] for r in rows], dtype=float)
    memory_bytes = np.asarray([r[1] for r in rows], dtype=float)
    used = np.asarray([r[2] for r in rows])
    assert _pareto(time_s, memory_bytes, used) == _pareto_by_sorting(time_s, memory_bytes, used)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(0, 20), min_size=1, max_size=200), count=st.integers(0, 30))
def test_the_smallest_equal_a_stable_sort(values: list[int], count: int) -> None:
    """The search's top plans: the ``count`` smallest step times, ties in enumeration order,
    as a stable sort of every time gives them."""
    from gpuplan.search.select import smallest as _smallest

    times = np.asarray(values, dtype=float)
    expected = np.argsort(times, kind="stable")[:count]
    assert _smallest(times, count).tolist() == expected.tolist()


KEYS = st.sampled_from([0.0, 1.0, 2.0, 3.0, math.inf, math.nan])


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(KEYS, KEYS), min_size=1, max_size=120), count=st.integers(0, 12))
def test_the_smallest_by_rank_equal_a_full_lexsort(
    rows: list[tuple[float, float]], count: int
) -> None:
    """The top plans by a rank (ties by step time, then enumeration order): the first
    ``count`` of a lexsort of every plan, with ties, inf (no progress) and NaN in both keys."""
    from gpuplan.search.select import smallest as _smallest

    rank = np.asarray([r[0] for r in rows])
    times = np.asarray([r[1] for r in rows])
    expected = np.lexsort((times, rank))[:count]
    assert _smallest(rank, count, then=times).tolist() == expected.tolist()


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 3), st.integers(0, 40)),
                     min_size=1, max_size=120), sort=st.booleans())  # fmt: skip
def test_distinct_rows_and_groups_equal_numpy_unique(
    rows: list[tuple[int, int, int]], sort: bool
) -> None:
    """Plan keys in any order or in the search's (sorted) order: the distinct rows by a
    table of codes, and the first occurrences by runs of sorted codes, are np.unique's."""
    from gpuplan.model.distinct import distinct_first, distinct_rows

    keys = np.asarray(sorted(rows) if sort else rows, dtype=np.int64)
    unique, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    found, where = distinct_rows(keys)
    assert found.tolist() == unique.tolist() and where.tolist() == inverse.reshape(-1).tolist()
    found_first, found_inverse = distinct_first(list(keys.T))
    assert found_first.tolist() == first.tolist()
    assert found_inverse.tolist() == inverse.reshape(-1).tolist()


@settings(max_examples=60, deadline=None)
@given(
    framework_id=st.sampled_from(sorted(CATALOG.frameworks)),
    rows=st.lists(st.tuples(st.integers(1, 4), st.integers(0, 5), st.integers(0, 2),
                            st.booleans()), min_size=1, max_size=40),
)  # fmt: skip
def test_framework_limits_skip_only_checks_that_cannot_break(
    framework_id: str, rows: list[tuple[int, int, int, bool]]
) -> None:
    """A stack that offers every value the plans take skips that check: the same plans and
    counts as every check run (ZeRO stages up to 5, beyond what any stack offers)."""
    from gpuplan.search import framework_limits

    columns = {
        "tp": np.asarray([r[0] for r in rows]), "pp": np.asarray([r[0] for r in rows]),
        "interleave": np.asarray([r[0] for r in rows]),
        "cp": np.asarray([r[0] for r in rows]), "zero": np.asarray([r[1] for r in rows]),
        "recompute": np.asarray([r[2] for r in rows]),
        "sequence_parallel": np.asarray([r[3] for r in rows]),
    }  # fmt: skip
    framework = CATALOG.framework(framework_id)
    fast_pruned: dict[str, int] = {}
    fast = framework_limits.restrict_to_framework(framework, dict(columns), fast_pruned)
    every_pruned: dict[str, int] = {}
    with pytest.MonkeyPatch.context() as patch:
        checks = len(framework_limits._checks(framework))
        patch.setattr(framework_limits, "_offered", lambda f, c: (False,) * checks)
        every = framework_limits.restrict_to_framework(framework, dict(columns), every_pruned)
    assert fast_pruned == every_pruned
    assert {k: v.tolist() for k, v in fast.items()} == {k: v.tolist() for k, v in every.items()}


@settings(max_examples=60, deadline=None)
@given(
    groups=st.lists(
        st.tuples(
            st.sampled_from((1, 2, 4, 8, 16, 64, 512)),  # ranks
            st.sampled_from((1, 2, 8, 64)),  # stride
            st.sampled_from((0.0, 1.0, 3e6, 2.5e9)),  # bytes per rank
        ),
        min_size=1,
        max_size=6,
    ),
    kind=st.sampled_from(tuple(Collective)),
)
def test_collective_times_of_a_batch_equal_each_group_alone(
    groups: list[tuple[int, int, float]], kind: Collective
) -> None:
    """collective_times computes the flat ring only when some group fits one scale-up
    domain, the hierarchical collective only when some does not, and nothing when no bytes
    move: a mixed batch equals each group evaluated alone, where these shortcuts apply, and
    a group that moves nothing (one rank or no bytes) takes no time."""
    network = network_of(CATALOG, CATALOG.accelerator("h100-sxm"))
    n, stride, size = (np.array(column, dtype=float) for column in zip(*groups, strict=True))
    together = collective_times(kind, size, n, stride, network)
    alone = [float(collective_times(kind, b, r, s, network)) for r, s, b in groups]
    assert together.shape == n.shape
    np.testing.assert_array_equal(together, alone)
    for (ranks, _, size_bytes), seconds in zip(groups, alone, strict=True):
        assert (seconds == 0.0) == (ranks == 1 or size_bytes == 0.0)


@settings(max_examples=40, deadline=None)
@given(
    model_id=st.sampled_from(("llama3-405b", "deepseek-v3", "mixtral-8x7b")),
    shape=st.tuples(
        st.sampled_from((1, 2, 8)),  # tp
        st.sampled_from((1, 2)),  # cp
        st.sampled_from((1, 2)),  # micro-batch
        st.booleans(),  # sequence parallel
        st.sampled_from((1, 8)),  # ep
    ),
    modes=st.lists(st.sampled_from(tuple(Recompute)), min_size=1, max_size=3, unique=True),
    moe_layer=st.booleans(),
    kernel=st.sampled_from((AttentionKernel.FLASH, AttentionKernel.UNFUSED)),
    scope=st.sampled_from(("attention-core", "norm-mla-up-swiglu")),
)
def test_layer_costs_of_recompute_modes_equal_each_alone(
    model_id: str, shape: tuple[int, int, int, bool, int], modes: list[Recompute],
    moe_layer: bool, kernel: AttentionKernel, scope: str,
) -> None:  # fmt: skip
    """per_layer costs the keys that differ only in recompute together (layer_costs): each
    equals layer_cost of its plan alone, field by field."""
    tp, cp, mb, sp, ep = shape
    model, h100 = CATALOG.model(model_id), CATALOG.accelerator("h100-sxm")
    moe_layer = moe_layer and model.moe is not None  # a dense model has no MoE layer
    dev, network = device_of(CATALOG, h100, False), network_of(CATALOG, h100)
    plans = tuple(
        ParallelPlan(tensor_parallel=tp, context_parallel=cp, microbatch=mb, recompute=mode,
                     sequence_parallel=sp, expert_parallel=ep if model.moe else 1)
        for mode in modes
    )  # fmt: skip
    together = layer_costs(model, plans, 4096, moe_layer, dev, kernel, network,
                           recompute_scope=scope)  # fmt: skip
    alone = [layer_cost(model, plan, 4096, moe_layer, dev, kernel, network, recompute_scope=scope)
             for plan in plans]  # fmt: skip
    assert list(together) == alone
