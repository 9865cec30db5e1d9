"""Kernel and link rates off the H100 (efficiency.yaml, issue 13 item 6) against the published
measurements they rest on, each derived here by hand from the source's own numbers."""

from __future__ import annotations

import pytest

from gpuplan.catalog import Catalog

# FlashAttention-4 on a B200 (github.com/Dao-AILab/flash-attention pull 2280): BF16, causal,
# head dim 128, seqlen 8192, batch 4, 16 heads; forward 0.775 ms at 1418.1 TFLOP/s, 2-CTA
# backward 2.274 ms at 1208.6 TFLOP/s.
FA4_BATCH, FA4_HEADS, FA4_SEQ, FA4_HEAD_DIM = 4, 16, 8192, 128
FA4_FWD_MS, FA4_FWD_TFLOPS = 0.775, 1418.1
FA4_BWD_MS, FA4_BWD_TFLOPS = 2.274, 1208.6
B200_PEAK_TFLOPS = 2250


def test_fa4_rates_use_the_catalogs_flop_convention() -> None:
    # Causal forward FLOPs 4 b h s^2 d / 2, backward 2.5 forwards (the header's convention):
    # the published TFLOP/s follow from the published times only under that convention.
    forward = 4 * FA4_BATCH * FA4_HEADS * FA4_SEQ**2 * FA4_HEAD_DIM / 2
    assert forward / (FA4_FWD_MS * 1e-3) / 1e12 == pytest.approx(FA4_FWD_TFLOPS, rel=2e-3)
    assert 2.5 * forward / (FA4_BWD_MS * 1e-3) / 1e12 == pytest.approx(FA4_BWD_TFLOPS, rel=2e-3)


def test_b200_attention_is_fa4_forward_plus_backward(catalog: Catalog) -> None:
    # One forward and its backward (2.5 forwards of work) at the published rates.
    combined = 3.5 / (1 / FA4_FWD_TFLOPS + 2.5 / FA4_BWD_TFLOPS)  # 1261.9 TFLOP/s
    assert combined == pytest.approx(1261.9, abs=0.1)
    assert catalog.accelerator("b200").peak_bf16_flops_per_s == pytest.approx(2250e12)
    b200 = catalog.efficiency_profile("b200")
    assert b200.attention == pytest.approx(combined / B200_PEAK_TFLOPS, abs=1e-3)  # 0.561
    assert b200.attention_curve is None  # one length published: no curve invented
    # GB200 runs the same SM100 kernel: the rate carried over, said so.
    gb200 = catalog.efficiency_profile("gb200")
    assert "DERIVED" in gb200.source and "pull 2280" in gb200.source


def test_gb200_attention_carries_the_b200_rate_at_the_mamf_ratio(catalog: Catalog) -> None:
    # RULE SIBLING-ATTN (docs/model.md): the same kernel on the same SMs runs at the clock the
    # board sustains, which the measured MAMF carries (Bekman's table: GB200 BF16 1822.0, B200
    # 1745.0 TFLOP/s) and the datasheet peaks (2500 / 2250) do not.
    combined = 3.5 / (1 / FA4_FWD_TFLOPS + 2.5 / FA4_BWD_TFLOPS)  # B200 FA4: 1261.9 TFLOP/s
    gb200_rate = combined * 1822.0 / 1745.0  # 1317.5 TFLOP/s
    assert gb200_rate == pytest.approx(1317.5, abs=0.1)
    gb200_peak = catalog.accelerator("gb200").peak_bf16_flops_per_s / 1e12
    assert gb200_peak == pytest.approx(2500)
    gb200 = catalog.efficiency_profile("gb200")
    assert gb200.attention == pytest.approx(gb200_rate / gb200_peak, abs=1e-3)  # 0.527
    # Not the B200's fraction of peak, which would run it 2500 / 2250 = 1.111x the B200 rate.
    b200 = catalog.efficiency_profile("b200")
    assert gb200.attention * gb200_peak / (b200.attention * B200_PEAK_TFLOPS) == pytest.approx(
        1822.0 / 1745.0, abs=2e-3
    )
    # The GEMM fractions the ratio is read from are the same table's.
    assert gb200.gemm_bf16 * gb200_peak == pytest.approx(1822.0, abs=2)
    assert b200.gemm_bf16 * B200_PEAK_TFLOPS == pytest.approx(1745.0, abs=2)


def test_blackwell_scaleup_bus_is_the_gb200_nccl_busbw(catalog: Catalog) -> None:
    # 811 GB/s NCCL busbw on 8 GB200 over multi-node NVLink, of 900 GB/s per direction.
    gb200_link = catalog.accelerator("gb200").scaleup_bytes_per_s
    assert gb200_link == pytest.approx(900e9)
    assert catalog.efficiency_profile("gb200").scaleup_bus == pytest.approx(811 / 900, abs=5e-3)
    # busbw, not algbw: an 8-rank all-reduce's busbw is algbw x 2 (8 - 1) / 8, which for an
    # algbw of 811 would exceed the link.
    assert 811 * 2 * (8 - 1) / 8 > 900
    # HGX B200: the same NVLink5 ports, the same fraction.
    assert catalog.accelerator("b200").scaleup_bytes_per_s == pytest.approx(gb200_link)
    assert catalog.efficiency_profile("b200").scaleup_bus == (
        catalog.efficiency_profile("gb200").scaleup_bus
    )


