"""The kernel model against kernels measured on an H100 SXM (benchmarks/gpu_kernels.py,
2026-11-28; raw rows in catalog/data/measured/h100-sxm-2026-11-28.yaml).

The model's rates are the catalog's: MAMF from Bekman's published brute-force search, the
sustained (power-limited) ratio, HBM fraction and attention curves from the measurement.
The GEMM rows set one value per precision, the GEMM K-overhead (a fit, checked below);
beyond it they test the tile/wave and roofline model.
``training_kernel_efficiency`` (fitted on whole training runs) is left out: these are
isolated kernels. Physical sanity: no kernel beats the datasheet peak.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import AttentionKernel
from gpuplan.checks.kernel_checks import (
    fit_gemm_k_overhead,
    kernel_checks,
    load_measured_kernels,
    measured_gemms,
)
from gpuplan.model.kernels import Device, attention_rates, device, gemm_time


@pytest.fixture(scope="module")
def measured() -> dict[str, Any]:
    return load_measured_kernels("h100-sxm")


def h100(catalog: Catalog, fp8: bool = False, **kernel: Any) -> Device:
    return device(
        catalog.accelerator("h100-sxm"), catalog.efficiency_profile("h100-sxm"), fp8, 1.0,
        **kernel,
    )  # fmt: skip


def test_measurement_is_an_h100_below_its_peaks(measured: dict[str, Any]) -> None:
    assert measured["device"].startswith("NVIDIA H100") and measured["compute_units"] == 132
    assert max(row["tflops"] for row in measured["gemm_bf16"]) < 989.4
    assert max(row["tflops"] for row in measured["gemm_fp8"]) < 1978.9
    assert measured["hbm"]["copy_tb_per_s"] < 3.35
    # At the 700 W limit the clock drops, and the rate with it.
    sustained = measured["sustained"]
    assert sustained["sustained_tflops"] < sustained["burst_tflops"]
    assert sustained["power_w_second_half_median"] <= measured["power_limit_w"] * 1.01


def test_profile_values_come_from_the_measurement(
    catalog: Catalog, measured: dict[str, Any]
) -> None:
    profile = catalog.efficiency_profile("h100-sxm")
    sustained = measured["sustained"]
    assert profile.sustained == pytest.approx(
        sustained["sustained_tflops"] / sustained["burst_tflops"], abs=5e-4
    )
    assert profile.hbm == pytest.approx(measured["hbm"]["copy_tb_per_s"] / 3.35, abs=5e-3)
    cudnn = {r["seq_len"]: r for r in measured["attention"] if r["backend"] == "cudnn"}
    flash2 = {r["seq_len"]: r for r in measured["attention"] if r["backend"] == "flash2"}
    assert profile.attention_curve is not None and profile.attention_flash2_curve is not None
    for point in profile.attention_curve:
        row = cudnn[point.seq_len]
        assert point.forward * 989.4 == pytest.approx(row["forward_tflops"], rel=2e-3)
        assert point.backward * 989.4 == pytest.approx(row["backward_tflops"], rel=2e-3)
    for point in profile.attention_flash2_curve:
        row = flash2[point.seq_len]
        assert point.forward * 989.4 == pytest.approx(row["forward_tflops"], rel=3e-3)
        assert point.backward * 989.4 == pytest.approx(row["backward_tflops"], rel=3e-3)


@pytest.mark.parametrize(
    ("check_id", "median_max", "p90_max"),
    [("h100-sxm-gemm_bf16", 0.05, 0.10), ("h100-sxm-gemm_fp8", 0.06, 0.15)],
)
def test_gemm_model_predicts_measured_gemms(
    catalog: Catalog, check_id: str, median_max: float, p90_max: float
) -> None:
    # Every forward, data-gradient and weight-gradient GEMM of four models at TP 1-8 and
    # 2K-16K tokens, timed back to back as in training (so at the power limit). Kernels
    # under 50 us are left out: the script's Python dispatch (~10 us a call) times them.
    check = {c.id: c for c in kernel_checks(catalog)}[check_id]
    assert check.summary.rows > 800
    assert check.summary.median_abs <= median_max
    assert check.summary.p90_abs <= p90_max
    assert abs(check.bias) <= 0.03  # no bias either way


@pytest.mark.parametrize(("fp8", "field"), [(False, "gemm_k_overhead_bf16"),
                                             (True, "gemm_k_overhead_fp8")])  # fmt: skip
def test_catalog_holds_the_fitted_k_overhead(catalog: Catalog, fp8: bool, field: str) -> None:
    # The K-overhead is the least-squares fit on the timed GEMMs of its precision.
    held = getattr(catalog.efficiency_profile("h100-sxm"), field)
    assert held == fit_gemm_k_overhead(catalog, "h100-sxm", fp8)
    # Without it the model ran far too fast on short-K GEMMs (K < 1024: BF16 -17%, FP8 -33%
    # on average); with it that error is less than half as large.
    dev = h100(catalog, fp8)
    short = [(m, n, k, s) for m, n, k, s in measured_gemms("h100-sxm", fp8) if k < 1024]
    assert short

    def mean_error(d: Device) -> float:
        return sum(gemm_time(m, n, k, d) / s - 1 for m, n, k, s in short) / len(short)

    without = mean_error(replace(dev, gemm_k_overhead=0.0))
    assert without < -0.15
    assert abs(mean_error(dev)) < abs(without) / 2


def test_k_overhead_by_hand(catalog: Catalog) -> None:
    # A GEMM of inner dimension k runs at (1 + k0 / 4096) / (1 + k0 / k) of the profile's
    # rate: with k0 = 125 that is 1 at k = 4096, (1 + 125/4096) / (1 + 125/512) = 0.8283 at
    # k = 512 and 1.0305 / 1.0153 = 1.0150 at k = 8192. Large square-ish GEMMs so that the
    # tile fraction is 1 and the launch cost small: compare time ratios at equal FLOPs.
    dev = replace(h100(catalog), gemm_k_overhead=125.0, launch_s=0.0)
    flat = replace(dev, gemm_k_overhead=0.0)
    for k, factor in ((4096, 1.0), (512, 0.8283), (8192, 1.0150)):
        m = n = 132 * 256  # whole waves of 256 x 128 tiles
        assert gemm_time(m, n, k, flat) / gemm_time(m, n, k, dev) == pytest.approx(factor, abs=1e-4)


def test_gemm_check_by_hand(catalog: Catalog, measured: dict[str, Any]) -> None:
    # One row by hand: the first BF16 GEMM is Llama 3 8B's QKV projection at TP 1 over 2,048
    # tokens, (2048 x 4096) @ (4096 x 6144). Compute-bound: 2 m n k at 989.4 TFLOP/s x MAMF
    # x sustained x the tile fraction (128 x 256 tiles: 16 x 24 = 384 over 132 SMs fill
    # 384 / 396 of three waves), plus the 4 us launch.
    row = measured["gemm_bf16"][0]
    assert (row["m"], row["n"], row["k"]) == (2048, 6144, 4096)
    profile = catalog.efficiency_profile("h100-sxm")
    flops = 2 * 2048 * 6144 * 4096
    rate = 989.4e12 * profile.gemm_bf16 * profile.sustained * 384 / 396
    predicted_s = flops / rate + 4e-6
    measured_s = flops / (row["tflops"] * 1e12)
    check = {c.id: c for c in kernel_checks(catalog)}["h100-sxm-gemm_bf16"]
    assert check.errors[0] == pytest.approx(predicted_s / measured_s - 1)


def test_layer_model_predicts_a_measured_layer(catalog: Catalog) -> None:
    # One Llama-3-8B decoder layer in eager PyTorch (cuDNN attention, no RoPE), micro-batch 1,
    # forward and backward on one GPU at 2K, 4K and 8K tokens: within 10% each.
    check = {c.id: c for c in kernel_checks(catalog)}["h100-sxm-layer"]
    assert check.summary.rows == 3
    assert check.summary.max_abs <= 0.10


def test_attention_curve_interpolates_in_log_length(catalog: Catalog) -> None:
    dev = h100(catalog)
    profile = catalog.efficiency_profile("h100-sxm")
    assert profile.attention_curve is not None
    peak = 989.4e12 * profile.sustained
    first, second, last = profile.attention_curve[0], profile.attention_curve[1], (
        profile.attention_curve[-1]
    )  # fmt: skip
    # Half-way between 1024 and 2048 in log2 length (sqrt(2) x 1024): the mean of the two.
    forward, backward = attention_rates(dev, 1024 * 2**0.5)
    assert forward == pytest.approx(peak * (first.forward + second.forward) / 2)
    assert backward == pytest.approx(peak * (first.backward + second.backward) / 2)
    # Flat beyond the measured ends.
    assert attention_rates(dev, 16) == pytest.approx((peak * first.forward, peak * first.backward))
    assert attention_rates(dev, 2**20) == pytest.approx((peak * last.forward, peak * last.backward))
    # FlashAttention-2 and the Triton kernel use their own curves, each slower than cuDNN:
    # FA2's measured 2K forward is 313.7 TFLOP/s; the Triton kernel's 2K rate is derived from
    # the FA2 release's H100 figure (265 TFLOP/s fwd+bwd) over the A100 FA2 / Triton ratio of
    # Dao 2023 fig. 4d (155 / 68), forward and backward alike.
    flash2 = h100(catalog, attention=AttentionKernel.FLASH2)
    triton = h100(catalog, attention=AttentionKernel.TRITON)
    assert attention_rates(flash2, 2048)[0] == pytest.approx(313.7e12 * profile.sustained, rel=3e-3)
    triton_2k = 265e12 * 68 / 155 * profile.sustained
    assert attention_rates(triton, 2048) == pytest.approx((triton_2k, triton_2k), rel=3e-3)
    assert attention_rates(triton, 2048)[0] < attention_rates(flash2, 2048)[0]
    assert attention_rates(flash2, 2048)[0] < attention_rates(dev, 2048)[0]


def test_bidirectional_attention_runs_at_the_published_noncausal_ratio(catalog: Catalog) -> None:
    # FlashAttention-3 paper (Shah et al. 2024, arXiv 2407.08608) fig. 5, H100 SXM5, head
    # dim 128, forward TFLOP/s without / with causal mask: cuDNN 574 / 410 at 1K and
    # 595 / 539 at 16K; FlashAttention-2 362 / 298 at 2K. Our causal rates are measured;
    # bidirectional attention runs at those ratios on top (the backward assumed alike).
    dev = h100(catalog)
    causal_1k, noncausal_1k = attention_rates(dev, 1024), attention_rates(dev, 1024, False)
    assert noncausal_1k[0] / causal_1k[0] == pytest.approx(574 / 410, rel=2e-3)
    assert noncausal_1k[1] / causal_1k[1] == pytest.approx(574 / 410, rel=2e-3)
    long_ratio = attention_rates(dev, 2**17, False)[0] / attention_rates(dev, 2**17)[0]
    assert long_ratio == pytest.approx(595 / 539, rel=2e-3)  # flat beyond 16K
    # Below the shortest measured causal length (1K) the rates are held flat, the
    # non-causal one too (the paper's non-causal cuDNN rate falls from 574 at 1K to 497
    # at 512: it must not rise there).
    assert attention_rates(dev, 512, False) == attention_rates(dev, 1024, False)
    # The gain shrinks with length: masked diagonal tiles weigh less in a longer row.
    ratios = [attention_rates(dev, s, False)[0] / attention_rates(dev, s)[0] for s in (1024, 8192)]
    assert ratios[0] > ratios[1] > 1.0
    flash2 = h100(catalog, attention=AttentionKernel.FLASH2)
    ratio = attention_rates(flash2, 2048, False)[0] / attention_rates(flash2, 2048)[0]
    assert ratio == pytest.approx(362 / 298, rel=2e-3)
    # Without a published ratio (the A100 profile's one rate) both masks run alike.
    a100 = device(catalog.accelerator("a100-80gb"), catalog.efficiency_profile("a100-80gb"),
                  False, 1.0)  # fmt: skip
    assert attention_rates(a100, 2048, False) == attention_rates(a100, 2048)


def test_flash2_is_the_flash_kernel_where_no_separate_rate_is_known(catalog: Catalog) -> None:
    # On the A100 FlashAttention-2 is the best fused kernel: the profile has no separate
    # flash2 value, so both kernels run at its one attention rate.
    a100, profile = catalog.accelerator("a100-80gb"), catalog.efficiency_profile("a100-80gb")
    assert profile.attention_flash2 is None
    flash = device(a100, profile, False, 1.0)
    flash2 = device(a100, profile, False, 1.0, AttentionKernel.FLASH2)
    assert flash.attention_curve == flash2.attention_curve
    # At 2K tokens, FA2's published causal forward + backward on an A100 (Dao 2023 fig. 4d):
    # 155 TFLOP/s of 312.
    assert attention_rates(flash2, 2048)[0] == pytest.approx(312e12 * 155 / 312, rel=2e-3)
