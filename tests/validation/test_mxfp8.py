"""MXFP8 (Transformer Engine's MXFP8BlockScaling on Blackwell) priced as its own recipe.

Hand derivations from the sources, not from the code: the GEMM ratio from Transformer
Engine's GEMM Profiling Tutorial (B300, kernel-only per-layer GEMM time: FP8 current
scaling 6.812 ms, MXFP8 7.161 ms); the cast bytes from TE's MXFP8 page (rowwise and
columnwise copies, each quantized from the BF16 data; one E8M0 byte per 32 elements).
"""

from __future__ import annotations

import pytest

from gpuplan.catalog import Catalog
from gpuplan.checks.row_plans import stated_plan
from gpuplan.checks.validation import FRAMEWORK_PROFILES, load_measurements, predict_row
from gpuplan.errors import ScenarioError
from gpuplan.model.kernels import device, fp8_cast_time
from gpuplan.model.performance import device_of, estimate
from gpuplan.model.step import StepEstimate
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario


def test_mxfp8_gemm_rate_is_te_kernel_ratio_of_the_fp8_rate(catalog: Catalog) -> None:
    # 6.812 / 7.161 = 0.9513: MXFP8 GEMMs about 5% slower than per-tensor FP8 ones.
    for chip in ("b200", "gb200"):
        hw = catalog.accelerator(chip)
        fp8 = device_of(catalog, hw, True, "megatron-bridge-llm-2025")
        mx = device_of(catalog, hw, True, "megatron-bridge-llm-2025-mxfp8")
        assert abs(mx.gemm_flops_per_s / fp8.gemm_flops_per_s - 6.812 / 7.161) < 1e-3
        assert mx.bf16_gemm_flops_per_s == fp8.bf16_gemm_flops_per_s


def test_mxfp8_casts_move_fewer_bytes_than_current_scaling(catalog: Catalog) -> None:
    # Per element: current scaling reads BF16 for the amax (2), then casts (read 2, write
    # 1) = 5; MXFP8 reads once (2) and writes rowwise and columnwise FP8 with 1/32 scale
    # byte each: 2 + 2 x 33/32 = 4.0625. Ratio 0.8125.
    hw, profile = catalog.accelerator("b200"), catalog.efficiency_profile("b200")
    cs, mx = device(hw, profile, True, 1.0), device(hw, profile, True, 1.0, mxfp8=True)
    assert mx.cast_bytes == 4.0625 and cs.cast_bytes == 5.0
    big = 1e9  # large enough that launch latency is negligible
    ratio = fp8_cast_time(big, 4096, 4096, mx) / fp8_cast_time(big, 4096, 4096, cs)
    assert abs(ratio - 0.8125) < 1e-6
    # BF16 runs cast nothing, whatever the recipe.
    assert fp8_cast_time(big, 4096, 4096, device(hw, profile, False, 1.0, mxfp8=True)) == 0.0


def test_chip_without_a_published_ratio_keeps_the_fp8_rate(catalog: Catalog) -> None:
    hw, profile = catalog.accelerator("h100-sxm"), catalog.efficiency_profile("h100-sxm")
    assert profile.gemm_mxfp8_vs_fp8 is None
    a, b = device(hw, profile, True, 1.0), device(hw, profile, True, 1.0, mxfp8=True)
    assert a.gemm_flops_per_s == b.gemm_flops_per_s


def test_mxfp8_profile_differs_from_the_bridge_profile_only_in_its_recipe(
    catalog: Catalog,
) -> None:
    # The recipe and what it implies for the weights: Megatron-core (core_r0.14.0, and the
    # 0.15 commit Megatron-Bridge v0.2.0 pins) all-gathers MXFP8 parameters as BF16 through
    # the gradient buffer (param_and_grad_buffer.py), 2 bytes, where FP8-CS Float8Tensor
    # weights gather as 1-byte uint8.
    base = catalog.framework("megatron-bridge-llm-2025").model_dump()
    mx = catalog.framework("megatron-bridge-llm-2025-mxfp8").model_dump()
    differing = {k for k in base if base[k] != mx[k]}
    assert differing == {"id", "name", "notes", "source", "fp8_recipe", "weight_bytes"}
    assert mx["fp8_recipe"] == "mxfp8" and base["fp8_recipe"] == "current"
    assert (mx["weight_bytes"], base["weight_bytes"]) == (2, 1)


