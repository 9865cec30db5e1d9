"""Forward FP8 GEMMs with fast accumulation on Hopper (issue 13, FP8 fidelity).

Hand derivations from the sources, not from the code. Transformer Engine runs the forward
GEMMs of its per-tensor recipes with ``use_split_accumulator=False`` (cuBLASLt fast
accumulation) and the data- and weight-gradient GEMMs with it True; torchao's Float8 does
the same (``gemm_config_output`` fast). The catalog's Hopper FP8 rate was timed with
``torch._scaled_mm``'s default, split accumulation. The fast / split ratio: Transformer
Engine's GEMM Profiling Tutorial (H200 NVL, kernel-only per-layer GEMM time of its 5B
config: BF16 31.968 ms, FP8 current scaling with fast accumulation 16.785 ms, 1.905) over
the lent H100's split-accumulation FP8 / BF16 median over the 920 timed GEMM pairs (1.773):
1.074.
"""

from __future__ import annotations

import statistics
from dataclasses import replace

import pytest

from gpuplan.catalog import Catalog
from gpuplan.checks.kernel_checks import MIN_MEASURED_KERNEL_S, load_measured_kernels
from gpuplan.checks.validation import FRAMEWORK_PROFILES, load_measurements, predict_row
from gpuplan.model import performance
from gpuplan.model.kernels import device, gemm_time
from gpuplan.model.layer import _Linears
from gpuplan.model.performance import FAST_FORWARD_RECIPES, device_of

HOPPER = ("h100-sxm", "h100-pcie", "h800", "h200")


def test_the_ratio_is_te_fast_over_the_lent_h100_split_ratio(catalog: Catalog) -> None:
    data = load_measured_kernels("h100-sxm")
    bf16 = {row["shape"]: row["tflops"] for row in data["gemm_bf16"]}
    ratios = []
    for row in data["gemm_fp8"]:
        seconds = 2 * row["m"] * row["n"] * row["k"] / (row["tflops"] * 1e12)
        if seconds >= MIN_MEASURED_KERNEL_S and row["shape"] in bf16:
            ratios.append(row["tflops"] / bf16[row["shape"]])
    assert len(ratios) == 920
    split = statistics.median(ratios)
    assert round(split, 3) == 1.773
    fast = 31.968 / 16.785  # TE tutorial, H200 NVL, pre-quantized per-layer totals
    assert round(fast, 3) == 1.905
    for chip in HOPPER:
        assert catalog.efficiency_profile(chip).gemm_fp8_fast_accum_vs_fp8 == round(fast / split, 3)
    # Blackwell: TE's B300 fast ratio (13.102 / 6.812 = 1.92) is no higher than Bekman's
    # B200 split one (3432.5 / 1745.0 = 1.97): no gain stored.
    assert 13.102 / 6.812 < 3432.5 / 1745.0
    for chip in ("b200", "gb200", "a100-80gb", "mi300x"):
        assert catalog.efficiency_profile(chip).gemm_fp8_fast_accum_vs_fp8 is None


def test_only_forward_gemms_of_per_tensor_recipes_speed_up(catalog: Catalog) -> None:
    hw, profile = catalog.accelerator("h100-sxm"), catalog.efficiency_profile("h100-sxm")
    fast = device(hw, profile, True, 1.0, fast_forward=True)
    split = device(hw, profile, True, 1.0)
    assert fast.forward_gemm_speedup == 1.074 and split.forward_gemm_speedup == 1.0
    # A compute-bound GEMM (8192^3, FP8: 2 x 8192^3 FLOPs against 3 x 8192^2 bytes): the
    # forward one takes 1 / 1.074 of the time less the launch; backward ones are unchanged.
    launch = fast.launch_s
    n = 8192
    forward = gemm_time(n, n, n, fast, forward=True) - launch
    assert abs(forward / (gemm_time(n, n, n, split, forward=True) - launch) - 1 / 1.074) < 1e-12
    assert gemm_time(n, n, n, fast) == gemm_time(n, n, n, split)
    # One linear layer (4096 tokens, 4096 -> 14336): forward faster, backward and casts as before.
    a, b = _Linears(fast), _Linears(split)
    a.add(4096, 14336, 4096)
    b.add(4096, 14336, 4096)
    assert a.backward == b.backward and a.casts == b.casts
    assert abs((a.forward - launch) / (b.forward - launch) - 1 / 1.074) < 1e-12
    # BF16 runs and the 'blockwise' recipe (DeepSeek's promotion every 128 elements) keep
    # the measured rate.
    assert device(hw, profile, False, 1.0, fast_forward=True).forward_gemm_speedup == 1.0
    deepseek = device_of(catalog, catalog.accelerator("h800"), True, "deepseek-hai-llm")
    assert deepseek.forward_gemm_speedup == 1.0
    # A memory-bound GEMM is not sped up by faster accumulation.
    thin = replace(fast, gemm_flops_per_s=1e30)
    assert gemm_time(8, 8, 8192, thin, forward=True) == gemm_time(8, 8, 8192, thin)


def test_hopper_fp8_rows_use_it_and_blackwell_rows_do_not(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert set(FAST_FORWARD_RECIPES) == {"delayed", "current"}
    for stack, chip, speedup in (
        ("megatron-bridge-llm-2025", "h100-sxm", 1.074),  # TE 2.x, current scaling
        ("nemo-2024", "h100-sxm", 1.074),  # TE 1.x, delayed scaling
        ("fsdp2-torchtitan-2024-fp8ag", "h200", 1.074),  # torchao Float8, tensorwise
        ("megatron-bridge-llm-2025", "b200", 1.0),
        ("megatron-bridge-llm-2025-mxfp8", "gb200", 1.0),
    ):
        dev = device_of(catalog, catalog.accelerator(chip), True, stack)
        assert dev.forward_gemm_speedup == speedup, (stack, chip)
    # A Hopper FP8 row is predicted faster than at the split-accumulation rate, by less than
    # the forward GEMMs' saving (1 - 1/1.074) on a third of the step (forward GEMMs are a
    # third of the GEMMs, and the GEMMs less than the whole step).
    row = load_measurements()["megatronbridge-2509-llama3-8b-h100-8-fp8cs"]
    assert FRAMEWORK_PROFILES[row.framework] == "megatron-bridge-llm-2025"
    fast = predict_row(row, catalog)
    monkeypatch.setattr(performance, "FAST_FORWARD_RECIPES", ())
    split = predict_row(row, catalog)
    assert fast and split and fast.predicted_step_s and split.predicted_step_s
    saving = 1 - fast.predicted_step_s / split.predicted_step_s
    assert 0 < saving < (1 - 1 / 1.074) / 3
