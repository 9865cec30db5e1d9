"""Time of the kernels of a transformer layer on one accelerator: a roofline with measured
efficiencies.

A GEMM of ``m x k`` by ``k x n`` takes ``max(2 m n k / (peak e_gemm), bytes / (bw e_hbm))``
plus a launch cost, where ``bytes = 2 (m k + k n + m n)`` (BF16 operands and result) and
``e_gemm`` is the Maximum Achievable Matmul FLOPS fraction of the catalog (large GEMMs run
at MAMF; thin ones become memory-bound). Elementwise kernels (norms, activations, dropout,
softmax, RoPE) move their bytes at ``bw e_hbm``. Fused attention runs at ``e_attention`` of
peak, with the backward counted as 2.5 forwards (Dao 2023, FlashAttention-2, sec. 4.1).
"""

from __future__ import annotations

from dataclasses import dataclass

from gpuplan.catalog.schema import Accelerator, EfficiencyProfile

BF16_BYTES = 2
FLASH_BACKWARD_FACTOR = 2.5


@dataclass(frozen=True)
class Device:
    """The numbers of one accelerator that kernel times need, in SI units."""

    gemm_flops_per_s: float
    """Achievable GEMM rate at the training precision (peak x MAMF fraction)."""
    attention_flops_per_s: float
    hbm_bytes_per_s: float
    """Achievable streaming bandwidth."""
    launch_s: float


def device(accelerator: Accelerator, profile: EfficiencyProfile, fp8: bool) -> Device:
    if fp8:
        peak = accelerator.peak_fp8_flops_per_s
        assert peak is not None, "resolve() refuses fp8 on chips without it"
        gemm = peak * (profile.gemm_fp8 or profile.gemm_bf16)
    else:
        gemm = accelerator.peak_bf16_flops_per_s * profile.gemm_bf16
    return Device(
        gemm_flops_per_s=gemm,
        attention_flops_per_s=accelerator.peak_bf16_flops_per_s * profile.attention,
        hbm_bytes_per_s=accelerator.hbm_bytes_per_s * profile.hbm,
        launch_s=profile.kernel_launch_us * 1e-6,
    )


def gemm_time(m: float, n: float, k: float, dev: Device, batch: float = 1.0) -> float:
    """Seconds for ``batch`` GEMMs of (m x k) @ (k x n)."""
    if min(m, n, k, batch) <= 0:
        return 0.0
    flops = 2.0 * m * n * k * batch
    moved = BF16_BYTES * (m * k + k * n + m * n) * batch
    return max(flops / dev.gemm_flops_per_s, moved / dev.hbm_bytes_per_s) + dev.launch_s


def streaming_time(bytes_moved: float, kernels: int, dev: Device) -> float:
    """Seconds for memory-bound kernels that move ``bytes_moved`` in total."""
    return bytes_moved / dev.hbm_bytes_per_s + kernels * dev.launch_s


def flash_attention_time(forward_flops: float, dev: Device, backward: bool) -> float:
    """Forward (and backward when asked) of a fused attention kernel."""
    factor = 1.0 + (FLASH_BACKWARD_FACTOR if backward else 0.0)
    return factor * forward_flops / dev.attention_flops_per_s + (
        (2 if backward else 1) * dev.launch_s
    )
