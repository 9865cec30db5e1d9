"""Memory per GPU: weights, gradients, optimizer states, activations, overhead.

Mixed-precision Adam keeps, per parameter, BF16 weights (2 bytes), gradients (``grad_bytes``:
4 for Megatron's FP32 main grads) and FP32 master weights plus two moments (12 bytes)
(Rajbhandari et al. 2020, "ZeRO", sec. 3.1); a framework profile may say otherwise
(``weight_bytes``, ``optimizer_state_bytes`` in frameworks.yaml: FP8 parameters, BF16 Adam
state). ZeRO stage 1 shards the optimizer states over
the ranks that hold the same weights (DP x CP), stage 2 also the gradients, stage 3 the
weights too (keeping two layers gathered for compute and prefetch).

Activations follow Korthikanti et al. 2022 (arXiv 2205.05198) sec. 4, generalised to GQA,
SwiGLU, MoE and flash attention. Per layer and micro-batch of ``b`` sequences of ``s``
tokens (``s/cp`` under context parallelism), in bytes:

- norm region, ``8 sbh`` (+ ``2 sbh`` dropout masks): layer-norm inputs and the inputs of
  the QKV and first MLP projections; divided by TP only with sequence parallelism;
- attention, ``2 sb (2 q + 2 kv)`` for Q, K, V and the projection input (``q = H d``,
  ``kv = K d``), plus for unfused attention the ``s x s`` scores: ``(2 + 3 dropout) H s^2 b``;
  divided by TP;
- MLP, ``4 sbf`` (GELU) or ``6 sbf`` (SwiGLU), for MoE per routed or shared expert with the
  ``top_k`` routed copies of the input; divided by TP.

For ``h = 4f``, MHA, dropout and unfused attention this is the paper's
``sbh (34 + 5 a s / h)`` (eq. 1). Selective recompute drops the ``s^2`` terms; full
recompute keeps only each layer's input (``2 sbh``). The first pipeline stage holds the
most micro-batches in flight: ``min(m, p + (p - 1) / v)`` stage-loads (Korthikanti et al.
sec. 4.2.3 for the interleaved factor). The last stage also holds the FP32 logits. These
per-stage sums and the ZeRO sharding of the states are done for many plans at once in
:mod:`gpuplan.model.pipeline`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpuplan.catalog.schema import AttentionKernel, Ffn, Model
from gpuplan.model import op_sac
from gpuplan.scenario.plan import ParallelPlan, Recompute

LOGIT_BYTES = 6  # BF16 logits and their FP32 copy for the softmax cross-entropy


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes on the most loaded GPU (the stage that needs the most)."""

    weights_bytes: float
    grads_bytes: float
    optimizer_bytes: float
    activations_bytes: float
    overhead_bytes: float
    stage: int
    """Pipeline stage of the most loaded GPU (0 = first)."""

    @property
    def total_bytes(self) -> float:
        return (
            self.weights_bytes
            + self.grads_bytes
            + self.optimizer_bytes
            + self.activations_bytes
            + self.overhead_bytes
        )


