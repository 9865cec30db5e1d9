"""FLOPs of a transformer, layer by layer (parameter counts: :mod:`gpuplan.catalog.shapes`).

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

from gpuplan.catalog.schema import Model, ModelKind, TextConditioning
from gpuplan.catalog.shapes import (
    attention_params_per_layer,
    attention_score_width,
    mlp_params,
    video_tokens_per_sample,
)
from gpuplan.model.kept import by_identity
from gpuplan.scenario.plan import Recompute


class AttentionMask(StrEnum):
    CAUSAL = "causal"
    BIDIRECTIONAL = "bidirectional"


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
    span = model.attention_span(seq_len)
    s_eff = span if mask is AttentionMask.BIDIRECTIONAL else (span + 1) / 2
    _, mlp_active, router = mlp_params(model)
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
        attention_scores=2 * s_eff * attention_score_width(model) * model.layers,
        mlp=2 * mlp_active,
        router=2 * router,
        logits=logits,
        cross_attention=cross,
    )


def training_flops_per_token(
    model: Model, seq_len: int, mask: AttentionMask | None = None
) -> float:
    """Model FLOPs per token for one training step: forward + backward (3x forward)."""
    return training_flops(forward_flops_per_token(model, seq_len, mask))


def training_flops(forward: ForwardFlops) -> float:
    """:func:`training_flops_per_token` of a model whose forward per token is ``forward``."""
    return 3.0 * forward.total


def hardware_flops_per_token(
    model: Model, seq_len: int, recompute: Recompute, mask: AttentionMask | None = None
) -> float:
    """Hardware FLOPs per token: model FLOPs plus the recomputed forward."""
    return hardware_flops(forward_flops_per_token(model, seq_len, mask), recompute)


def hardware_flops(forward: ForwardFlops, recompute: Recompute) -> float:
    """Hardware FLOPs per token of a model whose forward per token is ``forward``: forward
    and backward (3x forward) plus the forward that ``recompute`` runs again."""
    return training_flops(forward) + recomputed_flops(forward)[recompute]


def recomputed_flops(forward: ForwardFlops) -> dict[Recompute, float]:
    """The forward FLOPs per token that each recompute mode runs again, of a model whose
    forward per token is ``forward``: none, the attention scores (selective), every layer
    (full)."""
    return {
        Recompute.NONE: 0.0,
        Recompute.SELECTIVE: forward.attention_scores,
        Recompute.FULL: forward.layers,
    }


@by_identity(records=1, maxsize=256)
def step_flops(
    model: Model, seq_len: int, tokens: float, modes: tuple[Recompute, ...]
) -> tuple[float, tuple[float, ...]]:
    """The model FLOPs of a step of ``tokens`` and its hardware FLOPs under each recompute
    mode of ``modes`` (every layer recomputing; :func:`hardware_flops` of each, its two
    terms computed once for all modes), kept per model (by identity: every plan of a
    scenario asks), sequence, tokens and modes."""
    forward = forward_flops_per_token(model, seq_len)
    training, again = training_flops(forward), recomputed_flops(forward)
    return tokens * training, tuple(tokens * (training + again[mode]) for mode in modes)


def text_encoder_flops_per_sample(model: Model) -> float:
    """Forward FLOPs of a video model's frozen text encoder(s) for one clip, ``2 P t`` over
    ``t`` text tokens; 0 for other models."""
    video = model.video
    if video is None:
        return 0.0
    return 2.0 * video.text_encoder_params_b * 1e9 * video.text_tokens


def _clip_pixels(model: Model) -> float:
    """A video model's clip in pixels (frames x height x width); 0 for other models."""
    video = model.video
    return 0.0 if video is None else float(video.frames) * video.height * video.width


def vae_encoder_flops_per_sample(model: Model) -> float:
    """Forward FLOPs of a video model's VAE encoder for one clip: its FLOPs per pixel
    (catalog) times the clip's pixels; 0 for other models."""
    video = model.video
    return 0.0 if video is None else video.vae_encoder_flops_per_pixel * _clip_pixels(model)


def vae_encoder_bytes_per_sample(model: Model) -> float:
    """HBM bytes a video model's VAE encoder moves for one clip (its memory-bound passes):
    its bytes per pixel (catalog) times the clip's pixels; 0 for other models."""
    video = model.video
    return 0.0 if video is None else video.vae_encoder_bytes_per_pixel * _clip_pixels(model)


def _tile_sides(side: int, tile: int, overlap: float, per_latent: int) -> list[tuple[int, int]]:
    """(latent side, tiles) along one axis ``side`` pixels long of a tiled clip: a tile
    starts every ``int(tile x (1 - overlap))`` pixels, ``tile`` long or cut at the edge
    (HunyuanVideo's ``spatial_tiled_encode``, both axes once either exceeds the tile)."""
    stride = max(1, int(tile * (1 - overlap)))
    full = (side - tile) // stride + 1 if side >= tile else 0  # tiles that fit whole
    edges = [side - i for i in range(full * stride, side, stride)]
    return [(-(-tile // per_latent), full)] * (full > 0) + [(-(-e // per_latent), 1) for e in edges]


def vae_attention_calls(model: Model) -> tuple[tuple[int, int], ...]:
    """A video VAE encoder's attention over one clip (docs/model.md, RULE VAE-ATTENTION):
    (latent positions ``s``, encoder calls of that size) for the clip, or for each spatial
    tile when the VAE tiles it (one call per tile); () without one.

    >>> from gpuplan.catalog import load_catalog
    >>> model = load_catalog().model("open-sora-2-11b")  # 129 x 576 x 1024: 3 x 6 tiles
    >>> vae_attention_calls(model)
    ((33792, 10), (8448, 2), (25344, 5), (6336, 1))
    """
    video = model.video
    if video is None or video.vae_attention is None:
        return ()
    a, spatial = video.vae_attention, video.vae_spatial
    frames = -(-video.frames // video.vae_temporal)
    if a.tile is None or (video.height <= a.tile and video.width <= a.tile):
        rows, cols = [(-(-video.height // spatial), 1)], [(-(-video.width // spatial), 1)]
    else:
        rows = _tile_sides(video.height, a.tile, a.tile_overlap, spatial)
        cols = _tile_sides(video.width, a.tile, a.tile_overlap, spatial)
    return tuple((frames * h * w, m * n) for h, m in rows for w, n in cols)


def vae_attention_flops_per_sample(model: Model) -> float:
    """Forward FLOPs of a video VAE encoder's attention for one clip, ``4 s^2 w`` per call:
    every block of its explicitly masked ``s x s`` scores (:func:`vae_attention_calls`);
    0 without one."""
    video = model.video
    if video is None or video.vae_attention is None:
        return 0.0
    width = video.vae_attention.width
    return sum(4.0 * s * s * width * calls for s, calls in vae_attention_calls(model))


def six_nd(params: float, tokens: float) -> float:
    """The 6ND rule (Kaplan et al. 2020 sec. 2.1): a cross-check, not the count we use."""
    return 6.0 * params * tokens
