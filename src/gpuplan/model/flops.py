"""FLOPs and parameter counts of a transformer, layer by layer.

One multiply-accumulate is 2 FLOPs. For a token in a sequence of length ``s`` the forward
pass of one layer costs (symbols: ``h`` hidden, ``H`` query heads, ``K`` KV heads, ``d``
head size, ``f`` MLP inner size, ``m`` MLP matrices (3 gated, 2 plain), ``V`` vocabulary):

- QKV projections ``2 h (H d + 2 K d)``, output projection ``2 H d h``;
- attention scores and weighted values ``4 s_eff H d``, with ``s_eff = s`` for
  bidirectional attention and ``(s + 1) / 2`` for causal attention (flash attention skips
  the masked half);
- MLP ``2 m h f``; an MoE layer runs ``top_k + shared`` experts of size ``f_e`` plus a
  router ``2 h E``;
- and once per token, the logits ``2 h V``.

The backward pass costs twice the forward (Kaplan et al. 2020 sec. 2.1; Narayanan et al.
2021 eq. 3). Model FLOPs count forward + backward once (the basis of MFU); hardware FLOPs
add the forward recomputed for activation checkpointing (the basis of HFU). 6ND (Kaplan
et al. 2020) is kept as an independent cross-check: it ignores the attention-score term and
counts embedding parameters, so it is a few percent off the per-layer count.

Multi-head latent attention (DeepSeek-V2/V3, arXiv 2405.04434 sec. 2.1) replaces the QKV
projections by low-rank ones; scores use the ``nope + rope`` head size, values ``v``.
Left out: norms, biases, softmax and elementwise FLOPs (under 1% at these sizes), the MTP
head of DeepSeek-V3 (its report counts it separately).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gpuplan.catalog.schema import Model, ModelKind, Position, TextConditioning


class AttentionMask(StrEnum):
    CAUSAL = "causal"
    BIDIRECTIONAL = "bidirectional"


class Recompute(StrEnum):
    """Activation recomputation (Korthikanti et al. 2022)."""

    NONE = "none"
    SELECTIVE = "selective"
    """Recompute only the attention scores and softmax (Korthikanti et al. 2022 sec. 4.2)."""
    FULL = "full"
    """Recompute the whole forward pass of every layer."""


@dataclass(frozen=True)
class ForwardFlops:
    """Forward FLOPs for one token (or one video-token), split by component, all layers."""

    attention_projections: float
    attention_scores: float
    mlp: float
    router: float
    logits: float
    cross_attention: float

    @property
    def layers(self) -> float:
        return (
            self.attention_projections
            + self.attention_scores
            + self.mlp
            + self.router
            + self.cross_attention
        )

    @property
    def total(self) -> float:
        return self.layers + self.logits


@dataclass(frozen=True)
class ParameterCount:
    """Parameter counts from the shapes (not the published figure)."""

    total: float
    active: float
    """Parameters that touch each token (MoE: shared + top-k experts)."""
    embedding: float
    """Input embedding, untied output projection and learned positions."""

    @property
    def non_embedding(self) -> float:
        return self.total - self.embedding

    @property
    def active_non_embedding(self) -> float:
        return self.active - self.embedding


def attention_params_per_layer(model: Model) -> float:
    """Weights of Q, K, V and output projections in one layer."""
    h = model.hidden
    if model.mla is not None:
        a = model.mla
        qk = a.qk_nope_head_dim + a.qk_rope_head_dim
        return (
            h * a.q_lora_rank
            + a.q_lora_rank * model.heads * qk
            + h * (a.kv_lora_rank + a.qk_rope_head_dim)
            + a.kv_lora_rank * model.heads * (a.qk_nope_head_dim + a.v_head_dim)
            + model.heads * a.v_head_dim * h
        )
    d = model.head_size
    return h * model.heads * d + 2 * h * model.kv_heads * d + model.heads * d * h


def _attention_score_width(model: Model) -> float:
    """Summed width of the score (Q.K) and value (P.V) products over heads."""
    if model.mla is not None:
        a = model.mla
        return model.heads * (a.qk_nope_head_dim + a.qk_rope_head_dim + a.v_head_dim)
    return 2 * model.heads * model.head_size


def _mlp_params(model: Model) -> tuple[float, float, float]:
    """(total, active, router) MLP weights summed over all layers."""
    m = model.ffn.matrices
    h = model.hidden
    dense_layer = m * h * model.ffn_hidden
    if model.moe is None:
        return dense_layer * model.layers, dense_layer * model.layers, 0.0
    moe = model.moe
    moe_layers = model.layers - moe.dense_layers
    expert = m * h * moe.expert_ffn_hidden
    router = h * moe.experts * moe_layers
    total = (
        dense_layer * moe.dense_layers + expert * (moe.experts + moe.shared_experts) * moe_layers
    )
    active = dense_layer * moe.dense_layers + expert * (moe.top_k + moe.shared_experts) * moe_layers
    return total, active, router


@dataclass(frozen=True)
class MlpParams:
    """MLP weights of one layer of each kind."""

    dense: float
    """A dense layer's MLP (the model's dense layers, or the first ``moe.dense_layers``)."""
    moe_shared: float
    """An MoE layer's router and shared experts (replicated across expert ranks)."""
    moe_routed: float
    """An MoE layer's routed experts, all of them (split across expert ranks)."""