def activation_bytes_per_layer(
    model: Model,
    plan: ParallelPlan,
    seq_len: int,
    attention: AttentionKernel,
    moe_layer: bool,
    fp8: bool = False,
    recompute_scope: str = "attention-core",
) -> float:
    """Activation bytes one layer keeps for the backward pass, for one micro-batch.

    Under FP8 training the inputs of the linear layers are kept as their FP8 casts (one
    byte instead of two; Transformer Engine saves the FP8 copy for the weight gradient).
    Selective recompute with ``recompute_scope`` "norm-mla-up-swiglu" (frameworks.yaml,
    DeepSeek-V3) is :func:`_norm_mla_up_swiglu_bytes`; "every-other-mm" (torchtitan's
    op-level selective recompute) is :func:`gpuplan.model.op_sac.activation_bytes`.
    """
    if plan.recompute is Recompute.SELECTIVE and recompute_scope == "norm-mla-up-swiglu":
        return _norm_mla_up_swiglu_bytes(model, plan, seq_len, moe_layer, fp8)
    if (
        plan.recompute is Recompute.SELECTIVE
        and recompute_scope == op_sac.SCOPE
        and op_sac.applies(model, moe_layer)
    ):
        tokens = plan.microbatch * seq_len / plan.context_parallel
        return op_sac.activation_bytes(
            model, tokens, plan.tensor_parallel, plan.sequence_parallel, fp8
        )
    t = plan.tensor_parallel
    s = seq_len / plan.context_parallel
    b = plan.microbatch
    h = model.hidden
    sbh = s * b * h
    if plan.recompute is Recompute.FULL:  # (before the widths, which it does not read)
        return 2 * sbh / (t if plan.sequence_parallel else 1)
    head_size = model.head_size  # (a property: read once)
    q = model.heads * head_size
    kv = model.kv_heads * head_size
    linear_input = 1 if fp8 else 2  # bytes per element of a saved linear-layer input
    norm_region = (4 + 2 * linear_input + (2 if model.dropout else 0)) * sbh
    attention_part = 2 * s * b * (q + 2 * kv) + linear_input * s * b * q
    if attention is AttentionKernel.UNFUSED and plan.recompute is Recompute.NONE:
        span = model.attention_span(seq_len)
        attention_part += (2 + (3 if model.dropout else 0)) * model.heads * s * span * b
    elif attention is not AttentionKernel.UNFUSED:
        attention_part += 4 * model.heads * s * b  # FP32 log-sum-exp per query and head
    per_f = 6 if model.ffn is Ffn.SWIGLU else 4
    if moe_layer:
        assert model.moe is not None
        copies = model.moe.top_k + model.moe.shared_experts
        mlp_part = copies * (
            linear_input * sbh + (per_f - 2 + linear_input) * s * b * model.moe.expert_ffn_hidden
        )
    else:
        mlp_part = (per_f - 2 + linear_input) * s * b * model.ffn_hidden
    sharded = (attention_part + mlp_part) / t
    return sharded + norm_region / (t if plan.sequence_parallel else 1)


def _norm_mla_up_swiglu_bytes(
    model: Model, plan: ParallelPlan, seq_len: int, moe_layer: bool, fp8: bool
) -> float:
    """DeepSeek-V3's selective recompute (report sec. 3.2.3 and 3.3.3): RMSNorm outputs and
    the MLA up-projections (Q, K, V) are rebuilt in the backward pass, and SwiGLU outputs
    too, from their inputs cached at the linear-input precision. Kept per token: the two
    norm inputs (``4 h``), the MLA latents in BF16 (``2 (q_r + kv_r + d_rope)``), the
    attention output in BF16 and its linear-input copy (``(2 + l) H d_v``), the FP32
    log-sum-exp, and per routed or shared expert (or the dense MLP) its input and the
    SwiGLU input (``l (h + 2 f)``). Without MLA, Q, K and V are kept as in the default."""
    t, b = plan.tensor_parallel, plan.microbatch
    tokens = b * seq_len / plan.context_parallel
    h, linear_input = model.hidden, (1 if fp8 else 2)
    if model.mla is not None:
        a = model.mla
        latents = a.q_lora_rank + a.kv_lora_rank + a.qk_rope_head_dim
        attention = 2 * latents + (2 + linear_input) * model.heads * a.v_head_dim
    else:
        q, kv = model.heads * model.head_size, model.kv_heads * model.head_size
        attention = 2 * (q + 2 * kv) + linear_input * q
    attention += 4 * model.heads
    up = 2 if model.ffn is Ffn.SWIGLU else 1
    if moe_layer:
        assert model.moe is not None
        copies = model.moe.top_k + model.moe.shared_experts
        mlp = copies * linear_input * (h + up * model.moe.expert_ffn_hidden)
    else:
        mlp = linear_input * up * model.ffn_hidden
    norm_inputs = 4 * h / (t if plan.sequence_parallel else 1)
    return float(tokens * ((attention + mlp) / t + norm_inputs))
