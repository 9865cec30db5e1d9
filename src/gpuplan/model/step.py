"""Step time of a training iteration: compute, exposed communication, pipeline bubble.

For each pipeline stage, one micro-batch costs the forward and backward of its layers
(:mod:`gpuplan.model.kernels`), the recomputed forward, and the communication that is not
hidden: tensor-parallel collectives (minus what the framework overlaps), context-parallel
ring exchange beyond the attention it hides behind, expert all-to-alls, and the point-to-
point sends between stages. With ``m`` micro-batches, ``v`` virtual stages per GPU and
per-micro-batch stage times ``t_i`` (Narayanan et al. 2021 sec. 2.2, generalised to uneven
stages)::

    pipeline = m max(t_i) + (sum(t_i) - max(t_i)) / v        # bubble = the second term

The data-parallel gradient reduction (and the ZeRO parameter all-gather) follow, hidden
under the last backward (first forward) when the framework overlaps them; then the
optimizer update streams its states through HBM. The step time is the sum of these named
parts, each reported on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gpuplan import units
from gpuplan.catalog.schema import (
    Accelerator,
    AttentionKernel,
    Ffn,
    Framework,
    Model,
    Position,
    TextConditioning,
)
from gpuplan.model.batch import BatchResult, PlanBatch, evaluate
from gpuplan.model.collectives import Collective, Network, collective_time, p2p_time
from gpuplan.model.kernels import (
    BF16_BYTES,
    Device,
    flash_attention_time,
    fp8_cast_time,
    gemm_time,
    streaming_time,
)
from gpuplan.model.memory import MemoryEstimate
from gpuplan.model.rules import plan_errors
from gpuplan.scenario.plan import ParallelPlan, Recompute


class InfeasibleKind(StrEnum):
    LAYOUT = "layout"
    """The plan does not divide the model, the batch or the GPUs."""
    MEMORY = "memory"
    """The plan does not fit in the accelerator's memory."""


@dataclass(frozen=True)
class Infeasible:
    kind: InfeasibleKind
    reason: str
    memory: MemoryEstimate | None = None


@dataclass(frozen=True)
class StepEstimate:
    """One training step of a plan, by named parts (seconds) that add up to ``time_s``."""

    plan: ParallelPlan
    memory: MemoryEstimate
    capacity_bytes: float
    compute_s: float
    """Forward and backward kernels of the slowest stage, all its micro-batches."""
    recompute_s: float
    exposed_comm_s: dict[str, float]
    """Communication the step waits for, per axis (tp, cp, ep, pp, dp)."""
    comm_on_link_s: dict[str, float]
    """Communication time on the links, per axis, hidden or not."""
    bubble_s: float
    optimizer_s: float
    overlap_slowdown_s: float
    """Compute slowed by the collectives hidden under it (they share SMs and HBM)."""
    tokens_per_step: float
    model_flops_per_step: float
    hardware_flops_per_step: float
    gpus: int
    peak_flops_per_s: float

    @property
    def time_s(self) -> float:
        return (
            self.compute_s
            + self.recompute_s
            + sum(self.exposed_comm_s.values())
            + self.bubble_s
            + self.optimizer_s
            + self.overlap_slowdown_s
        )

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_per_step / self.time_s

    @property
    def mfu(self) -> float:
        return self.model_flops_per_step / (self.time_s * self.gpus * self.peak_flops_per_s)

    @property
    def hfu(self) -> float:
        return self.hardware_flops_per_step / (self.time_s * self.gpus * self.peak_flops_per_s)


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


def estimate_step(
    model: Model,
    accelerator: Accelerator,
    plan: ParallelPlan,
    *,
    seq_len: int,
    global_batch: int,
    dev: Device,
    network: Network,
    framework: Framework,
    peak_flops_per_s: float,
    overhead_bytes: float,
) -> StepEstimate | Infeasible:
    """Memory and step time of ``plan``, or why it cannot run.

    The same arithmetic as the plan search: a batch of one plan through
    :func:`gpuplan.model.batch.evaluate`.
    """
    errors = plan_errors(plan, model, plan.gpus, global_batch, seq_len)
    domain, tp = accelerator.scaleup_domain, plan.tensor_parallel
    if domain % tp and tp % domain:
        errors.append(
            f"parallelism.tp = {tp} would straddle scale-up domains of {domain} "
            f"{accelerator.id}; valid: divisors or multiples of {domain}"
        )
    if errors:
        return Infeasible(InfeasibleKind.LAYOUT, "; ".join(errors))
    result = evaluate(
        model,
        accelerator,
        PlanBatch.from_plans([plan]),
        seq_len=seq_len,
        global_batch=global_batch,
        dev=dev,
        network=network,
        framework=framework,
        overhead_bytes=overhead_bytes,
    )
    return step_from_batch(result, 0, plan, peak_flops_per_s, accelerator)


def step_from_batch(
    result: BatchResult,
    index: int,
    plan: ParallelPlan,
    peak_flops_per_s: float,
    accelerator: Accelerator,
) -> StepEstimate | Infeasible:
    """Plan ``index`` of a batch result as a StepEstimate, or Infeasible when it does not fit."""
    memory = MemoryEstimate(
        weights_bytes=float(result.weights_bytes[index]),
        grads_bytes=float(result.grads_bytes[index]),
        optimizer_bytes=float(result.optimizer_bytes[index]),
        activations_bytes=float(result.activations_bytes[index]),
        overhead_bytes=result.overhead_bytes,
        stage=int(result.memory_stage[index]),
    )
    if memory.total_bytes > accelerator.hbm_bytes:
        return Infeasible(
            InfeasibleKind.MEMORY,
            f"needs {memory.total_bytes / units.GiB:.1f} GiB per GPU on pipeline stage "
            f"{memory.stage} (weights {memory.weights_bytes / units.GiB:.1f}, gradients "
            f"{memory.grads_bytes / units.GiB:.1f}, optimizer "
            f"{memory.optimizer_bytes / units.GiB:.1f}, activations "
            f"{memory.activations_bytes / units.GiB:.1f}); {accelerator.id} has "
            f"{accelerator.hbm_gib:.1f} GiB",
            memory,
        )
    return StepEstimate(
        plan=plan,
        memory=memory,
        capacity_bytes=accelerator.hbm_bytes,
        compute_s=float(result.compute_s[index]),
        recompute_s=float(result.recompute_s[index]),
        exposed_comm_s={k: float(v[index]) for k, v in result.exposed_s.items()},
        comm_on_link_s={k: float(v[index]) for k, v in result.on_link_s.items()},
        bubble_s=float(result.bubble_s[index]),
        optimizer_s=float(result.optimizer_s[index]),
        overlap_slowdown_s=float(result.overlap_slowdown_s[index]),
        tokens_per_step=result.tokens_per_step,
        model_flops_per_step=result.model_flops_per_step,
        hardware_flops_per_step=float(result.hardware_flops_per_step[index]),
        gpus=plan.gpus,
        peak_flops_per_s=peak_flops_per_s,
    )
