"""The cost of one transformer layer for one micro-batch on one GPU: its GEMMs, attention,
FP8 casts, recompute, and the tensor-, context- and expert-parallel communication it needs
(:mod:`gpuplan.model.kernels`, :mod:`gpuplan.model.collectives`)."""

from __future__ import annotations

from dataclasses import dataclass

from gpuplan.catalog.schema import (
    AttentionKernel,
    Ffn,
    Model,
    Position,
    TextConditioning,
)
from gpuplan.model.collectives import Collective, Network, collective_time, p2p_time
from gpuplan.model.kernels import (
    BF16_BYTES,
    Device,
    flash_attention_time,
    fp8_cast_time,
    gemm_time,
    streaming_time,
)
from gpuplan.scenario.plan import ParallelPlan, Recompute


@dataclass(frozen=True)
class LayerCost:
    """One layer, one micro-batch, one GPU."""

    forward_s: float
    backward_s: float
    recompute_s: float
    attention_s: float
    """Forward + backward of the attention core (what CP communication hides behind)."""
    tp_s: float
    cp_s: float
    ep_s: float


def layer_cost(
    model: Model,
    plan: ParallelPlan,
    seq_len: int,
    moe_layer: bool,
    dev: Device,
    attention_kernel: AttentionKernel,
    network: Network,
) -> LayerCost:
    t, cp = plan.tensor_parallel, plan.context_parallel
    b = plan.microbatch
    s_local = seq_len / cp
    tokens = b * s_local
    h = model.hidden
    heads = model.heads / t
    q_width = model.heads * model.head_size
    kv_width = model.kv_heads * model.head_size

    # GEMMs of the linear layers. Forward Y = X W: (rows x k) @ (k x n). Backward, with
    # their own shapes: dX = dY W^T (rows x n) @ (n x k) and dW = X^T dY (k x rows) @
    # (rows x n). FP8 casts of the operands are charged to the forward (zero in BF16).
    gemms = 0.0
    gemms_backward = 0.0
    casts = 0.0

    def linear(rows: float, n: float, k: float, batch: float = 1.0) -> float:
        nonlocal casts, gemms_backward
        casts += fp8_cast_time(rows, n, k, dev, batch)
        gemms_backward += gemm_time(rows, k, n, dev, batch) + gemm_time(k, n, rows, dev, batch)
        return gemm_time(rows, n, k, dev, batch)

    if model.mla is not None:
        a = model.mla
        qk = a.qk_nope_head_dim + a.qk_rope_head_dim
        gemms += linear(tokens, a.q_lora_rank, h)
        gemms += linear(tokens, model.heads * qk / t, a.q_lora_rank)
        gemms += linear(tokens, a.kv_lora_rank + a.qk_rope_head_dim, h)
        gemms += linear(
            tokens, model.heads * (a.qk_nope_head_dim + a.v_head_dim) / t, a.kv_lora_rank
        )
        gemms += linear(tokens, h, model.heads * a.v_head_dim / t)
        score_width, value_width = qk, a.v_head_dim
    else:
        gemms += linear(tokens, (q_width + 2 * kv_width) / t, h)
        gemms += linear(tokens, h, q_width / t)
        score_width = value_width = model.head_size
    up = 2 if model.ffn is Ffn.SWIGLU else 1
    per_f = 6 if model.ffn is Ffn.SWIGLU else 4
    if moe_layer:
        assert model.moe is not None
        moe = model.moe
        f_e = moe.expert_ffn_hidden
        local_experts = moe.experts / plan.expert_parallel
        per_expert = tokens * moe.top_k / local_experts
        gemms += linear(tokens, moe.experts, h)  # router
        gemms += linear(per_expert, up * f_e / t, h, batch=local_experts)
        gemms += linear(per_expert, h, f_e / t, batch=local_experts)
        if moe.shared_experts:
            shared_f = f_e * moe.shared_experts
            gemms += linear(tokens, up * shared_f / t, h)
            gemms += linear(tokens, h, shared_f / t)
        activation_bytes = per_f * tokens * f_e * (moe.top_k + moe.shared_experts) / t
        activation_bytes += 4 * 2 * tokens * moe.top_k * h  # permute and un-permute
    else:
        gemms += linear(tokens, up * model.ffn_hidden / t, h)
        gemms += linear(tokens, h, model.ffn_hidden / t)
        activation_bytes = per_f * tokens * model.ffn_hidden / t

    # Attention core, forward. Causal attention skips the masked half in fused kernels;
    # unfused kernels compute the whole s x s matrix.
    causal = model.kind.value == "llm"
    if attention_kernel is not AttentionKernel.UNFUSED:
        keys = (seq_len + 1) / 2 if causal else seq_len
        attention_flops = 2 * b * heads * s_local * keys * (score_width + value_width)
        attention_fwd = flash_attention_time(attention_flops, dev, False, s_local)
        attention_total = flash_attention_time(attention_flops, dev, True, s_local)
    else:
        batch = b * heads
        scores = gemm_time(s_local, seq_len, score_width, dev, batch=batch)
        values = gemm_time(s_local, value_width, seq_len, dev, batch=batch)
        softmax_bytes = batch * s_local * seq_len * (4 + (5 if model.dropout else 0))
        attention_fwd = scores + values + streaming_time(softmax_bytes, 2, dev)
        attention_total = 3 * (scores + values) + streaming_time(3 * softmax_bytes, 6, dev)

    # Video diffusion transformers with cross-attention to the text: Q and output
    # projections per video token, K and V projections of the clip's text tokens, and an
    # attention core over the text (fused kernel, bidirectional).
    if (
        model.video is not None
        and model.video.text_conditioning is TextConditioning.CROSS_ATTENTION
    ):
        text = b * model.video.text_tokens
        gemms += linear(tokens, q_width / t, h) + linear(tokens, h, q_width / t)
        gemms += linear(text, 2 * q_width / t, h)
        cross_flops = 4 * b * heads * s_local * model.video.text_tokens * model.head_size
        attention_fwd += flash_attention_time(cross_flops, dev, False, s_local)
        attention_total += flash_attention_time(cross_flops, dev, True, s_local)

    # Elementwise kernels: norms, residual adds, dropout, activation, RoPE.
    region = tokens * h * (20 + (2 if model.dropout else 0))
    if plan.sequence_parallel:
        region /= t
    rope = 4 * tokens * (q_width + kv_width) / t if model.position is Position.ROPE else 0.0
    elementwise_fwd = streaming_time(region + rope + activation_bytes, 8, dev)

    forward = gemms + attention_fwd + elementwise_fwd + casts
    backward = gemms_backward + (attention_total - attention_fwd) + 2 * elementwise_fwd
    if plan.recompute is Recompute.FULL:
        recompute = forward
    elif plan.recompute is Recompute.SELECTIVE and attention_kernel is AttentionKernel.UNFUSED:
        recompute = attention_fwd
    else:
        recompute = 0.0  # flash kernels already recompute scores in their backward

    # Tensor parallel: two all-reduces (or all-gather + reduce-scatter pairs with SP) per
    # layer in the forward, the same in the backward, again in a full recompute.
    activation = tokens * h * BF16_BYTES
    if plan.sequence_parallel:
        one = collective_time(Collective.ALL_GATHER, activation, t, 1, network) + collective_time(
            Collective.REDUCE_SCATTER, activation, t, 1, network
        )
    else:
        one = collective_time(Collective.ALL_REDUCE, activation, t, 1, network)
    passes = 3 if plan.recompute is Recompute.FULL else 2
    tp = 2 * one * passes

    # Context parallel: ring exchange of K and V blocks (forward), K, V and their
    # gradients (backward).
    cp_time = 0.0
    if cp > 1:
        block = 2 * b * s_local * kv_width / t * 2
        same = t * cp <= network.domain
        cp_time = 3 * (cp - 1) * p2p_time(block, same, network)

    ep_time = 0.0
    if moe_layer and plan.expert_parallel > 1:
        assert model.moe is not None
        routed = tokens * model.moe.top_k * h * BF16_BYTES
        ep_time = 4 * collective_time(
            Collective.ALL_TO_ALL, routed, plan.expert_parallel, t * cp, network
        )
    return LayerCost(forward, backward, recompute, attention_total, tp, cp_time, ep_time)