def test_the_bridge_mxfp8_rows_run_the_mxfp8_recipe(catalog: Catalog) -> None:
    rows = [m for k, m in load_measurements().items() if k.startswith("megatronbridge-")]
    mx = [m for m in rows if m.id.endswith("-mxfp8")]
    assert len(mx) == 9
    for m in rows:
        recipe = catalog.framework(FRAMEWORK_PROFILES[m.framework]).fp8_recipe
        assert recipe == ("mxfp8" if m in mx else "current"), m.id
    # Same layout, same chip: the MXFP8 row is now predicted slower than its FP8-CS twin.
    ids = (
        "megatronbridge-2509-llama3-8b-b200-8-fp8cs",
        "megatronbridge-2509-llama3-8b-b200-8-mxfp8",
    )
    cs, mxr = (predict_row(load_measurements()[i], catalog) for i in ids)
    assert cs and mxr and cs.predicted_step_s and mxr.predicted_step_s
    assert mxr.predicted_step_s > cs.predicted_step_s


def test_mxfp8_on_a_chip_without_an_mxfp8_rate_is_one_line(catalog: Catalog) -> None:
    # Hopper has no block-scaled FP8 MMA (TE: MXFP8 needs SM 10.0+); the catalog holds the
    # MXFP8 ratio only for b200 and gb200, so an H100 scenario on the MXFP8 stack is refused
    # with one line naming the recipe and the chip; on a B200 it plans.
    scenario = {
        "model": "llama3-8b",
        "gpus": 64,
        "framework": "megatron-bridge-llm-2025-mxfp8",
        "training": {"tokens": 1e12, "precision": "fp8"},
    }
    with pytest.raises(ScenarioError, match=r"fp8_recipe 'mxfp8' needs .* h100-sxm lacks"):
        plan(parse_scenario({**scenario, "hardware": "h100-sxm"}), catalog)
    result = plan(parse_scenario({**scenario, "hardware": "b200"}), catalog)
    assert result.resolved.framework.fp8_recipe == "mxfp8"


SYNC_AG = "megatron-bridge-llm-2025-mxfp8-sync-ag"


def test_25_11_mxfp8_70b_and_405b_rows_gather_parameters_unoverlapped(catalog: Catalog) -> None:
    # Megatron-Bridge 5776a6d90 / v0.2.0 llama3_llm_pretrain.py (70B) and
    # llama31_llm_pretrain.py (405B): `if precision == "fp8_mx"` sets overlap_param_gather =
    # False ("keeping this enabled causes NaN grad norm"); the 8B functions and the 25.09
    # scripts do not. The profile is the MXFP8 one with that flag alone changed.
    mx = catalog.framework("megatron-bridge-llm-2025-mxfp8").model_dump()
    sync = catalog.framework(SYNC_AG).model_dump()
    differing = {k for k in mx if mx[k] != sync[k]}
    assert differing == {"id", "name", "notes", "source", "overlap_param_gather"}
    assert mx["overlap_param_gather"] and not sync["overlap_param_gather"]
    rows = load_measurements()
    on_sync = sorted(k for k, m in rows.items() if FRAMEWORK_PROFILES.get(m.framework) == SYNC_AG)
    expected = sorted(
        k
        for k in rows
        if k.startswith("megatronbridge-2511-")
        and k.endswith("-mxfp8")
        and ("-70b-" in k or "-405b-" in k)
    )
    assert on_sync == expected == ["megatronbridge-2511-llama31-405b-b200-128-mxfp8"]
    # The same plan with the gather overlapped is faster, by at most the DP time on the link.
    m = rows[expected[0]]
    layout = stated_plan(m, catalog, SYNC_AG)

    def run(framework_id: str) -> StepEstimate:
        r = estimate(catalog, catalog.model("llama3-405b"), catalog.accelerator("b200"),
                     layout, seq_len=8192, global_batch=64, fp8=True,
                     framework_id=framework_id,
                     cluster=catalog.cluster_measured_on(m.id))  # fmt: skip
        assert isinstance(r, StepEstimate)
        return r

    unoverlapped, overlapped = run(SYNC_AG), run("megatron-bridge-llm-2025-mxfp8")
    extra = unoverlapped.time_s - overlapped.time_s
    assert 0 < extra <= overlapped.comm_on_link_s["dp"]
    assert unoverlapped.compute_s == overlapped.compute_s
