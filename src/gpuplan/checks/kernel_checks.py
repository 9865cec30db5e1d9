"""The kernel model against kernels timed on a lent GPU (``benchmarks/gpu_kernels.py``,
``catalog/data/measured/``): each GEMM (BF16, FP8) and decoder layer predicted at the
catalog's rates with ``training_kernel_efficiency`` left out, and the fit of the GEMM
K-overhead (efficiency.yaml ``gemm_k_overhead_*``) on those GEMMs.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.parsed import parse
from gpuplan.catalog.schema import AttentionKernel
from gpuplan.checks.validation import ErrorSummary, error_summary
from gpuplan.model.collectives import Link, Network
from gpuplan.model.kernels import Device, device, gemm_time
from gpuplan.model.layer import layer_cost
from gpuplan.scenario.plan import ParallelPlan

# Kernels timed on lent GPUs (benchmarks/gpu_kernels.py), per accelerator id.
MEASURED_KERNELS = {"h100-sxm": "h100-sxm-2026-11-28.yaml"}
MIN_MEASURED_KERNEL_S = 50e-6
"""Shorter kernels are left out: the script's Python dispatch (~10 us a call) times them."""


@dataclass(frozen=True)
class KernelCheck:
    """The kernel model against one kind of kernel timed on a lent GPU."""

    id: str
    accelerator: str
    description: str
    source: str
    errors: tuple[float, ...]
    """predicted / measured - 1 per kernel (positive: we predict slower)."""

    @property
    def bias(self) -> float:
        return statistics.fmean(self.errors)

    @property
    def summary(self) -> ErrorSummary:
        return error_summary(list(self.errors))


def load_measured_kernels(accelerator_id: str) -> dict[str, Any]:
    path = resources.files("gpuplan.catalog").joinpath(
        "data", "measured", MEASURED_KERNELS[accelerator_id]
    )
    data: dict[str, Any] = parse(path.read_text("utf-8"))
    return data


def kernel_checks(catalog: Catalog) -> list[KernelCheck]:
    """Each measured GEMM (BF16, FP8) and decoder layer against the kernel model.

    The model runs at the catalog's rates (MAMF x sustained, HBM, attention curves) without
    ``training_kernel_efficiency``: these are kernels, not training steps.
    """
    checks = []
    network = Network(scaleup=Link(1e12, 0.0), scaleout=Link(1e12, 0.0), domain=1)
    for accelerator_id, filename in MEASURED_KERNELS.items():
        data = load_measured_kernels(accelerator_id)
        accelerator = catalog.accelerator(accelerator_id)
        profile = catalog.efficiency_profile(accelerator_id)
        where = f"catalog/data/measured/{filename} ({data['device']}, {data['date']})"
        for key, fp8 in (("gemm_bf16", False), ("gemm_fp8", True)):
            dev = device(accelerator, profile, fp8, 1.0)
            errors = []
            for row in data.get(key, []):
                m, n, k = row["m"], row["n"], row["k"]
                measured_s = 2 * m * n * k / (row["tflops"] * 1e12)
                if measured_s >= MIN_MEASURED_KERNEL_S:
                    errors.append(gemm_time(m, n, k, dev) / measured_s - 1)
            if errors:
                precision = "FP8" if fp8 else "BF16"
                checks.append(
                    KernelCheck(
                        f"{accelerator_id}-{key}",
                        accelerator_id,
                        f"{precision} GEMMs",
                        where,
                        tuple(errors),
                    )
                )
        dev = device(accelerator, profile, False, 1.0)
        model = catalog.model("llama3-8b")  # the layer gpu_kernels.py builds
        errors = []
        for row in data.get("layer", []):
            cost = layer_cost(
                model, ParallelPlan(), row["seq_len"], False, dev, AttentionKernel.FLASH, network
            )
            errors.append((cost.forward_s + cost.backward_s) / (row["fwd_bwd_ms"] / 1e3) - 1)
        if errors:
            checks.append(
                KernelCheck(
                    f"{accelerator_id}-layer",
                    accelerator_id,
                    "Llama-3-8B layer",
                    where,
                    tuple(errors),
                )
            )
    return checks


def measured_gemms(accelerator_id: str, fp8: bool) -> list[tuple[int, int, int, float]]:
    """The timed GEMMs of one precision as (m, n, k, seconds), those of at least
    :data:`MIN_MEASURED_KERNEL_S`."""
    data = load_measured_kernels(accelerator_id)
    rows = [(r["m"], r["n"], r["k"], 2 * r["m"] * r["n"] * r["k"] / (r["tflops"] * 1e12))
            for r in data.get("gemm_fp8" if fp8 else "gemm_bf16", [])]  # fmt: skip
    return [row for row in rows if row[3] >= MIN_MEASURED_KERNEL_S]


def fit_gemm_k_overhead(catalog: Catalog, accelerator_id: str, fp8: bool) -> float:
    """The GEMM K-overhead ``k0`` (elements of the inner dimension, 0 to 600 in steps of 5)
    that minimises the sum of squared log errors of the GEMM model over the GEMMs timed on
    ``accelerator_id`` in one precision, at the catalog's other rates and without
    ``training_kernel_efficiency``. No training run is read."""
    profile = catalog.efficiency_profile(accelerator_id)
    dev = device(catalog.accelerator(accelerator_id), profile, fp8, 1.0)
    rows = measured_gemms(accelerator_id, fp8)

    def squared_log_error(k0: float) -> float:
        trial: Device = replace(dev, gemm_k_overhead=k0)
        return sum(math.log(gemm_time(m, n, k, trial) / s) ** 2 for m, n, k, s in rows)

    return float(min(range(0, 601, 5), key=squared_log_error))