def test_v100_gemm_is_the_primary_measurement(catalog: Catalog) -> None:
    v100, profile = catalog.accelerator("v100"), catalog.efficiency_profile("v100")
    # Peak: 640 tensor cores x 64 FMA x 2 FLOP per clock; SXM2 at 1530 MHz = 125 TFLOP/s,
    # the peak Markidis et al. 2018 state (the PCIe board at 1380 MHz would be 113).
    per_clock = 640 * 64 * 2
    assert per_clock * 1.53e9 / 1e12 == pytest.approx(125.3, abs=0.1)
    assert v100.peak_bf16_flops_per_s == pytest.approx(125e12)
    # RULE V100-GEMM: primary sources only, median over sources. One found: cuBLAS with
    # tensor cores up to 83 TFLOP/s (Markidis et al., IPDPSW 2018, CUDA 9.0): 83 / 125.
    primary = [83 / 125]
    median = sorted(primary)[len(primary) // 2]
    assert profile.gemm_bf16 == pytest.approx(median, abs=1e-3)  # 0.664
    # The forum post's 101 of 112 TFLOP/s (0.90) is secondary: no longer the value.
    assert profile.gemm_bf16 < 101 / 112 - 0.2
    assert "Markidis" in profile.source and "79781" not in profile.source
    assert "SECONDARY" in profile.notes


def test_v100_hbm_is_the_published_copy_rate(catalog: Catalog) -> None:
    # cudaMemcpy 790 of 900 GB/s (V100 16GB PCIe; the same HBM2 as the SXM2).
    assert catalog.accelerator("v100").hbm_bytes_per_s == pytest.approx(900e9)
    assert catalog.efficiency_profile("v100").hbm == pytest.approx(790 / 900, abs=1e-3)


def test_h200_rates_are_h200_measurements_or_the_h100s(catalog: Catalog) -> None:
    h200, h100 = catalog.efficiency_profile("h200"), catalog.efficiency_profile("h100-sxm")
    accelerator = catalog.accelerator("h200")
    peak_bf16 = accelerator.peak_bf16_flops_per_s / 1e12
    assert peak_bf16 == pytest.approx(989.4, abs=0.1)  # the same GH100 tensor peak
    # Measured on an H200 (Bekman): BF16 MAMF 834, MSMF 755; FP8 MAMF 1453.4.
    assert h200.gemm_bf16 == pytest.approx(834 / peak_bf16, abs=1e-3)  # 0.843
    assert h200.sustained == pytest.approx(755 / 834, abs=1e-3)  # 0.905
    assert h200.gemm_bf16 * h200.sustained * peak_bf16 == pytest.approx(755, abs=1.0)
    assert accelerator.peak_fp8_flops_per_s is not None
    peak_fp8 = accelerator.peak_fp8_flops_per_s / 1e12
    assert h200.gemm_fp8 == pytest.approx(1453.4 / peak_fp8, abs=1e-3)  # 0.734
    # No H200 measurement published: the h100-sxm values stand (RULE H200).
    assert h200.hbm == h100.hbm == pytest.approx(0.90)
    assert h200.gemm_k_overhead_bf16 == h100.gemm_k_overhead_bf16
    assert h200.gemm_k_overhead_fp8 == h100.gemm_k_overhead_fp8
    assert h200.attention_curve == h100.attention_curve
    assert h200.attention == h100.attention
    assert "RULE H200" in h200.source


def test_tpu_v5e_matmul_is_the_xla_measurement(catalog: Catalog) -> None:
    # JAX Pallas matmul guide, XLA jnp.matmul BF16 8192^3 on a v5e: 6.0471 ms.
    flops = 2 * 8192**3
    measured = flops / 0.006047147869830951 / 1e12
    assert measured == pytest.approx(181.82, abs=0.01)
    assert catalog.accelerator("tpu-v5e").peak_bf16_flops_per_s == pytest.approx(197e12)
    assert catalog.efficiency_profile("tpu-v5e").gemm_bf16 == pytest.approx(
        measured / 197, abs=1e-3
    )  # 0.923
    # The other TPUs keep their assumption, not the v5e's measurement.
    for chip in ("tpu-v4", "tpu-v5p", "tpu-v6e"):
        profile = catalog.efficiency_profile(chip)
        assert profile.gemm_bf16 == 0.85
        assert profile.source.startswith("Assumption") and "found" in profile.source


def test_mi300x_scaleup_bus_is_the_usable_xgmi_rate(catalog: Catalog) -> None:
    # Seven xGMI links of 64 GB/s per direction; ~48 usable each after CRC and protocol.
    assert catalog.accelerator("mi300x").scaleup_bytes_per_s == pytest.approx(7 * 64e9)
    assert catalog.efficiency_profile("mi300x").scaleup_bus == pytest.approx(48 / 64)


def test_no_replaced_field_is_still_borrowed_from_the_h100(catalog: Catalog) -> None:
    for profile in catalog.efficiency.values():
        assert "assumed as h100-sxm" not in profile.source, profile.id
    # What stays an assumption says why.
    for chip in ("v100", "mi300x"):
        profile = catalog.efficiency_profile(chip)
        assert "assumption" in (profile.source + profile.notes).lower(), chip
