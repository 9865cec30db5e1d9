"""The Megatron-Bridge performance summary's dense Llama 3 rows (NeMo 25.09 / 25.11).

A held-out source: every dense pre-training row of the two tables on DGX-H100, DGX-B200
and GB200, whatever its error; the four 25.11 GB300 rows are stored but not predicted (the
catalog has no GB300 accelerator).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import Framework
from gpuplan.checks.row_plans import stated_plan
from gpuplan.checks.validation import load_measurements, measured_step_s, predict_row
from gpuplan.model.performance import estimate
from gpuplan.model.step import StepEstimate
from gpuplan.scenario.plan import ParallelPlan, Recompute

BLOCK_ROW = "megatronbridge-2511-llama3-8b-h100-8-fp8cs"


def test_every_dense_row_of_both_tables_is_stored() -> None:
    # 25.09: GB200 3 rows + 3 in parentheses, B200 2 + 2, H100 3; 25.11: GB200 4 (one FP8-MX
    # in parentheses), B200 4 (two), H100 3, GB300 4 (one). 13 + 15 = 28 stored; 21
    # predicted: not the GB300 rows (no catalog accelerator) nor the three GB200 rows whose
    # recipes offload activations to CPU memory (cpu_offloading_num_layers), a mechanism
    # gpuplan cannot state.
    rows = load_measurements()
    ids = [k for k in rows if k.startswith("megatronbridge-")]
    assert len(ids) == 28
    usable = [k for k in ids if rows[k].usable_for_validation]
    assert len(usable) == 21
    assert {rows[k].hardware for k in usable} == {"h100-sxm", "b200", "gb200"}
    stored = sorted(set(ids) - set(usable))
    gb300 = [k for k in stored if "-gb300-" in k]
    assert len(gb300) == 4 and all(rows[k].hardware is None for k in gb300)
    offloading = sorted(set(stored) - set(gb300))
    assert len(offloading) == 3
    assert all("cpu_offloading_num_layers" in (rows[k].notes or "") for k in offloading)


def test_step_time_follows_from_the_printed_throughput(catalog: Catalog) -> None:
    # 25.09 DGX-H100 LLAMA3_70B: GBS 128 x 8192 tokens / (1619 tokens/s/GPU x 64 GPUs)
    # = 10.1198 s, by hand.
    m = load_measurements()["megatronbridge-2509-llama3-70b-h100-64-fp8cs"]
    step, basis = measured_step_s(m, catalog.model("llama3-70b")) or (0.0, "")
    assert basis == "tokens/s/GPU"
    assert abs(step - 128 * 8192 / (1619 * 64)) < 1e-9
    assert abs(step - 10.1198) < 1e-3


def test_block_recompute_prices_between_none_and_full(catalog: Catalog) -> None:
    # Full recompute of 5 of Llama 3 8B's 32 layers (block method, the 25.11 H100 FP8-CS
    # preset's recompute_num_layers 5) lies between no recompute and a full recompute of
    # every layer, on the 8-GPU FSDP layout of that row.
    m = load_measurements()[BLOCK_ROW]
    stated = stated_plan(m, catalog, "megatron-bridge-llm-2025")
    plan = replace(stated, recompute=Recompute.FULL, recompute_layers=5)
    model, hw = catalog.model("llama3-8b"), catalog.accelerator("h100-sxm")

    def step(p: object) -> float:
        r = estimate(catalog, model, hw, p, seq_len=8192, global_batch=128, fp8=True,
                     framework_id="megatron-bridge-llm-2025")  # fmt: skip
        assert isinstance(r, StepEstimate)
        return r.time_s

    block = step(plan)
    none = step(replace(plan, recompute=Recompute.NONE, recompute_layers=None))
    full = step(replace(plan, recompute_layers=None))
    assert none < block < full


def test_a_preset_that_contradicts_the_table_leaves_recompute_unstated(catalog: Catalog) -> None:
    # The 25.11 H100 8B FP8-CS row: the table says FSDP 1; the preset at the page's commit
    # (and v0.2.0) has no Megatron-FSDP and recompute_num_layers 5 (cb62f8620 replaced the one
    # by the other), so, as for the 25.11 GB200 405B row, the preset's unstated settings are
    # not the run's: FSDP as the table (ZeRO-3), recompute unstated, the least that fits
    # (none: 25.09's same layout ran without recompute).
    rows = load_measurements()
    for row_id in (BLOCK_ROW, "megatronbridge-2511-llama31-405b-gb200-256-fp8cs"):
        assert rows[row_id].plan is not None and rows[row_id].plan.recompute is None, row_id
    m = rows[BLOCK_ROW]
    assert m.plan is not None and m.plan.zero == 3
    row = predict_row(m, catalog)
    twin = predict_row(rows["megatronbridge-2509-llama3-8b-h100-8-fp8cs"], catalog)
    assert row is not None and twin is not None
    assert row.predicted_step_s == twin.predicted_step_s  # same layout, no recompute


def test_every_row_gets_an_answer(catalog: Catalog) -> None:
    for m in load_measurements().values():
        if m.id.startswith("megatronbridge-") and m.usable_for_validation:
            row = predict_row(m, catalog)
            assert row is not None and row.predicted_step_s is not None, m.id


PARAM_GATHER_ROW = "megatronbridge-2509-llama31-405b-h100-1024-fp8cs"


def test_fp8_param_gather_halves_the_weights_and_their_all_gather(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The perf scripts' FP8-CS recipe (mixed_precision.bf16_with_fp8_current_scaling_mixed)
    # sets fp8_param_gather = True: the weights are held and all-gathered in FP8, 1 byte
    # each, where BF16 weights take 2 (MXFP8 gathers BF16:
    # test_mxfp8_weights_gather_in_bf16). By hand, for the 405B H100 row (ZeRO-1,
    # gradients reduced in BF16, 2 bytes): the distributed optimizer's ring all-gather
    # moves (n-1)/n x 1 byte per parameter and the ring reduce-scatter (n-1)/n x 2, so the
    # DP bytes on the link are (1 + 2) / (2 + 2) = 3/4 of those with BF16 weights; and the
    # weights held are half the (unsharded, ZeRO-1) BF16 gradients.
    assert catalog.framework("megatron-bridge-llm-2025").weight_bytes == 1
    m = load_measurements()[PARAM_GATHER_ROW]
    plan = stated_plan(m, catalog, "megatron-bridge-llm-2025")
    assert plan.zero == 1

    def run() -> StepEstimate:
        r = estimate(catalog, catalog.model("llama3-405b"), catalog.accelerator("h100-sxm"),
                     plan, seq_len=8192, global_batch=512, fp8=True,
                     framework_id="megatron-bridge-llm-2025",
                     cluster=catalog.cluster_measured_on(m.id))  # fmt: skip
        assert isinstance(r, StepEstimate)
        return r

    fp8_weights = run()
    original = Catalog.framework

    def bf16_weights(self: Catalog, framework_id: str) -> Framework:
        framework = original(self, framework_id)
        return framework.model_copy(update={"weight_bytes": 2})

    monkeypatch.setattr(Catalog, "framework", bf16_weights)
    bf16 = run()
    ratio = fp8_weights.comm_on_link_s["dp"] / bf16.comm_on_link_s["dp"]
    assert abs(ratio - 3 / 4) < 1e-3  # ring latency terms are the rest
    assert fp8_weights.memory.weights_bytes == fp8_weights.memory.grads_bytes / 2
    assert bf16.memory.weights_bytes == bf16.memory.grads_bytes


MX_ROW = "megatronbridge-2509-llama31-405b-b200-128-mxfp8"


def test_mxfp8_weights_gather_in_bf16(catalog: Catalog) -> None:
    # Megatron-core core_r0.14.0 / 0.15 (param_and_grad_buffer.py): MXFP8 parameters under
    # the distributed optimizer are all-gathered as BF16 through the gradient buffer, then
    # cast to MXFP8 (distributed_data_parallel.py start_param_sync). By hand, for a ZeRO-1
    # plan with gradients reduced in BF16: the ring all-gather moves (n-1)/n x 2 bytes per
    # parameter and the reduce-scatter (n-1)/n x 2, so the DP bytes on the link are
    # (2 + 2) / (1 + 2) = 4/3 of the FP8-CS recipe's (1-byte weights) on the same plan. The
    # row's own plan (405B, 126 layers in 64 chunks) has stages of 15 and 16 layers, and which
    # one is slowest may differ between the recipes, so the ratio is taken on one stage:
    # Llama 3 70B over TP 8 and DP 16 on 128 B200 with no pipeline (405B does not fit so).
    assert catalog.framework("megatron-bridge-llm-2025-mxfp8").weight_bytes == 2
    m = load_measurements()[MX_ROW]
    row_plan = stated_plan(m, catalog, "megatron-bridge-llm-2025-mxfp8")
    assert row_plan.zero == 1
    plan = ParallelPlan(tensor_parallel=8, pipeline_parallel=1, data_parallel=16,
                        microbatch=1, recompute=Recompute.FULL, sequence_parallel=True,
                        zero=1)  # fmt: skip

    def run(framework_id: str) -> StepEstimate:
        r = estimate(catalog, catalog.model("llama3-70b"), catalog.accelerator("b200"),
                     plan, seq_len=8192, global_batch=64, fp8=True,
                     framework_id=framework_id,
                     cluster=catalog.cluster_measured_on(m.id))  # fmt: skip
        assert isinstance(r, StepEstimate), r
        return r

    mx, cs = run("megatron-bridge-llm-2025-mxfp8"), run("megatron-bridge-llm-2025")
    ratio = mx.comm_on_link_s["dp"] / cs.comm_on_link_s["dp"]
    assert abs(ratio - 4 / 3) < 1e-3  # ring latency terms are the rest
    assert mx.memory.weights_bytes == 2 * cs.memory.weights_bytes
