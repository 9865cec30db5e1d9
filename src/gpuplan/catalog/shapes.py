"""What a model's shapes imply: parameter counts (total, active, embedding) and the tokens
one sequence or one video clip holds.

Pure arithmetic over a catalog :class:`~gpuplan.catalog.schema.Model`, used from the
scenario layer up (an inline model's parameter count, a default sequence length) and by the
FLOP count in :mod:`gpuplan.model.flops`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpuplan.catalog.schema import Model, ModelKind, Position, TextConditioning


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


def attention_score_width(model: Model) -> float:
    """Summed width of the score (Q.K) and value (P.V) products over heads."""
    if model.mla is not None:
        a = model.mla
        return model.heads * (a.qk_nope_head_dim + a.qk_rope_head_dim + a.v_head_dim)
    return 2 * model.heads * model.head_size


def mlp_params(model: Model) -> tuple[float, float, float]:
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


def video_block_params(model: Model) -> float:
    """Weights a video model's blocks hold beyond a plain block's attention and MLP, summed
    over all layers: cross-attention to the text (Q, K, V, output: ``4 h^2`` per layer), or
    MMDiT's second (text) stream of each double-stream block and the adaLN modulation
    matrices (Esser et al. 2024; FLUX.1: ``6 h^2`` per stream of a double block, ``3 h^2``
    per single block). They touch every token (or every clip), so active = total."""
    video, h = model.video, model.hidden
    if video is None:
        return 0.0
    if video.text_conditioning is TextConditioning.CROSS_ATTENTION:
        return 4.0 * h * h * model.layers
    if video.mmdit is None:
        return 0.0
    mm = video.mmdit
    plain = attention_params_per_layer(model) + mlp_params_per_layer(model).dense
    single_blocks = model.layers - mm.double_blocks
    modulation = 2 * mm.double_modulation * mm.double_blocks + mm.single_modulation * single_blocks
    return mm.double_blocks * plain + modulation * h * h


def parameter_count(model: Model) -> ParameterCount:
    """Parameters computed from the architecture (biases and norms left out)."""
    attention = attention_params_per_layer(model) * model.layers
    mlp_total, mlp_active, router = mlp_params(model)
    embedding = _embedding_params(model)
    cross = video_block_params(model)
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
