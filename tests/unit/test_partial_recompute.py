"""Partial ("block") activation recompute: ``recompute_layers`` of each pipeline chunk
recompute under a full recompute, the rest keep their activations (Megatron-core's
``recompute_method: block`` with ``recompute_num_layers``)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplan.catalog import Catalog, load_catalog
from gpuplan.catalog.schema import Model
from gpuplan.model.performance import estimate
from gpuplan.model.step import Infeasible, InfeasibleKind, StepEstimate
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario
from gpuplan.scenario.plan import ParallelPlan, Recompute

FULL = Recompute.FULL


def gpt() -> Model:
    """GPT-style hand-made model: 4 layers, h 1024, 16 heads, GeLU, dropout, vocab 1000."""
    return Model.model_validate(dict(
        id="gpt", name="gpt", kind="llm", params_published_b=1, layers=4, hidden=1024,
        heads=16, kv_heads=16, ffn_hidden=4096, ffn="gelu", vocab=1000, seq_len=2048,
        dropout=True, source="hand-made test model", retrieved="2026-11-27",
    ))  # fmt: skip


def run(catalog: Catalog, model: Model, plan: ParallelPlan, seq_len: int, batch: int,
        framework: str = "modern") -> StepEstimate:  # fmt: skip
    result = estimate(catalog, model, catalog.accelerator("h100-sxm"), plan, seq_len=seq_len,
                      global_batch=batch, framework_id=framework)  # fmt: skip
    assert isinstance(result, StepEstimate), result
    return result


def test_hand_derived_gpt_one_of_four_layers(catalog: Catalog) -> None:
    # Korthikanti et al. 2022 eq. 1 (no TP, unfused attention, dropout): a layer keeps
    # sbh (34 + 5 a s / h) bytes; a full recompute keeps its input, 2 sbh. One stage, one
    # micro-batch in flight. Recomputing 1 of 4 layers: 3 layers keep their 34 + 5as/h,
    # one its 2: activations exceed the full recompute's by 3 (34 + 5as/h - 2) sbh, and
    # the recomputed forward is a quarter of the full recompute's.
    s, b, h, a = 2048, 1, 1024, 16
    plan = ParallelPlan(recompute=FULL)
    full = run(catalog, gpt(), plan, s, 8, "megatron-2022")
    one = run(catalog, gpt(), replace(plan, recompute_layers=1), s, 8, "megatron-2022")
    extra = 3 * (34 + 5 * a * s / h - 2) * s * b * h
    assert one.memory.activations_bytes - full.memory.activations_bytes == pytest.approx(extra)
    assert one.recompute_s == pytest.approx(full.recompute_s / 4)
    assert one.time_s < full.time_s


@pytest.mark.parametrize(
    ("model_id", "plan", "seq_len", "batch"),
    [
        ("llama3-70b", ParallelPlan(8, 4, 4, interleave=2, sequence_parallel=True, zero=1), 8192,
         128),
        ("mixtral-8x7b", ParallelPlan(4, 4, 2, expert_parallel=2, sequence_parallel=True), 4096,
         64),
        ("llama3-8b", ParallelPlan(2, 1, 4, sequence_parallel=True, zero=3), 8192, 32),
    ],
)  # fmt: skip
def test_none_and_all_layers_are_the_plain_modes(
    catalog: Catalog, model_id: str, plan: ParallelPlan, seq_len: int, batch: int
) -> None:
    model = catalog.model(model_id)
    chunk = -(-model.layers // (plan.pipeline_parallel * plan.interleave))
    none = run(catalog, model, replace(plan, recompute=Recompute.NONE), seq_len, batch)
    full = run(catalog, model, replace(plan, recompute=FULL), seq_len, batch)
    zero = run(catalog, model, replace(plan, recompute=FULL, recompute_layers=0), seq_len, batch)
    every = run(catalog, model, replace(plan, recompute=FULL, recompute_layers=chunk), seq_len,
                batch)  # fmt: skip
    for partial, plain in ((zero, none), (every, full)):
        assert partial.time_s == pytest.approx(plain.time_s, rel=1e-12)
        assert partial.recompute_s == pytest.approx(plain.recompute_s, rel=1e-12)
        assert partial.memory.total_bytes == pytest.approx(plain.memory.total_bytes, rel=1e-12)
        assert partial.hfu == pytest.approx(plain.hfu, rel=1e-12)
    assert every.plan.recompute_layers == chunk


_CATALOG = load_catalog()


@settings(max_examples=15, deadline=None)
@given(
    st.sampled_from(["llama3-8b", "mixtral-8x7b"]),
    st.sampled_from([(1, 1), (2, 1), (2, 2), (4, 2)]),
    st.data(),
)
def test_time_and_memory_are_monotone_in_recompute_layers(
    model_id: str, shape: tuple[int, int], data: st.DataObject
) -> None:
    model, (pp, v) = _CATALOG.model(model_id), shape
    chunk = -(-model.layers // (pp * v))
    low = data.draw(st.integers(0, chunk - 1))
    high = data.draw(st.integers(low + 1, chunk))
    ep = 4 // pp * 2 if model.moe is not None else 1  # experts over all of DP
    plan = ParallelPlan(2, pp, 4 // pp * 2, expert_parallel=ep, interleave=v, recompute=FULL,
                        sequence_parallel=True, zero=1)  # fmt: skip
    fewer = run(_CATALOG, model, replace(plan, recompute_layers=low), 4096, 64)
    more = run(_CATALOG, model, replace(plan, recompute_layers=high), 4096, 64)
    assert more.recompute_s > fewer.recompute_s
    assert more.time_s > fewer.time_s
    # Recomputing more layers frees their activations but for each layer's BF16 input
    # (2 s b h / t with SP), except that the first recomputed layer brings the layer that a
    # recompute rebuilds (as a full recompute does): from 0 to 1 layer, with one micro-batch
    # in flight, the activations may grow by at most one checkpointed input.
    checkpoint = 2 * 4096 * 1 * model.hidden / 2
    assert more.memory.activations_bytes <= fewer.memory.activations_bytes + checkpoint
    if low > 0:
        assert more.memory.activations_bytes < fewer.memory.activations_bytes


def test_recompute_layers_out_of_range_is_one_clear_line(catalog: Catalog) -> None:
    model = catalog.model("llama3-70b")  # 80 layers on 4 x 2 chunks: 10 a chunk
    plan = ParallelPlan(8, 4, 4, interleave=2, recompute=FULL, recompute_layers=11)
    result = estimate(catalog, model, catalog.accelerator("h100-sxm"), plan, seq_len=8192,
                      global_batch=128)  # fmt: skip
    assert isinstance(result, Infeasible) and result.kind is InfeasibleKind.LAYOUT
    assert "parallelism.recompute_layers = 11 must be 0..10" in result.reason
    selective = replace(plan, recompute=Recompute.SELECTIVE, recompute_layers=2)
    result = estimate(catalog, model, catalog.accelerator("h100-sxm"), selective, seq_len=8192,
                      global_batch=128)  # fmt: skip
    assert isinstance(result, Infeasible)
    assert "recompute_layers = 2 needs recompute = full" in result.reason


def test_plan_output_carries_recompute_layers() -> None:
    plan = ParallelPlan(recompute=FULL, recompute_layers=8)
    assert plan.as_dict()["recompute_layers"] == 8
    assert "recompute_layers" not in ParallelPlan(recompute=FULL).as_dict()
    assert plan.recompute_text == "full (first 8 layers of each chunk)"


def test_scenario_fixes_recompute_layers_in_a_search(catalog: Catalog) -> None:
    # A partial parallelism block: the search keeps recompute full with 2 layers a chunk;
    # 200 is more than any chunk holds (80 layers): every layer of the chunk recomputes.
    for layers in (2, 200):
        scenario = parse_scenario({
            "model": "llama3-70b", "hardware": "h100-sxm", "gpus": 128,
            "training": {"tokens": 1.0e9, "global_batch": 128, "seq_len": 8192},
            "parallelism": {"tp": 8, "pp": 4, "recompute": "full", "recompute_layers": layers},
        })  # fmt: skip
        result = plan(scenario, catalog)
        chosen = result.parallel_plan
        assert chosen is not None and chosen.recompute is FULL
        chunk = -(-80 // (chosen.pipeline_parallel * chosen.interleave))
        assert chosen.recompute_layers == min(layers, chunk)
        assert result.to_dict()["plan"]["recompute_layers"] == min(layers, chunk)
