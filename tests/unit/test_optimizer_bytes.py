"""The optimizer step's HBM bytes per parameter are framework data, counted from the code."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from gpuplan.catalog import Catalog
from gpuplan.model.data_parallel import optimizer_time
from gpuplan.model.kernels import device

FP32 = 4

# Composer's DecoupledAdamW.adamw (composer/optim/decoupled_weight_decay.py, v0.13-v0.19 and
# the fork 784f50be), one parameter at a time, weight_decay 0.0 as in every MPT pretrain yaml,
# then FSDP's clip_grad_norm_ (clipping_type norm). Each op: (tensors read, tensors written),
# every tensor FP32; a tensor passed twice (addcmul_(grad, grad)) is read once.
COMPOSER_STEP = {
    "exp_avg.mul_(beta1)": (1, 1),
    "exp_avg.add_(grad, alpha)": (2, 1),
    "exp_avg_sq.mul_(beta2)": (1, 1),
    "exp_avg_sq.addcmul_(grad, grad, value)": (2, 1),
    "exp_avg_sq.sqrt()": (1, 1),
    "/ math.sqrt(bias_correction2)": (1, 1),
    ".add_(eps)": (1, 1),
    "param.addcdiv_(exp_avg, denom, value)": (3, 1),
    "clip: vector_norm(grad)": (1, 0),
    "clip: grad.mul_(clip_coef_clamped)": (1, 1),
    "zero_grad(set_to_none=True)": (0, 0),
}


# Megatron-LM 2021's fp16 optimizer (Float16OptimizerWithFloat16Params.step at NVIDIA/Megatron-LM
# 6985e589, the commit of the SC21 scripts, --fp16 --loss-scale 8192): (bytes read, bytes written)
# per parameter, fp16 model tensors 2 bytes, fp32 main tensors 4.
MEGATRON_2021_STEP = {
    "_copy_model_grads_to_main_grads: main_grad.float()": (2, 4),
    "_amp_foreach_non_finite_check_and_unscale_ (in place)": (4, 4),
    "clip_grad_norm: multi_tensor_l2norm": (4, 0),
    "apex FusedAdam: master, grad, m, v -> master, m, v": (16, 12),
    "_copy_main_params_to_model_params": (4, 2),
    "zero_grad(set_to_none=True)": (0, 0),
}


def _bytes(ops: dict[str, tuple[int, int]]) -> int:
    return sum(FP32 * (reads + writes) for reads, writes in ops.values())


def test_composer_stacks_carry_the_bytes_counted_from_composer(catalog: Catalog) -> None:
    assert _bytes(COMPOSER_STEP) == 92  # 80 for the Adam update, 12 for the norm clip
    for framework_id in ("llm-foundry-2023", "llm-foundry-fa2"):
        assert catalog.framework(framework_id).optimizer_bytes_per_param == 92, framework_id


def test_other_stacks_keep_the_fused_adam_count(catalog: Catalog) -> None:
    # read master, m, v, FP32 gradient (16); write master, m, v (12) and the BF16 copy (2);
    # the clip reads the gradient (4); zeroing writes it (4)
    fused = 4 * FP32 + 3 * FP32 + 2 + FP32 + FP32
    assert fused == 38
    for framework_id in ("modern", "megatron-2022", "nemo-2024", "fsdp2-torchtitan-2024"):
        assert catalog.framework(framework_id).optimizer_bytes_per_param == fused


def test_optimizer_time_streams_the_framework_bytes(catalog: Catalog) -> None:
    """ZeRO-3 over 8 ranks: each GPU updates 1/8 of 6.7e9 parameters, the profile's bytes
    each through HBM, plus the four launches the model charges."""
    h100 = catalog.accelerator("h100-sxm")
    dev = device(h100, catalog.efficiency_profile("h100-sxm"), False, 0.9)
    one = np.array([1])
    batch = SimpleNamespace(tp=one, dp=np.array([8]), cp=one, ep=one, zero=np.array([3]))
    crit = {"dense_params": np.array([6.7e9]), "expert_params": np.array([0.0])}
    local = 6.7e9 / 8
    for framework_id, per_param in (("llm-foundry-2023", 92), ("modern", 38)):
        got = optimizer_time(batch, crit, dev, catalog.framework(framework_id))  # type: ignore[arg-type]
        expected = per_param * local / dev.hbm_bytes_per_s + 4 * dev.launch_s
        assert got[0] == pytest.approx(expected, rel=1e-12), framework_id


def test_megatron_2021_counts_its_fp16_optimizer(catalog: Catalog) -> None:
    counted = sum(reads + writes for reads, writes in MEGATRON_2021_STEP.values())
    assert counted == 52
    assert catalog.framework("megatron-lm-2021").optimizer_bytes_per_param == counted
