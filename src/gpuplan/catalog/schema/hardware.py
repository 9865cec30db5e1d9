"""Accelerators and their kernel and link efficiencies (training frameworks:
:mod:`gpuplan.catalog.schema.framework`)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from gpuplan import units
from gpuplan.catalog.schema.base import Fraction, Positive, PositiveInt, Record, Strict


class Vendor(StrEnum):
    NVIDIA = "NVIDIA"
    AMD = "AMD"
    GOOGLE = "Google"


class AcceleratorKind(StrEnum):
    GPU = "gpu"
    TPU = "tpu"


class PriceTerm(StrEnum):
    ON_DEMAND = "on-demand"
    ONE_YEAR = "1yr"
    THREE_YEAR = "3yr"
    SPOT = "spot"
    CAPACITY_BLOCK = "capacity-block"


class PurchasePrice(Strict):
    """One representative purchase price of the accelerator alone (no server share)."""

    usd: Positive
    date: str = Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$")
    basis: str
    source: str = Field(min_length=3)


class CloudPrice(Strict):
    """A rental price per accelerator-hour from one provider on one date."""

    provider: str
    usd_per_hour: Positive
    term: PriceTerm
    date: dt.date
    source: str = Field(min_length=3)


class Accelerator(Record):
    """An AI accelerator (GPU or TPU chip) with its dense peaks, memory, links and prices."""

    id: str
    name: str
    vendor: Vendor
    kind: AcceleratorKind
    release_date: dt.date
    peak_bf16_dense_tflops: Positive
    """Dense tensor peak in BF16 (FP16 on chips without BF16), no sparsity."""
    peak_fp8_dense_tflops: Positive | None
    """Dense FP8 peak; None where the chip has no faster FP8 path."""
    hbm_gib: Positive
    hbm_tb_per_s: Positive
    scaleup_unidir_gb_per_s: Positive
    """Scale-up (NVLink, Infinity Fabric, ICI) bandwidth per chip, one direction."""
    scaleup_domain: PositiveInt
    """Chips in one scale-up domain as deployed (HGX 8, NVL72 72, TPU pod size)."""
    scaleout_unidir_gb_per_s: Positive
    """Scale-out (InfiniBand, Ethernet, DCN) bandwidth per chip, one direction."""
    tdp_w: Positive
    purchase: PurchasePrice
    cloud: tuple[CloudPrice, ...] = Field(min_length=1)
    """Rental prices; the first one is the default."""

    @model_validator(mode="after")
    def _fp8_not_below_bf16(self) -> Accelerator:
        if self.peak_fp8_dense_tflops is not None and (
            self.peak_fp8_dense_tflops < self.peak_bf16_dense_tflops
        ):
            raise ValueError(
                f"{self.id}: peak_fp8_dense_tflops {self.peak_fp8_dense_tflops} is below "
                f"peak_bf16_dense_tflops {self.peak_bf16_dense_tflops}"
            )
        return self

    @property
    def peak_bf16_flops_per_s(self) -> float:
        return units.tflops_to_flops_per_s(self.peak_bf16_dense_tflops)

    @property
    def peak_fp8_flops_per_s(self) -> float | None:
        if self.peak_fp8_dense_tflops is None:
            return None
        return units.tflops_to_flops_per_s(self.peak_fp8_dense_tflops)

    @property
    def hbm_bytes(self) -> float:
        return self.hbm_gib * units.GiB

    @property
    def hbm_bytes_per_s(self) -> float:
        return self.hbm_tb_per_s * units.TB

    @property
    def scaleup_bytes_per_s(self) -> float:
        return units.gb_per_s_to_bytes_per_s(self.scaleup_unidir_gb_per_s)

    @property
    def scaleout_bytes_per_s(self) -> float:
        return units.gb_per_s_to_bytes_per_s(self.scaleout_unidir_gb_per_s)

    @property
    def default_cloud(self) -> CloudPrice:
        return self.cloud[0]


class AttentionPoint(Strict):
    """A fused attention kernel's rate at one sequence length, as fractions of the dense
    BF16 peak (causal FLOPs; the backward counted as 2.5 forwards, FlashAttention's
    convention)."""

    seq_len: PositiveInt
    """Queries (and keys) per sequence that one kernel call sees."""
    forward: Fraction
    backward: Fraction


class NoncausalPoint(Strict):
    """How much faster, per FLOP, a fused attention kernel runs without a causal mask than
    with one at one sequence length (non-causal rate / causal rate, each over its own
    FLOPs: s^2 and about s^2 / 2)."""

    seq_len: PositiveInt
    forward: Annotated[float, Field(ge=0.5, le=4)]
    backward: Annotated[float, Field(ge=0.5, le=4)]


def _check_curve(
    profile_id: str,
    name: str,
    curve: tuple[AttentionPoint, ...] | tuple[NoncausalPoint, ...] | None,
) -> None:
    if curve is None:
        return
    lengths = [point.seq_len for point in curve]
    if len(lengths) < 2 or lengths != sorted(set(lengths)):
        raise ValueError(
            f"{profile_id}: {name} needs at least two points with strictly increasing "
            f"seq_len, got {lengths}"
        )


class EfficiencyProfile(Record):
    """How close one accelerator's kernels and links get to their peaks.

    Fractions of the datasheet peak: ``gemm_bf16`` is the Maximum Achievable Matmul FLOPS
    (a brute-force search over GEMM shapes) over the dense peak; ``attention`` is the
    fused (flash) attention kernel's forward+backward rate over the peak, used where no
    measured ``attention_curve`` gives it per sequence length.
    """

    id: str
    """The accelerator id this profile describes."""
    gemm_bf16: Fraction
    gemm_fp8: Fraction | None = None
    gemm_k_overhead_bf16: Annotated[float, Field(ge=0, le=4096)] | None = None
    """Per-output-tile fixed cost of a GEMM (pipeline prologue, epilogue) in elements of the
    inner dimension K: a GEMM of inner dimension ``k`` runs at ``(1 + k0 / 4096) / (1 +
    k0 / k)`` of the profile's rate (:data:`gpuplan.model.kernels.GEMM_K_REFERENCE`);
    fitted on GEMMs timed on the chip. None: no shape term."""
    gemm_k_overhead_fp8: Annotated[float, Field(ge=0, le=4096)] | None = None
    """The same for FP8 GEMMs."""
    gemm_mxfp8_vs_fp8: Fraction | None = None
    """Rate of MXFP8 GEMMs (one E8M0 scale per 32 elements along K) over per-tensor-scaled
    FP8 GEMMs of the same shapes, kernel only, where published; None: the chip has no
    published ratio (the framework's 'mxfp8' recipe then runs at the FP8 rate)."""
    gemm_fp8_fast_accum_vs_fp8: Annotated[float, Field(ge=1, le=2)] | None = None
    """Rate of per-tensor FP8 GEMMs with fast accumulation (cuBLASLt FAST_ACCUM: the tensor
    cores' accumulator never promoted to FP32 inside the K loop) over ``gemm_fp8``'s, which
    was measured with split (promoted) accumulation, torch._scaled_mm's default. The
    'delayed' and 'current' recipes run their forward GEMMs so (frameworks.yaml). None: no
    published gain on the chip (the forward GEMMs then run at the FP8 rate)."""
    attention: Fraction
    attention_curve: tuple[AttentionPoint, ...] | None = None
    """Forward and backward rates by sequence length, where measured; it replaces
    ``attention`` (interpolated in log sequence length, held flat beyond its ends)."""
    attention_flash2: Fraction | None = None
    """The same for FlashAttention-2 (CUDA) where it differs from the chip's best fused
    kernel (Hopper: FA2 has no wgmma path); None where FA2 is that kernel (Ampere)."""
    attention_flash2_curve: tuple[AttentionPoint, ...] | None = None
    """FlashAttention-2's rates by sequence length; replaces ``attention_flash2``."""
    attention_triton: Fraction | None = None
    """The same for the 2022-23 Triton flash-attention kernel, where known."""
    attention_triton_curve: tuple[AttentionPoint, ...] | None = None
    """The Triton kernel's rates by sequence length; replaces ``attention_triton``."""
    attention_flash1_curve: tuple[AttentionPoint, ...] | None = None
    """FlashAttention 1 (flash-attn 1.x, CUDA) by sequence length, where published; None:
    the Triton kernel's rates stand for it."""
    attention_xformers_curve: tuple[AttentionPoint, ...] | None = None
    """xformers' memory-efficient (CUTLASS) attention of 2023, where published; None: the
    Triton kernel's rates stand for it."""
    attention_noncausal: tuple[NoncausalPoint, ...] | None = None
    """Non-causal / causal rate of the chip's best fused kernel by sequence length, where
    the curves above are causal measurements; None: the rates hold for both."""
    attention_flash2_noncausal: tuple[NoncausalPoint, ...] | None = None
    """The same for FlashAttention-2 (and the Triton kernel derived from it)."""
    sustained: Fraction
    """Tensor throughput under sustained training load / short-burst throughput: a chip at
    its power limit lowers its clock (MSMF / MAMF where measured)."""
    hbm: Fraction
    """Achieved / peak HBM bandwidth for streaming (elementwise) kernels."""
    compute_units: PositiveInt | None = None
    """Streaming multiprocessors (CUs on AMD) that GEMM tiles are spread over; None where
    tiling does not apply (TPU systolic arrays), which turns off the wave model."""
    scaleup_bus: Fraction
    """Collective bus bandwidth achieved / scale-up link bandwidth (NCCL busbw)."""
    scaleout_bus: Fraction
    kernel_launch_us: Annotated[float, Field(ge=0, le=100)]
    """Fixed cost per kernel (launch and tail), microseconds."""
    scaleup_latency_us: Annotated[float, Field(ge=0, le=1000)]
    """Latency per step of a collective inside the scale-up domain: all-to-all and
    point-to-point, and every collective where the framework names no NCCL release or the
    chip is not NVIDIA's (ring collectives otherwise take NCCL's model, RULE NCCL-LAT)."""
    scaleout_latency_us: Annotated[float, Field(ge=0, le=1000)]
    """As ``scaleup_latency_us``, per step between scale-up domains."""

    @model_validator(mode="after")
    def _curves_ordered(self) -> EfficiencyProfile:
        _check_curve(self.id, "attention_curve", self.attention_curve)
        _check_curve(self.id, "attention_flash2_curve", self.attention_flash2_curve)
        _check_curve(self.id, "attention_triton_curve", self.attention_triton_curve)
        _check_curve(self.id, "attention_flash1_curve", self.attention_flash1_curve)
        _check_curve(self.id, "attention_xformers_curve", self.attention_xformers_curve)
        _check_curve(self.id, "attention_noncausal", self.attention_noncausal)
        _check_curve(self.id, "attention_flash2_noncausal", self.attention_flash2_noncausal)
        return self