def mlp_params_per_layer(model: Model) -> MlpParams:
    m = model.ffn.matrices
    h = model.hidden
    dense = float(m * h * model.ffn_hidden)
    if model.moe is None:
        return MlpParams(dense, 0.0, 0.0)
    moe = model.moe
    expert = m * h * moe.expert_ffn_hidden
    return MlpParams(dense, h * moe.experts + expert * moe.shared_experts, expert * moe.experts)


def is_moe_layer(model: Model, index: int) -> bool:
    return model.moe is not None and index >= model.moe.dense_layers


def _embedding_params(model: Model) -> float:
    if model.kind is ModelKind.VIDEO_DIT:
        assert model.video is not None
        v = model.video
        patch = v.latent_channels * v.patch_t * v.patch_h * v.patch_w
        return 2 * patch * model.hidden  # patch embedding in, un-patchify out
    tables = 1 if model.tied_embeddings else 2
    embedding = tables * model.vocab * model.hidden
    if model.position is Position.LEARNED and model.seq_len is not None:
        embedding += model.seq_len * model.hidden
    return embedding


def _cross_attention_params(model: Model) -> float:
    if model.video is None or model.video.text_conditioning is not TextConditioning.CROSS_ATTENTION:
        return 0.0
    return 4 * model.hidden * model.hidden * model.layers


def parameter_count(model: Model) -> ParameterCount:
    """Parameters computed from the architecture (biases and norms left out)."""
    attention = attention_params_per_layer(model) * model.layers
    mlp_total, mlp_active, router = _mlp_params(model)
    embedding = _embedding_params(model)
    cross = _cross_attention_params(model)
    return ParameterCount(
        total=attention + mlp_total + router + embedding + cross,
        active=attention + mlp_active + router + embedding + cross,
        embedding=embedding,
    )


def video_tokens_per_sample(model: Model) -> int:
    """Latent video tokens of one clip: compressed frames x compressed, patchified pixels."""
    assert model.video is not None, "only video-dit models have a video block"
    v = model.video
    frames = -(-v.frames // (v.vae_temporal * v.patch_t))
    rows = -(-v.height // (v.vae_spatial * v.patch_h))
    cols = -(-v.width // (v.vae_spatial * v.patch_w))
    return frames * rows * cols


def sequence_length(model: Model) -> int:
    """The model's own sequence: context length (LLM) or latent tokens per clip (video)."""
    if model.kind is ModelKind.VIDEO_DIT:
        tokens = video_tokens_per_sample(model)
        assert model.video is not None
        if model.video.text_conditioning is TextConditioning.JOINT:
            tokens += model.video.text_tokens
        return tokens
    assert model.seq_len is not None, "the schema requires seq_len for LLMs"
    return model.seq_len


def default_mask(model: Model) -> AttentionMask:
    """LLMs are causal; diffusion transformers attend in both directions."""
    return (
        AttentionMask.BIDIRECTIONAL if model.kind is ModelKind.VIDEO_DIT else AttentionMask.CAUSAL
    )


def forward_flops_per_token(
    model: Model, seq_len: int, mask: AttentionMask | None = None
) -> ForwardFlops:
    """Forward FLOPs for one token in a sequence of ``seq_len`` tokens."""
    if seq_len <= 0:
        raise ValueError(f"seq_len must be positive, got {seq_len}")
    mask = mask or default_mask(model)
    s_eff = seq_len if mask is AttentionMask.BIDIRECTIONAL else (seq_len + 1) / 2
    _, mlp_active, router = _mlp_params(model)
    cross = 0.0
    if model.video is not None and (
        model.video.text_conditioning is TextConditioning.CROSS_ATTENTION
    ):
        # Q and output projections per video token, scores over the text tokens.
        # K and V of the text are computed once per clip, amortised over its tokens.
        h, t = model.hidden, model.video.text_tokens
        per_layer = 2 * 2 * h * h + 4 * t * h + 2 * 2 * h * h * t / video_tokens_per_sample(model)
        cross = per_layer * model.layers
    logits = 2.0 * model.hidden * model.vocab if model.kind is ModelKind.LLM else 0.0
    return ForwardFlops(
        attention_projections=2 * attention_params_per_layer(model) * model.layers,
        attention_scores=2 * s_eff * _attention_score_width(model) * model.layers,
        mlp=2 * mlp_active,
        router=2 * router,
        logits=logits,
        cross_attention=cross,
    )


def training_flops_per_token(
    model: Model, seq_len: int, mask: AttentionMask | None = None
) -> float:
    """Model FLOPs per token for one training step: forward + backward (3x forward)."""
    return 3.0 * forward_flops_per_token(model, seq_len, mask).total


def hardware_flops_per_token(
    model: Model, seq_len: int, recompute: Recompute, mask: AttentionMask | None = None
) -> float:
    """Hardware FLOPs per token: model FLOPs plus the recomputed forward."""
    forward = forward_flops_per_token(model, seq_len, mask)
    extra = {
        Recompute.NONE: 0.0,
        Recompute.SELECTIVE: forward.attention_scores,
        Recompute.FULL: forward.layers,
    }[recompute]
    return 3.0 * forward.total + extra


def frozen_encoder_flops_per_sample(model: Model) -> float:
    """Forward-only FLOPs of a video model's frozen text encoder(s) for one clip (2 P t).

    The VAE encoder's cost is left out: it is usually run once, offline, over the data.
    """
    if model.video is None:
        return 0.0
    return 2.0 * model.video.text_encoder_params_b * 1e9 * model.video.text_tokens


def six_nd(params: float, tokens: float) -> float:
    """The 6ND rule (Kaplan et al. 2020 sec. 2.1): a cross-check, not the count we use."""
    return 6.0 * params * tokens
