"""torchtitan's op-level selective activation checkpointing ("every-other-mm").

torchtitan's ``selective_ac_option = "op"`` (torchtitan/parallelisms/parallelize_llama.py,
``_save_list`` and ``_custom_policy``, at commit 9dec370 of 2024-12 and 820504e of 2025-06)
wraps every transformer block in a checkpoint whose policy saves the outputs of
``aten.mm`` except every second one, of the SDPA attention kernels, of the
reduce-scatters and of ``abs``/``max``; every other op is PREFER_RECOMPUTE, which
torch.compile's partitioner treats as must-recompute (pytorch/pytorch
torch/_functorch/partitioners.py, ``must_recompute``). The counter restarts for every block,
whose matmuls run in the order wq, wk, wv, wo, w1, w3, w2 (torchtitan's Llama
``Attention.forward`` and ``FeedForward.forward``): wk, wo and w3 are recomputed, wq, wv, w1
and w2 kept. Float8 training swaps ``nn.Linear`` for torchao's Float8Linear, whose GEMM is
``aten._scaled_mm``, not in the save list: every Float8 linear (and its casts) is recomputed.

Selective recompute of a profile with ``selective_recompute: every-other-mm``
(frameworks.yaml) is costed here; dense layers with grouped or multi-head attention only (a
MoE or MLA layer keeps the default attention-core accounting).
"""

from __future__ import annotations

from gpuplan.catalog.schema import Ffn, Model
from gpuplan.model.kernels import BF16_BYTES, Device, gemm_time

SCOPE = "every-other-mm"
"""The ``selective_recompute`` value of frameworks.yaml that this module prices."""


def applies(model: Model, moe_layer: bool) -> bool:
    """A dense layer of a model whose attention projections are plain Q, K, V and O."""
    return not moe_layer and model.mla is None and model.ffn is Ffn.SWIGLU


def recompute_time(
    model: Model, tokens: float, t: int, dev: Device,
    linear_forward: float, casts: float, elementwise_forward: float,
) -> float:  # fmt: skip
    """Forward seconds the backward pass recomputes for one layer and micro-batch: the
    elementwise kernels (norms, RoPE, SwiGLU, residual adds: none of them saved), and the
    wk, wo and w3 GEMMs in BF16, or every linear with its FP8 casts under Float8."""
    if dev.fp8:
        return linear_forward + casts + elementwise_forward
    h, f = model.hidden, model.ffn_hidden
    q = model.heads * model.head_size
    kv = model.kv_heads * model.head_size
    gemms = (
        gemm_time(tokens, kv / t, h, dev)  # wk
        + gemm_time(tokens, h, q / t, dev)  # wo
        + gemm_time(tokens, f / t, h, dev)  # w3
    )
    return gemms + elementwise_forward


def activation_bytes(
    model: Model, tokens: float, t: int, sequence_parallel: bool, fp8: bool
) -> float:
    """Bytes one layer keeps for its backward per micro-batch of ``tokens`` tokens: the
    block's input (the checkpoint's argument, BF16, split over TP under sequence
    parallelism), the SDPA output and its FP32 log-sum-exp, the two reduce-scatter outputs
    under sequence parallelism, and in BF16 the kept matmul outputs: wq, wv and w1 (split
    over TP) and w2 (its partial sums, the full hidden width on every TP rank)."""
    h, f = model.hidden, model.ffn_hidden
    q = model.heads * model.head_size
    kv = model.kv_heads * model.head_size
    split = t if sequence_parallel else 1
    per_token = BF16_BYTES * h / split + (BF16_BYTES * q + 4 * model.heads) / t
    if sequence_parallel and t > 1:
        per_token += 2 * BF16_BYTES * h / t
    if not fp8:
        per_token += BF16_BYTES * (q + kv + f) / t + BF16_BYTES * h
    return float(tokens * per_token)
