"""The VAE's roofline (planning.encoders.vae_seconds_per_clip): more HBM bandwidth never slows
the VAE, more peak never slows it, and neither alone makes it free."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from gpuplan.catalog import Catalog, load_catalog
from gpuplan.planning.encoders import vae_seconds_per_clip

CATALOG = load_catalog()
CHIPS = ("a100-80gb", "h100-sxm", "h200", "b200")

scale = st.floats(min_value=1.0, max_value=100.0)
work = st.floats(min_value=1e9, max_value=1e16)


def _chip(chip: str, peak_scale: float, hbm_scale: float) -> Catalog:
    acc = CATALOG.accelerator(chip)
    faster = acc.model_copy(
        update={
            "peak_bf16_dense_tflops": acc.peak_bf16_dense_tflops * peak_scale,
            "hbm_tb_per_s": acc.hbm_tb_per_s * hbm_scale,
        }
    )
    return dataclasses.replace(CATALOG, accelerators={**CATALOG.accelerators, chip: faster})


@given(st.sampled_from(CHIPS), scale, work, work)
def test_more_bandwidth_never_slows_the_vae(
    chip: str, k: float, flops: float, hbm_bytes: float
) -> None:
    base = vae_seconds_per_clip(CATALOG, chip, flops, hbm_bytes)
    faster = vae_seconds_per_clip(_chip(chip, 1.0, k), chip, flops, hbm_bytes)
    assert faster <= base
    compute_only = vae_seconds_per_clip(CATALOG, chip, flops, 0.0)
    assert faster >= compute_only * (1 - 1e-12)  # bandwidth alone never beats the convolutions


@given(st.sampled_from(CHIPS), scale, work, work)
def test_more_peak_never_slows_the_vae(chip: str, k: float, flops: float, hbm_bytes: float) -> None:
    base = vae_seconds_per_clip(CATALOG, chip, flops, hbm_bytes)
    faster = vae_seconds_per_clip(_chip(chip, k, 1.0), chip, flops, hbm_bytes)
    assert faster <= base
    memory_only = vae_seconds_per_clip(CATALOG, chip, 0.0, hbm_bytes)
    assert faster >= memory_only * (1 - 1e-12)  # peak alone never beats the memory passes


def test_a_chip_with_more_bandwidth_per_flop_runs_the_vae_nearer_its_conv_rate() -> None:
    """Open-Sora 2.0's VAE (9.06e6 FLOPs, 20,742 bytes per pixel): the share of its time in
    memory-bound passes is larger on the H100 (3.35 TB/s per 989 TFLOP/s) than on the H200
    (4.8 TB/s), so the H200 encodes the same clip faster at the same peak."""
    h100 = vae_seconds_per_clip(CATALOG, "h100-sxm", 9.06e6, 20742)
    h200 = vae_seconds_per_clip(CATALOG, "h200", 9.06e6, 20742)
    assert h200 < h100
