"""Gradient accumulation in a separate kernel (Megatron-LM 2021): framework data, counted
from the code, paid per micro-batch after the first."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from gpuplan.catalog import Catalog
from gpuplan.model.data_parallel import accumulation_time
from gpuplan.model.kernels import device

FP16 = 2


def test_megatron_2021_adds_fp16_gradients_in_place(catalog: Catalog) -> None:
    # NVIDIA/Megatron-LM 6985e589: F.linear's weight gradient, then AccumulateGrad's
    # param.grad += new_grad on fp16 tensors: read both (2 + 2), write one (2).
    assert catalog.framework("megatron-lm-2021").grad_accumulation_bytes_per_param == 3 * FP16
    # Accumulation fused into the weight-gradient GEMM (Megatron-LM from 2022-02), or not
    # counted: nothing extra.
    for framework_id in ("megatron-2022", "modern", "nemo-2024", "megatron-deepspeed-2022"):
        assert catalog.framework(framework_id).grad_accumulation_bytes_per_param == 0


def test_accumulation_streams_the_bytes_once_per_later_microbatch(catalog: Catalog) -> None:
    """The 529.6B row's stage (TP 8, PP 35: about 1.9e9 local parameters) over 280
    micro-batches: 279 adds of 6 bytes per parameter through HBM; one micro-batch: none."""
    a100 = catalog.accelerator("a100-80gb")
    dev = device(a100, catalog.efficiency_profile("a100-80gb"), False, 0.9)
    batch = SimpleNamespace(tp=np.array([8]), dp=np.array([9]), zero=np.array([0]))
    crit = {"dense_params": np.array([1.9e9]), "expert_params": np.array([0.0])}
    framework = catalog.framework("megatron-lm-2021")
    m = np.array([1, 2, 280])
    got = accumulation_time(batch, crit, m, dev, framework)  # type: ignore[arg-type]
    per_add = 6 * 1.9e9 / dev.hbm_bytes_per_s
    assert got[0] == 0.0
    assert got[1] == pytest.approx(per_add, rel=1e-12)
    assert got[2] == pytest.approx(279 * per_add, rel=1e-12)
    # about 2.0 TB/s of HBM: ~5.6 ms per add, ~1.6 s per step, 3% of the row's ~54 s step
    assert 1.0 < got[2] < 2.5
    fused = accumulation_time(batch, crit, m, dev, catalog.framework("megatron-2022"))  # type: ignore[arg-type]
    assert np.all(fused == 0.0)
