"""Time of the kernels of a transformer layer on one accelerator: a roofline with measured
efficiencies.

A GEMM of ``m x k`` by ``k x n`` takes ``max(2 m n k / (peak e_gemm), bytes / (bw e_hbm))``
plus a launch cost, where ``bytes = 2 (m k + k n + m n)`` (BF16 operands and result) and
``e_gemm`` is the Maximum Achievable Matmul FLOPS fraction of the catalog (large GEMMs run
at MAMF; thin ones become memory-bound). Elementwise kernels (norms, activations, dropout,
softmax, RoPE) move their bytes at ``bw e_hbm``. Fused attention runs at ``e_attention`` of
peak, with the backward counted as 2.5 forwards (Dao 2023, FlashAttention-2, sec. 4.1);
where the catalog holds a measured curve, the forward and backward rates depend on the
sequence length (interpolated in log length, flat beyond the measured ends). Measured
curves are causal; bidirectional attention (diffusion transformers) runs at the catalog's
published non-causal / causal ratio of the same kernel on top.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from typing import Any

from gpuplan.catalog.schema import (
    Accelerator,
    AttentionKernel,
    AttentionPoint,
    EfficiencyProfile,
    NoncausalPoint,
)

BF16_BYTES = 2
# Output tiles cuBLAS picks among (NVIDIA DU-09799-001 sec. 2.3), taken as equally fast.
GEMM_TILES = ((256, 128), (128, 256), (128, 128), (256, 64), (64, 256), (128, 64), (64, 128))
FP8_CAST_BYTES = 5.0
"""Bytes per element of a linear layer's input and output gradient that the per-tensor FP8
casts move (Transformer Engine): the BF16 tensor read (2), its FP8 copy and the transposed
copy the weight gradient needs written (1 + 1), and about one more for the amax: current
scaling reads the tensor once more before casting (2), delayed scaling folds the amax into
the cast (0). One figure for both per-tensor recipes (frameworks.yaml ``fp8_recipe``
current or delayed; the profiles do not price them apart): TE's GEMM Profiling Tutorial puts
MXFP8's quantization at 0.78 of current scaling's, 4.06 / 0.78 = 5.2 bytes (docs/model.md)."""
MXFP8_CAST_BYTES = 2.0 + 2 * (1.0 + 1.0 / 32)
"""Bytes per element an MXFP8 cast moves (Transformer Engine on Blackwell): the BF16 tensor
is read once (2) and written twice, rowwise (1 x 32 blocks) and columnwise (32 x 1 blocks)
quantized, each FP8 byte with 1/32 of an E8M0 scale byte; no amax pass (per-tensor scaling:
``FP8_CAST_BYTES``)."""
FLASH_BACKWARD_FACTOR = 2.5
GEMM_K_REFERENCE = 4096
"""The inner dimension at which a profile's GEMM fraction holds when the profile has a
K-overhead (efficiency.yaml gemm_k_overhead_*): the middle of the GEMMs it was fitted on."""


@dataclass(frozen=True)
class Device:
    """The numbers of one accelerator that kernel times need, in SI units."""

    gemm_flops_per_s: float
    """Achievable GEMM rate at the training precision (peak x MAMF fraction x sustained)."""
    bf16_gemm_flops_per_s: float
    """The same in BF16, for GEMMs kept out of FP8 (the logits)."""
    attention_curve: tuple[tuple[float, float, float], ...]
    """Fused attention rates: (log2 sequence length, forward FLOP/s, backward FLOP/s) by
    increasing length; one point where the rate is not known per length."""
    hbm_bytes_per_s: float
    """Achievable streaming bandwidth."""
    launch_s: float
    noncausal_curve: tuple[tuple[float, float, float], ...] = ((0.0, 1.0, 1.0),)
    """Non-causal / causal rate ratios: (log2 sequence length, forward, backward)."""
    fp8: bool = False
    """GEMMs run in FP8: their operands are cast (and transposed) by extra kernels."""
    compute_units: int | None = None
    """SMs for the wave-quantisation model; None turns it off."""
    overlap_slowdown: float = 0.0
    """Fractional slowdown of compute kernels while a collective runs beside them."""
    gemm_k_overhead: float = 0.0
    """Fixed cost per output tile, in elements of the inner dimension, at the training
    precision (:func:`gemm_time`)."""
    bf16_gemm_k_overhead: float = 0.0
    """The same for BF16 GEMMs."""
    cast_bytes: float = FP8_CAST_BYTES
    """Bytes per element of linear-layer input and output-gradient that the FP8 casts
    move (:func:`fp8_cast_time`): ``MXFP8_CAST_BYTES`` under the 'mxfp8' recipe."""
    forward_gemm_speedup: float = 1.0
    """Rate of forward (fprop) GEMMs over ``gemm_flops_per_s``: the profile's
    ``gemm_fp8_fast_accum_vs_fp8`` where the FP8 recipe runs them with fast accumulation,
    else 1 (:func:`gemm_time` with ``forward``)."""


def device(
    accelerator: Accelerator,
    profile: EfficiencyProfile,
    fp8: bool,
    kernel_efficiency: float,
    attention: AttentionKernel = AttentionKernel.FLASH,
    overlap_slowdown: float = 0.0,
    mxfp8: bool = False,
    fast_forward: bool = False,
) -> Device:
    """The rates of one accelerator in training.

    ``kernel_efficiency`` is the fraction of the best-shape, sustained matmul rate that
    training kernels reach on average (real shapes, epilogues, stream switches); it is one
    number for all accelerators, fitted on one published source (see systems.yaml).
    ``overlap_slowdown`` is how much slower compute runs beside a collective (systems.yaml).
    ``mxfp8``: FP8 GEMMs use the 'mxfp8' recipe (the profile's ``gemm_mxfp8_vs_fp8``
    and ``MXFP8_CAST_BYTES``). ``fast_forward``: the recipe runs forward FP8 GEMMs with
    fast accumulation (the profile's ``gemm_fp8_fast_accum_vs_fp8``, where it has one).
    """
    points, noncausal = _attention_points(profile, attention)
    ratios = noncausal or (NoncausalPoint(seq_len=1, forward=1.0, backward=1.0),)
    peak_bf16 = accelerator.peak_bf16_flops_per_s  # (a property: read once)
    attention_scale = peak_bf16 * profile.sustained * kernel_efficiency
    bf16 = peak_bf16 * profile.gemm_bf16
    gemm, bf16_k0 = bf16, profile.gemm_k_overhead_bf16 or 0.0
    k0, forward_speedup = bf16_k0, 1.0
    if fp8:
        peak = accelerator.peak_fp8_flops_per_s
        assert peak is not None, "resolve() refuses fp8 on chips without it"
        gemm = peak * (profile.gemm_fp8 or profile.gemm_bf16)
        if profile.gemm_k_overhead_fp8 is not None:
            k0 = profile.gemm_k_overhead_fp8
        if mxfp8 and profile.gemm_mxfp8_vs_fp8 is not None:
            gemm *= profile.gemm_mxfp8_vs_fp8
        if fast_forward and profile.gemm_fp8_fast_accum_vs_fp8 is not None:
            forward_speedup = profile.gemm_fp8_fast_accum_vs_fp8
    return Device(
        gemm_flops_per_s=gemm * profile.sustained * kernel_efficiency,
        bf16_gemm_flops_per_s=bf16 * profile.sustained * kernel_efficiency,
        attention_curve=tuple(
            [
                (math.log2(p.seq_len), p.forward * attention_scale, p.backward * attention_scale)
                for p in points
            ]
        ),  # (from lists: a generator costs more per point)
        hbm_bytes_per_s=accelerator.hbm_bytes_per_s * profile.hbm,
        noncausal_curve=tuple([(math.log2(p.seq_len), p.forward, p.backward) for p in ratios]),
        launch_s=profile.kernel_launch_us * 1e-6,
        fp8=fp8,
        compute_units=profile.compute_units,
        overlap_slowdown=overlap_slowdown,
        gemm_k_overhead=k0,
        bf16_gemm_k_overhead=bf16_k0,
        cast_bytes=MXFP8_CAST_BYTES if (fp8 and mxfp8) else FP8_CAST_BYTES,
        forward_gemm_speedup=forward_speedup,
    )


def _attention_points(
    profile: EfficiencyProfile, attention: AttentionKernel
) -> tuple[tuple[AttentionPoint, ...], tuple[NoncausalPoint, ...] | None]:
    """A kernel's rates by sequence length (one point where only a single rate is known)
    and its non-causal / causal ratios. FlashAttention 1 and xformers use their own published
    curves where the profile has them, else the Triton kernel's (the same 2022-23 class)."""
    fraction, curve = profile.attention, profile.attention_curve
    noncausal = profile.attention_noncausal
    if attention is AttentionKernel.FLASH2 and profile.attention_flash2 is not None:
        fraction, curve = profile.attention_flash2, profile.attention_flash2_curve
        noncausal = profile.attention_flash2_noncausal
    elif attention in (AttentionKernel.TRITON, AttentionKernel.FLASH1, AttentionKernel.XFORMERS):
        assert profile.attention_triton is not None, f"no Triton attention rate for {profile.id}"
        fraction, curve = profile.attention_triton, profile.attention_triton_curve
        noncausal = profile.attention_flash2_noncausal  # measured for FlashAttention-2
        own = {
            AttentionKernel.FLASH1: profile.attention_flash1_curve,
            AttentionKernel.XFORMERS: profile.attention_xformers_curve,
        }.get(attention)
        curve = own or curve
    return curve or (AttentionPoint(seq_len=1, forward=fraction, backward=fraction),), noncausal


@functools.lru_cache(maxsize=65536)
def tile_efficiency(m: float, n: float, batch: float, units: int | None) -> float:
    """Useful fraction of the tile slots a GEMM occupies (tile and wave quantisation).

    The output is cut into tiles, run in waves of one tile per SM; a last partial tile or
    wave idles the rest (NVIDIA, "Matrix Multiplication Background User's Guide",
    DU-09799-001, sec. 3). The library picks the tile shape that wastes least; we take the
    best of the tiles cuBLAS uses (``GEMM_TILES``).
    """
    if units is None:
        return 1.0
    batches = math.ceil(batch)
    fewest = min([  # the best tile wastes fewest slots: the useful share is largest there
        math.ceil(math.ceil(m / tile_m) * math.ceil(n / tile_n) * batches / units)
        * units * tile_m * tile_n
        for tile_m, tile_n in GEMM_TILES
    ])  # fmt: skip
    return float(m * n * batches / fewest)  # (one division: x / a >= x / b when a <= b)


def gemm_time(
    m: float, n: float, k: float, dev: Device, batch: float = 1.0, forward: bool = False
) -> float:
    """Seconds for ``batch`` GEMMs of (m x k) @ (k x n).

    Each output tile runs a loop over ``k`` plus a fixed prologue and epilogue worth
    ``k0`` elements of that loop (``dev.gemm_k_overhead``), so short inner dimensions run
    slower: the rate is ``(1 + k0 / GEMM_K_REFERENCE) / (1 + k0 / k)`` of the profile's.
    A ``forward`` (fprop) GEMM runs ``dev.forward_gemm_speedup`` times faster.
    """
    if m <= 0 or n <= 0 or k <= 0 or batch <= 0:  # (min() and max() calls cost more)
        return 0.0
    flops = 2.0 * m * n * k * batch
    moved = BF16_BYTES * (m * k + k * n + m * n) * batch
    k0 = dev.gemm_k_overhead
    shape = (1 + k0 / GEMM_K_REFERENCE) / (1 + k0 / k)
    rate = dev.gemm_flops_per_s * shape * tile_efficiency(m, n, batch, dev.compute_units)
    if forward:
        rate *= dev.forward_gemm_speedup
    compute, memory = flops / rate, moved / dev.hbm_bytes_per_s
    return (memory if memory > compute else compute) + dev.launch_s  # max(), the first on ties


def fp8_cast_time(tokens: float, n: float, k: float, dev: Device, batch: float = 1.0) -> float:
    """Extra kernels a linear layer (tokens x k) @ (k x n) needs when its GEMMs run in FP8.

    FP8 GEMMs (NVIDIA Transformer Engine) read FP8 operands: the BF16 input is cast
    (read 2 bytes, write 1) before the forward GEMM, and in the backward the output
    gradient is cast and the operands transposed (about 2 more bytes per element), so
    about ``FP8_CAST_BYTES`` per element of input and output activations for forward and
    backward together (``dev.cast_bytes``: fewer under MXFP8, which needs no amax pass).
    Zero when the GEMMs run in BF16.
    """
    if not dev.fp8 or tokens <= 0:
        return 0.0
    return float(streaming_time(dev.cast_bytes * tokens * (n + k) * batch, 3, dev))


def streaming_time(bytes_moved: Any, kernels: int, dev: Device) -> Any:
    """Seconds for memory-bound kernels that move ``bytes_moved`` in total."""
    return bytes_moved / dev.hbm_bytes_per_s + kernels * dev.launch_s


def _interpolate(curve: tuple[tuple[float, float, float], ...], x: float) -> tuple[float, float]:
    """(forward, backward) of a curve of (x, forward, backward) points at ``x``: linear
    between points, flat beyond the ends."""
    if x <= curve[0][0]:
        return curve[0][1], curve[0][2]
    for (x0, f0, b0), (x1, f1, b1) in itertools.pairwise(curve):
        if x <= x1:
            w = (x - x0) / (x1 - x0)
            return f0 + w * (f1 - f0), b0 + w * (b1 - b0)
    return curve[-1][1], curve[-1][2]


@functools.lru_cache(maxsize=4096)
def attention_rates(dev: Device, seq_len: float, causal: bool = True) -> tuple[float, float]:
    """Forward and backward FLOP/s of the fused attention kernel at ``seq_len`` queries per
    sequence: linear in log2 length between measured points, flat beyond the ends; times
    the non-causal / causal ratio at that length for bidirectional attention."""
    x = math.log2(max(seq_len, 1.0))
    forward, backward = _interpolate(dev.attention_curve, x)
    if causal:
        return forward, backward
    # below the measured causal curve both rates are held flat, so the ratio is too
    forward_ratio, backward_ratio = _interpolate(
        dev.noncausal_curve, max(x, dev.attention_curve[0][0])
    )
    return forward * forward_ratio, backward * backward_ratio


def flash_attention_times(
    forward_flops: float, dev: Device, seq_len: float, causal: bool = True
) -> tuple[float, float]:
    """Forward, and forward + backward, of a fused attention kernel over sequences of
    ``seq_len`` queries (one look-up of its rates for both: the layer model asks for both);
    the backward does 2.5 forwards' FLOPs. ``forward_flops`` counts the FLOPs done: about
    half the s x s scores when causal, all of them otherwise."""
    forward_rate, backward_rate = attention_rates(dev, seq_len, causal)
    forward = forward_flops / forward_rate + dev.launch_s
    return forward, forward + (FLASH_BACKWARD_FACTOR * forward_flops / backward_rate + dev.launch_s)
