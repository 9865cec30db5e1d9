"""The MoE validation rows: loaded with sources, planned through the same door as
`gpuplan plan`, and reported (gpuplan.checks.moe_validation)."""

from __future__ import annotations

import pytest

from gpuplan.catalog.loader import load_catalog
from gpuplan.checks.moe_validation import load_moe_measurements, scenario_of, validate_moe
from gpuplan.model.rules import RULES, Context
from gpuplan.report.moe_validation import moe_dict


def test_every_row_has_a_source_and_a_known_framework() -> None:
    catalog = load_catalog()
    rows = load_moe_measurements()
    assert len(rows) >= 8
    for m in rows.values():
        assert m.source and m.retrieved
        catalog.framework(m.framework)  # raises on an unknown profile
        assert m.model is not None and catalog.model(str(m.model)).moe is not None


def test_scenario_states_only_what_the_source_states() -> None:
    m = load_moe_measurements()["deepseek2024-v3-h800-2048"]
    scenario = scenario_of(m)
    # Micro-batch and recompute are not published: left to the search.
    assert scenario["parallelism"] == {
        "tp": 1, "pp": 16, "dp": 128, "cp": 1, "ep": 64, "interleave": 1,
        "sequence_parallel": False, "zero": 1,
    }  # fmt: skip
    assert scenario["framework"] == "deepseek-hai-llm"
    assert scenario["training"]["precision"] == "fp8"
    # 180K H800-hours per trillion tokens (report sec. 1): 1e12 / (180e3 x 3600) tokens/s/GPU.
    assert m.measured.tokens_per_s_per_gpu == pytest.approx(1e12 / (180e3 * 3600), rel=1e-4)


def test_every_usable_row_is_predicted_and_reported() -> None:
    rows = validate_moe(load_catalog())
    usable = [m for m in load_moe_measurements().values() if m.usable_for_validation]
    assert [r.id for r in rows] == [m.id for m in usable]
    assert all(r.predicted_step_s is not None and r.predicted_step_s > 0 for r in rows)
    out = moe_dict(rows)
    assert out["moe_summary"]["rows"] == len(rows)


def test_folded_experts_let_ep_span_tensor_parallel_ranks() -> None:
    # Qwen3-235B on 256 GPUs as Megatron's recipe runs it: TP 2, DP 16, EP 32. EP must
    # divide DP x CP = 16 unless the experts fold over TP (TP x DP x CP = 32).
    model = load_catalog().model("qwen3-235b-a22b")
    rule = next(r for r in RULES if r.id == "ep does not divide dp x cp")
    fields = {"tp": 2, "dp": 16, "cp": 1, "ep": 32}
    assert rule.broken(Context(model, 256, 2048, 4096), fields)
    assert not rule.broken(Context(model, 256, 2048, 4096, experts_fold_tp=True), fields)
    assert rule.broken(Context(model, 256, 2048, 4096, experts_fold_tp=True), fields | {"ep": 64})


def test_deepseek_v3_search_uses_ep_and_matches_the_stated_layout() -> None:
    # Issue 14: left to the search on DeepSeek's stack, DeepSeek-V3 on 2,048 H800 runs with
    # expert parallelism and no slower than 10% over the report's layout (PP 16, EP 64,
    # ZeRO-1), whose schedule fields the search also picks.
    from gpuplan.planning.run import plan
    from gpuplan.scenario.parse import parse_scenario

    base = {
        "model": "deepseek-v3", "hardware": "h800", "gpus": 2048,
        "framework": "deepseek-hai-llm",
        "training": {"tokens": 14.8e12, "precision": "fp8", "global_batch": 15360,
                     "seq_len": 4096},
    }  # fmt: skip
    stated = plan(
        parse_scenario(base | {"parallelism": {"tp": 1, "pp": 16, "dp": 128, "ep": 64, "zero": 1}})
    )
    searched = plan(parse_scenario(base))
    assert stated.step is not None and searched.step is not None
    assert searched.parallel_plan is not None and searched.parallel_plan.expert_parallel > 1
    assert searched.step.time_s <= 1.10 * stated.step.time_s
