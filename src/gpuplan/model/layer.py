"""The cost of one transformer layer for one micro-batch on one GPU: its GEMMs, attention,
FP8 casts, recompute, and the tensor-, context- and expert-parallel communication it needs
(:mod:`gpuplan.model.kernels`, :mod:`gpuplan.model.collectives`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from gpuplan.catalog.schema import (
    AttentionKernel,
    CpRing,
    Ffn,
    Model,
    Position,
    TextConditioning,
)
from gpuplan.model import op_sac as op_sac_cost
from gpuplan.model.collectives import Network
from gpuplan.model.kernels import (
    Device,
    flash_attention_times,
    fp8_cast_time,
    gemm_time,
    streaming_time,
)
from gpuplan.model.ring import RingCost, RingShape, ring_cost, ring_exposed
from gpuplan.model.routing import FLAT_ROUTING, RoutingOptions, ep_all_to_all_time, routing
from gpuplan.model.tensor_parallel import qk_gather_copy_time, tp_time
from gpuplan.model.ulysses import ulysses_possible, ulysses_time
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
    cp_exposed_s: float = 0.0
    """CP communication the layer waits for: the ring's excess over the attention it hides
    behind, or the all-to-alls of :mod:`gpuplan.model.ulysses` when they expose less."""


class _Shape(NamedTuple):
    """One micro-batch of one layer on one GPU: the sizes its kernels see (a named tuple:
    built once per layer and key, a third of a frozen dataclass's ``__init__``)."""

    t: int  # tensor-parallel ranks
    cp: int
    b: int  # sequences per micro-batch
    s_local: float  # tokens per sequence on this GPU (the sequence split over CP)
    tokens: float  # tokens per micro-batch on this GPU
    h: int
    heads: float  # attention heads on this GPU (split over TP)
    q_width: int  # width of all query heads (before the TP split)
    kv_width: int  # width of all key (or value) heads (before the TP split)

    @classmethod
    def of(cls, model: Model, plan: ParallelPlan, seq_len: int) -> _Shape:
        t, cp, b = plan.tensor_parallel, plan.context_parallel, plan.microbatch
        s_local, head_size = seq_len / cp, model.head_size
        return cls(t, cp, b, s_local, b * s_local, model.hidden, model.heads / t,
                   model.heads * head_size, model.kv_heads * head_size)  # fmt: skip


@dataclass
class _Linears:
    """GEMM time of a layer's linear layers, added up in call order.

    Forward Y = X W: (rows x k) @ (k x n). Backward, with their own shapes: dX = dY W^T
    (rows x n) @ (n x k) and dW = X^T dY (k x rows) @ (rows x n). FP8 casts of the operands
    are charged to the forward (zero in BF16).
    """

    dev: Device
    forward: float = 0.0
    backward: float = 0.0
    casts: float = 0.0

    def time(self, rows: float, n: float, k: float, batch: float = 1.0) -> float:
        """Forward time of one linear layer; its backward and casts are added here."""
        dev = self.dev
        self.casts += fp8_cast_time(rows, n, k, dev, batch)
        self.backward += gemm_time(rows, k, n, dev, batch) + gemm_time(k, n, rows, dev, batch)
        return gemm_time(rows, n, k, dev, batch, forward=True)

    def add(self, rows: float, n: float, k: float, batch: float = 1.0) -> None:
        """One linear layer, forward and backward."""
        self.forward += self.time(rows, n, k, batch)


def _attention_projections(model: Model, x: _Shape, g: _Linears) -> tuple[float, float]:
    """The Q, K, V and output projections (MLA: low-rank Q and KV, DeepSeek-V2); returns
    the head widths of the scores and of the values."""
    h, t, tokens = x.h, x.t, x.tokens
    if model.mla is None:
        g.add(tokens, (x.q_width + 2 * x.kv_width) / t, h)
        g.add(tokens, h, x.q_width / t)
        return (model.head_size,) * 2  # (a property: read once)
    a = model.mla
    qk = a.qk_nope_head_dim + a.qk_rope_head_dim
    g.add(tokens, a.q_lora_rank, h)
    g.add(tokens, model.heads * qk / t, a.q_lora_rank)
    g.add(tokens, a.kv_lora_rank + a.qk_rope_head_dim, h)
    g.add(tokens, model.heads * (a.qk_nope_head_dim + a.v_head_dim) / t, a.kv_lora_rank)
    g.add(tokens, h, model.heads * a.v_head_dim / t)
    return qk, a.v_head_dim


def _mlp(
    model: Model, plan: ParallelPlan, moe_layer: bool, x: _Shape, g: _Linears, network: Network,
    options: RoutingOptions,
) -> float:  # fmt: skip
    """The MLP's GEMMs: a dense FFN, or a MoE layer's router, routed experts (the local ones
    batched, under EP, at the busiest rank's load, :mod:`gpuplan.model.routing`) and shared
    experts. Returns the bytes its activation function and the MoE permutes stream."""
    h, t, tokens = x.h, x.t, x.tokens
    up = 2 if model.ffn is Ffn.SWIGLU else 1
    per_f = 6 if model.ffn is Ffn.SWIGLU else 4
    if not moe_layer:
        g.add(tokens, up * model.ffn_hidden / t, h)
        g.add(tokens, h, model.ffn_hidden / t)
        return per_f * tokens * model.ffn_hidden / t
    assert model.moe is not None
    moe = model.moe
    f_e = moe.expert_ffn_hidden
    local_experts = moe.experts / plan.expert_parallel
    routed, expert_tp, stride = options.expert_layout(tokens, t, x.cp)
    imbalance = routing(moe, plan.expert_parallel, stride, routed, network, False,
                        options.capacity_factor).imbalance  # fmt: skip
    per_expert = routed * moe.top_k / local_experts * imbalance
    g.add(tokens, moe.experts, h)  # router
    _expert_gemms(g, per_expert, (up * f_e / expert_tp, h, f_e / expert_tp), local_experts,
                  options.expert_host_s)  # fmt: skip
    if moe.shared_experts:
        shared_f = f_e * moe.shared_experts
        g.add(tokens, up * shared_f / t, h)
        g.add(tokens, h, shared_f / t)
    activation_bytes = per_f * tokens * f_e * (moe.top_k + moe.shared_experts) / t
    return activation_bytes + 4 * 2 * tokens * moe.top_k * h  # permute and un-permute


HOST_FORWARD_SHARE = 1 / 3
"""Share of an expert's host work in the forward: two of its six GEMMs (fc1 and fc2; their
data and weight gradients in the backward) and the casts and splits that go with them."""


def _expert_gemms(
    g: _Linears, rows: float, widths: tuple[float, float, float], experts: float,
    host_s: float,
) -> None:  # fmt: skip
    """The local experts' up- (``rows x h -> n_up``) and down-projections (``f -> h``),
    batched, each at ``rows`` rows. A framework that handles the experts one by one on the
    host (``host_s`` seconds per expert, layer and micro-batch, frameworks.yaml:
    expert_gemm_host_s) keeps the GPU waiting when the GEMMs are shorter than that work:
    the forward takes at least :data:`HOST_FORWARD_SHARE` of it, the backward the rest."""
    n_up, h, f = widths
    forward, backward, casts = g.forward, g.backward, g.casts
    g.add(rows, n_up, h, batch=experts)
    g.add(rows, h, f, batch=experts)
    gpu_forward = g.forward - forward + g.casts - casts
    g.forward += max(0.0, experts * host_s * HOST_FORWARD_SHARE - gpu_forward)
    g.backward += max(0.0, experts * host_s * (1 - HOST_FORWARD_SHARE) - (g.backward - backward))


def _attention_core(
    model: Model, seq_len: int, x: _Shape, widths: tuple[float, float], dev: Device,
    attention_kernel: AttentionKernel,
) -> tuple[float, float]:  # fmt: skip
    """Forward, and forward + backward, of the attention core (scores, softmax, values).

    Causal attention skips the masked half in fused kernels; unfused kernels compute the
    whole s x s matrix and stream it through the softmax (and dropout). With packed samples
    (``model.packed_sample_tokens``) the span is one sample: s x sample, at the kernel's
    rate for sequences of one sample's length.
    """
    score_width, value_width = widths
    b, s_local = x.b, x.s_local
    span = model.attention_span(seq_len)  # packed samples: each attends within itself
    if attention_kernel is not AttentionKernel.UNFUSED:
        causal = model.kind.value == "llm"
        keys = (span + 1) / 2 if causal else span
        flops = 2 * b * x.heads * s_local * keys * (score_width + value_width)
        queries = min(s_local, span)  # the kernel's rate at the length of one sequence
        return flash_attention_times(flops, dev, queries, causal)
    batch = b * x.heads
    scores = gemm_time(s_local, span, score_width, dev, batch=batch)
    values = gemm_time(s_local, value_width, span, dev, batch=batch)
    softmax_bytes = batch * s_local * span * (4 + (5 if model.dropout else 0))
    fwd = scores + values + streaming_time(softmax_bytes, 2, dev)
    return fwd, 3 * (scores + values) + streaming_time(3 * softmax_bytes, 6, dev)


def _cross_attention(
    model: Model, x: _Shape, g: _Linears, dev: Device
) -> tuple[float, float] | None:
    """Video diffusion transformers with cross-attention to the text: Q and output
    projections per video token, K and V projections of the clip's text tokens, and an
    attention core over the text (fused kernel, bidirectional). Returns the core's forward
    and forward + backward; None for other models."""
    video = model.video
    if video is None or video.text_conditioning is not TextConditioning.CROSS_ATTENTION:
        return None
    h, t, tokens, q_width = x.h, x.t, x.tokens, x.q_width
    # Q and output projections, added to the forward as one term
    g.forward += g.time(tokens, q_width / t, h) + g.time(tokens, h, q_width / t)
    g.add(x.b * video.text_tokens, 2 * q_width / t, h)
    flops = 4 * x.b * x.heads * x.s_local * video.text_tokens * model.head_size
    return flash_attention_times(flops, dev, x.s_local, causal=False)


LLM_BLOCK_ELEMENTWISE_BYTES = 20
"""Forward HBM bytes per token and hidden unit of a pre-norm block's fused norms (read and
write BF16: 4 each) and residual adds (read two, write one: 6 each)."""


def _elementwise_time(
    model: Model, plan: ParallelPlan, x: _Shape, activation_bytes: float, dev: Device
) -> float:
    """Forward of the elementwise kernels: norms, residual adds, dropout, the MLP's
    activation, RoPE (norms and residuals split over TP under sequence parallelism); a video
    block's adaLN modulation, gates, QK-norms and casts as its catalog entry counts them."""
    per_hidden: float = LLM_BLOCK_ELEMENTWISE_BYTES
    if model.video is not None and model.video.block_elementwise_bytes is not None:
        per_hidden = model.video.block_elementwise_bytes
    region = x.tokens * x.h * (per_hidden + (2 if model.dropout else 0))
    if plan.sequence_parallel:
        region /= x.t
    rope = 4 * x.tokens * (x.q_width + x.kv_width) / x.t if model.position is Position.ROPE else 0.0
    return float(streaming_time(region + rope + activation_bytes, 8, dev))


def _norm_mla_up_swiglu_time(model: Model, moe_layer: bool, x: _Shape, dev: Device) -> float:
    """DeepSeek-V3's selective recompute (report sec. 3.2.3, 3.3.3): the forward of the two
    RMSNorms (read and write ``h`` in BF16 each), of the MLA up-projections (their GEMMs and
    FP8 casts) and of the SwiGLU (read the cached FP8 gate and up inputs, ``2 f``, write
    ``f`` in BF16), per routed or shared expert in a MoE layer."""
    g = _Linears(dev)
    gemms = 0.0
    if model.mla is not None:
        a = model.mla
        q_width = model.heads * (a.qk_nope_head_dim + a.qk_rope_head_dim) / x.t
        kv_width = model.heads * (a.qk_nope_head_dim + a.v_head_dim) / x.t
        gemms = g.time(x.tokens, q_width, a.q_lora_rank) + g.time(
            x.tokens, kv_width, a.kv_lora_rank
        )
    if moe_layer:
        assert model.moe is not None
        inner = (model.moe.top_k + model.moe.shared_experts) * model.moe.expert_ffn_hidden
    else:
        inner = model.ffn_hidden
    norms_bytes = 2 * 4 * x.tokens * x.h
    swiglu_bytes = (2 * (1 if dev.fp8 else 2) + 2) * x.tokens * inner / x.t
    return gemms + g.casts + float(streaming_time(norms_bytes + swiglu_bytes, 3, dev))


def _ep_time(
    model: Model, plan: ParallelPlan, moe_layer: bool, x: _Shape, network: Network,
    fp8: bool, options: RoutingOptions,
) -> float:  # fmt: skip
    """Expert parallel: the all-to-alls that dispatch tokens to their experts and combine
    them back, forward and backward (:mod:`gpuplan.model.routing`)."""
    if not moe_layer or plan.expert_parallel <= 1:
        return 0.0
    assert model.moe is not None
    routed, _, stride = options.expert_layout(x.tokens, x.t, x.cp)
    return ep_all_to_all_time(
        model.moe, plan.expert_parallel, stride, routed, x.h, network, fp8, options
    )


def layer_cost(
    model: Model,
    plan: ParallelPlan,
    seq_len: int,
    moe_layer: bool,
    dev: Device,
    attention_kernel: AttentionKernel,
    network: Network,
    routing_options: RoutingOptions = FLAT_ROUTING,
    recompute_scope: str = "attention-core",
) -> LayerCost:
    """One layer (a MoE layer when ``moe_layer``) for one micro-batch of ``plan`` on one GPU:
    kernels forward, backward and recomputed, and its TP, CP and EP communication (routed
    tokens as ``routing_options`` says; what selective recompute rebuilds as
    ``recompute_scope``, frameworks.yaml)."""
    return layer_costs(model, (plan,), seq_len, moe_layer, dev, attention_kernel, network,
                       routing_options, recompute_scope)[0]  # fmt: skip


def layer_costs(
    model: Model, plans: tuple[ParallelPlan, ...], seq_len: int, moe_layer: bool, dev: Device,
    attention_kernel: AttentionKernel, network: Network,
    routing_options: RoutingOptions = FLAT_ROUTING, recompute_scope: str = "attention-core",
    ring: CpRing | None = None, shared: tuple[Any, ...] | None = None,
) -> tuple[LayerCost, ...]:  # fmt: skip
    """:func:`layer_cost` of each of ``plans``, which differ only in recompute: what it does
    not change (:func:`layer_shared`, or ``shared``, its value for these plans) is computed
    once; the CP ring as the framework's ``ring`` implementation does it
    (:mod:`gpuplan.model.ring`). Each is :func:`layer_values` as a :class:`LayerCost`."""
    values = layer_values(model, plans, seq_len, moe_layer, dev, attention_kernel, network,
                          routing_options, recompute_scope, ring, shared)  # fmt: skip
    return tuple(LayerCost(*each) for each in values)


def layer_values(
    model: Model, plans: tuple[ParallelPlan, ...], seq_len: int, moe_layer: bool, dev: Device,
    attention_kernel: AttentionKernel, network: Network,
    routing_options: RoutingOptions = FLAT_ROUTING, recompute_scope: str = "attention-core",
    ring: CpRing | None = None, shared: tuple[Any, ...] | None = None,
) -> list[tuple[float, ...]]:  # fmt: skip
    """:func:`layer_costs` as tuples of :class:`LayerCost`'s fields in order (what
    :mod:`gpuplan.model.per_layer` keeps: no frozen dataclass built and read back per key)."""
    (x, linear_fwd, casts, attention_fwd, attention_total, elementwise_fwd, forward, backward,
     cp_link, cp_exposed, ep) = shared or layer_shared(
        model, plans[0], seq_len, moe_layer, dev, attention_kernel, network, routing_options,
        ring)  # fmt: skip
    costs: list[tuple[float, ...]] = []
    op_sac = recompute_scope == op_sac_cost.SCOPE and op_sac_cost.applies(model, moe_layer)
    for each in plans:
        if each.recompute is Recompute.FULL:
            recompute = forward
        elif each.recompute is Recompute.SELECTIVE and op_sac:
            recompute = op_sac_cost.recompute_time(model, x.tokens, x.t, dev, linear_fwd, casts,
                                                   elementwise_fwd)  # fmt: skip
        elif each.recompute is Recompute.SELECTIVE and recompute_scope == "norm-mla-up-swiglu":
            recompute = _norm_mla_up_swiglu_time(model, moe_layer, x, dev)
        elif each.recompute is Recompute.SELECTIVE and attention_kernel is AttentionKernel.UNFUSED:
            recompute = attention_fwd
        else:
            recompute = 0.0  # flash kernels already recompute scores in their backward
        tp = tp_time(model, each, x.tokens, network, op_sac)
        costs.append((forward, backward, recompute, attention_total, tp, cp_link, ep, cp_exposed))
    return costs


def layer_shared(
    model: Model, plan: ParallelPlan, seq_len: int, moe_layer: bool, dev: Device,
    attention_kernel: AttentionKernel, network: Network,
    routing_options: RoutingOptions = FLAT_ROUTING, ring: CpRing | None = None,
) -> tuple[Any, ...]:  # fmt: skip
    """What a layer of ``plan`` costs whatever its recompute (:func:`layer_costs`): its
    shape, the linear layers' forward and FP8 casts, the attention core's forward and total,
    the elementwise forward, the layer's forward and backward, CP on the link and exposed,
    and EP."""
    x = _Shape.of(model, plan, seq_len)
    g = _Linears(dev)
    widths = _attention_projections(model, x, g)
    activation_bytes = _mlp(model, plan, moe_layer, x, g, network, routing_options)
    attention_fwd, attention_total = _attention_core(
        model, seq_len, x, widths, dev, attention_kernel
    )
    cross = _cross_attention(model, x, g, dev)
    if cross is not None:
        attention_fwd += cross[0]
        attention_total += cross[1]
    elementwise_fwd = _elementwise_time(model, plan, x, activation_bytes, dev)
    qk_fwd, qk_bwd = qk_gather_copy_time(model, x.tokens, x.t, plan.sequence_parallel, dev)

    ring_s, cp_link, cp_exposed = _context_parallel(
        model, x, (attention_fwd, attention_total), network, dev, ring
    )
    forward = g.forward + attention_fwd + elementwise_fwd + g.casts + qk_fwd + ring_s.forward_s
    backward = (g.backward + (attention_total - attention_fwd) + 2 * elementwise_fwd + qk_bwd
                + ring_s.backward_s)  # fmt: skip
    ep = _ep_time(model, plan, moe_layer, x, network, dev.fp8, routing_options)
    return (x, g.forward, g.casts, attention_fwd, attention_total, elementwise_fwd, forward,
            backward, cp_link, cp_exposed, ep)  # fmt: skip


_NO_RING = RingCost(0.0, 0.0, 0.0, 0.0)
"""The ring of a layer without CP (:func:`gpuplan.model.ring.ring_cost` of ``cp`` 1)."""


def _context_parallel(
    model: Model, x: _Shape, attention: tuple[float, float], network: Network, dev: Device,
    ring: CpRing | None,
) -> tuple[RingCost, float, float]:  # fmt: skip
    """The ring (:mod:`gpuplan.model.ring`), its (on-link, exposed) CP seconds behind the
    (forward, total) attention, or Ulysses' all-to-alls (exposed whole) where they expose
    less, the heads split and the ring is not ``ring_only``. Without CP all of it is zero."""
    if x.cp <= 1:
        return _NO_RING, 0.0, 0.0
    shape = RingShape(x.cp, x.t, x.tokens * x.q_width / x.t, x.tokens * x.kv_width / x.t,
                      model.kind.value == "llm")  # fmt: skip
    cost = ring_cost(shape, ring, network, dev)
    exposed = ring_exposed(cost, ring, *attention)
    only = ring is not None and ring.ring_only
    if exposed > 0 and not only and ulysses_possible(model.heads, model.kv_heads, x.t, x.cp):
        a2a = ulysses_time(x.tokens, x.q_width, x.kv_width, x.t, x.cp, network)
        if a2a < exposed:
            return RingCost(0.0, 0.0, 0.0, 0.0), a2a, a2a
    return cost, cost.link_forward_s + cost.link_backward_s, exposed
