"""Transformer models: dense and MoE LLMs, video diffusion transformers."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from gpuplan.catalog.schema.base import Number, Positive, PositiveInt, Record, Strict


class ModelKind(StrEnum):
    LLM = "llm"
    VIDEO_DIT = "video-dit"


class Ffn(StrEnum):
    GELU = "gelu"
    RELU = "relu"
    SWIGLU = "swiglu"

    @property
    def matrices(self) -> int:
        """Weight matrices in the MLP: gated units have three, plain ones two."""
        return 3 if self is Ffn.SWIGLU else 2


class Position(StrEnum):
    ROPE = "rope"
    LEARNED = "learned"
    ALIBI = "alibi"
    NONE = "none"


class Norm(StrEnum):
    RMSNORM = "rmsnorm"
    LAYERNORM = "layernorm"


class TextConditioning(StrEnum):
    CROSS_ATTENTION = "cross-attention"
    JOINT = "joint"


class Moe(Strict):
    """Mixture-of-experts layers (Mixtral, DeepSeek-V3)."""

    experts: PositiveInt
    top_k: PositiveInt
    shared_experts: Annotated[int, Field(ge=0)] = 0
    expert_ffn_hidden: PositiveInt
    dense_layers: Annotated[int, Field(ge=0)] = 0
    """Leading layers with a dense MLP of size ``ffn_hidden`` instead of experts."""
    expert_groups: PositiveInt | None = None
    """Node-limited routing (DeepSeek-V3 ``n_group``): the experts are split into this many
    groups, one per scale-up domain when EP spans that many domains."""
    topk_groups: PositiveInt | None = None
    """Groups a token may route to (DeepSeek-V3 ``topk_group``: at most 4 nodes)."""

    @model_validator(mode="after")
    def _top_k_within_experts(self) -> Moe:
        if self.top_k > self.experts:
            raise ValueError(f"moe.top_k = {self.top_k} exceeds moe.experts = {self.experts}")
        if (self.expert_groups is None) != (self.topk_groups is None):
            raise ValueError("moe.expert_groups and moe.topk_groups are given together")
        groups, topk = self.expert_groups, self.topk_groups
        if groups is not None and topk is not None and (self.experts % groups or topk > groups):
            raise ValueError(
                f"moe.expert_groups = {groups} must divide moe.experts = "
                f"{self.experts} and be at least moe.topk_groups = {topk}"
            )
        return self


class Mla(Strict):
    """DeepSeek multi-head latent attention (DeepSeek-V2/V3)."""

    q_lora_rank: PositiveInt
    kv_lora_rank: PositiveInt
    qk_nope_head_dim: PositiveInt
    qk_rope_head_dim: PositiveInt
    v_head_dim: PositiveInt


class PublishedBatch(Strict):
    """The global batch a model was trained with, as its authors published it."""

    sequences: PositiveInt
    """Sequences (clips for video) per optimizer step, at ``seq_len`` tokens each."""
    seq_len: PositiveInt
    source: str
    """The publication (title, venue or URL, section)."""


VIDEO_MAX_PIXELS = 100_000
"""A video block's frames, height, width and latent channels (the scenario's clip has the
same bound): published models train on at most a few hundred frames of 1-2K pixels."""
VIDEO_MAX_FACTOR = 1000
"""VAE compression and patch sizes (published: 4-16 and 1-2)."""
VIDEO_MAX_TOKENS = 100_000_000
"""Text tokens and published latent tokens per clip (the scenario's largest sequence)."""
VIDEO_MAX_ENCODER_B = 100_000.0
"""Frozen text encoders, billions of parameters (published: 5-10)."""
VIDEO_MAX_VAE_FLOPS = 1e9
"""VAE encoder forward FLOPs (published: about 1e7) and HBM bytes (about 2e4) per pixel.
These bounds keep every product the model forms from them a finite float (1e300 overflowed
the encoder FLOPs)."""
VIDEO_MAX_BLOCKS = 1000
"""MMDiT double-stream blocks (an inline model has at most 1,000 layers)."""
VIDEO_MAX_MODULATION = 100
"""adaLN modulation matrices per block (FLUX: 6 and 3)."""


class Mmdit(Strict):
    """MMDiT blocks (Esser et al. 2024, SD3, arXiv 2403.03206; FLUX.1): the first
    ``double_blocks`` layers are double-stream (separate weights for the video and the text
    tokens, one joint attention over both), the rest single-stream (one set of weights,
    attention and MLP in parallel, as in Dehghani et al. 2023, arXiv 2302.05442)."""

    double_blocks: Annotated[int, Number, Field(ge=0, le=VIDEO_MAX_BLOCKS)]
    """Double-stream blocks (FLUX.1 and Open-Sora 2.0: 19 of 57)."""
    double_modulation: Annotated[int, Number, Field(ge=0, le=VIDEO_MAX_MODULATION)] = 0
    """``h x h`` adaLN modulation matrices per stream of a double block (FLUX: 6, shift,
    scale and gate for attention and MLP)."""
    single_modulation: Annotated[int, Number, Field(ge=0, le=VIDEO_MAX_MODULATION)] = 0
    """``h x h`` adaLN modulation matrices of a single block (FLUX: 3)."""


class VaeAttention(Strict):
    """A video VAE encoder's self-attention over every latent position of the clip (the
    HunyuanVideo VAE's mid block), as the training code runs it (docs/model.md, RULE
    VAE-ATTENTION): through PyTorch's memory-efficient kernel with an explicit mask."""

    width: Annotated[int, Number, Field(gt=0, le=VIDEO_MAX_PIXELS)]
    """Channels of its one head (HunyuanVideo: 512)."""
    mask_rows: bool = False
    """Its block-causal mask is built per encoder call with one kernel per row (latent
    position), HunyuanVideo's ``prepare_causal_attention_mask``."""
    tile: Annotated[int, Number, Field(gt=0, le=VIDEO_MAX_PIXELS)] | None = None
    """Spatial tile side in pixels when the encoder tiles clips wider or taller than it
    (each tile its own encoder call and attention); None: never tiled."""
    tile_overlap: Annotated[float, Number, Field(ge=0, le=0.9)] = 0.0
    """Overlap of neighbouring tiles, a fraction of the side (tiles start every
    ``int(tile x (1 - overlap))`` pixels)."""


class Video(Strict):
    """How a video diffusion transformer turns a clip into tokens."""

    frames: Annotated[int, Number, Field(gt=0, le=VIDEO_MAX_PIXELS)]
    height: Annotated[int, Number, Field(gt=0, le=VIDEO_MAX_PIXELS)]
    width: Annotated[int, Number, Field(gt=0, le=VIDEO_MAX_PIXELS)]
    vae_temporal: Annotated[int, Number, Field(gt=0, le=VIDEO_MAX_FACTOR)]
    vae_spatial: Annotated[int, Number, Field(gt=0, le=VIDEO_MAX_FACTOR)]
    latent_channels: Annotated[int, Number, Field(gt=0, le=VIDEO_MAX_PIXELS)]
    patch_t: Annotated[int, Number, Field(gt=0, le=VIDEO_MAX_FACTOR)] = 1
    patch_h: Annotated[int, Number, Field(gt=0, le=VIDEO_MAX_FACTOR)] = 2
    patch_w: Annotated[int, Number, Field(gt=0, le=VIDEO_MAX_FACTOR)] = 2
    text_tokens: Annotated[int, Number, Field(ge=0, le=VIDEO_MAX_TOKENS)]
    text_conditioning: TextConditioning
    text_encoder_params_b: Annotated[float, Number, Field(ge=0, le=VIDEO_MAX_ENCODER_B)] = 0.0
    latent_tokens_published: Annotated[int, Number, Field(gt=0, le=VIDEO_MAX_TOKENS)] | None = None
    mmdit: Mmdit | None = None
    """MMDiT double- and single-stream blocks (text joins the sequence); None: plain DiT
    blocks (with cross-attention when ``text_conditioning`` says so)."""
    vae_encoder_flops_per_pixel: Annotated[float, Number, Field(ge=0, le=VIDEO_MAX_VAE_FLOPS)] = 0.0
    """Forward FLOPs of the VAE encoder per input pixel (per frame pixel), paid per clip
    when latents are not precomputed."""
    vae_encoder_bytes_per_pixel: Annotated[float, Number, Field(ge=0, le=VIDEO_MAX_VAE_FLOPS)] = 0.0
    """HBM bytes the VAE encoder's memory-bound passes (GroupNorm, SiLU, padding copies,
    convolution inputs and outputs, residual adds) move per input pixel, counted from its
    config and code: timed at the chip's HBM bandwidth beside the convolutions' FLOPs."""
    latents_precomputed: bool = True
    """Whether the model's paper trained on precomputed VAE latents and text embeddings
    (the default of ``training.precomputed_latents``)."""
    block_elementwise_bytes: Annotated[float, Number, Field(gt=0, le=1000)] | None = None
    """HBM bytes per token and hidden unit that one block's elementwise kernels move in the
    forward (norms, adaLN modulate and gate, QK-norms, residual adds, casts), counted op by
    op from the model's training code, RoPE and the MLP activation excluded (counted on
    their own); None: the 20 of a fused pre-norm LLM block (two norms, two residual adds)."""
    vae_attention: VaeAttention | None = None
    """The VAE encoder's attention over the clip's latent positions, paid with the VAE when
    latents are not precomputed; None: none (or left out of its cost)."""
    qk_norm_tp_gather: bool = False
    """The block's QK-norms span all heads and its code gathers Q and K over the
    tensor-parallel ranks to apply them (NeMo DFM's Megatron Wan, ``layernorm_across_heads``):
    more TP all-gathers per pass (:mod:`gpuplan.model.tensor_parallel`)."""


class Model(Record):
    """A transformer: dense or MoE LLM, or a video diffusion transformer."""

    id: str
    name: str
    kind: ModelKind
    params_published_b: Positive
    active_params_published_b: Positive | None = None
    layers: PositiveInt
    hidden: PositiveInt
    heads: PositiveInt
    kv_heads: PositiveInt
    head_dim: PositiveInt | None = None
    ffn_hidden: PositiveInt
    ffn: Ffn
    vocab: Annotated[int, Field(ge=0)]
    seq_len: PositiveInt | None
    tied_embeddings: bool = False
    position: Position = Position.ROPE
    norm: Norm = Norm.LAYERNORM
    dropout: bool = False
    """Trained with hidden and attention dropout (GPT-3/Megatron-era models): extra masks."""
    moe: Moe | None = None
    mla: Mla | None = None
    video: Video | None = None
    packed_sample_tokens: PositiveInt | None = None
    """Mean tokens per training sample when samples are packed into one sequence with
    attention confined to each sample (cu_seqlens / THD format, as NeMo's SFT packing): the
    attention core spans one sample, not the sequence. None: attention spans the sequence."""
    mtp_modules: Annotated[int, Field(ge=0)] = 0
    """Multi-token prediction modules trained with the model (DeepSeek-V3 sec. 2.2): each is
    one more transformer block (MoE when the model is) and one more pass through the output
    head per token, run on the last pipeline stage; hardware work, not model FLOPs."""
    training_tokens_published: Positive | None = None
    published_batch: PublishedBatch | None = None
    training_flops_published: Positive | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Model:
        if self.heads % self.kv_heads:
            raise ValueError(
                f"{self.id}: heads = {self.heads} is not a multiple of kv_heads = {self.kv_heads}"
            )
        if self.head_dim is None and self.hidden % self.heads:  # hidden 7, heads 8: size 0
            raise ValueError(
                f"{self.id}: hidden = {self.hidden} is not a multiple of heads = {self.heads}; "
                "give head_dim for heads of another size"
            )
        if self.kind is ModelKind.VIDEO_DIT and self.video is None:
            raise ValueError(f"{self.id}: kind video-dit needs a video block")
        if self.kind is ModelKind.LLM and self.video is not None:
            raise ValueError(f"{self.id}: a video block needs kind video-dit")
        mmdit = self.video.mmdit if self.video is not None else None
        if mmdit is not None and mmdit.double_blocks > self.layers:
            raise ValueError(f"{self.id}: video.mmdit.double_blocks exceeds layers")
        if (
            mmdit is not None
            and self.video is not None
            and (self.video.text_conditioning is not TextConditioning.JOINT)
        ):
            raise ValueError(f"{self.id}: video.mmdit needs text_conditioning joint")
        if self.moe is not None and self.moe.dense_layers > self.layers:
            raise ValueError(f"{self.id}: moe.dense_layers exceeds layers")
        return self

    @property
    def head_size(self) -> int:
        return self.head_dim if self.head_dim is not None else self.hidden // self.heads

    def attention_span(self, seq_len: int) -> int:
        """Tokens one query's attention ranges over in a sequence of ``seq_len`` tokens: the
        sequence, or the packed sample it belongs to (``packed_sample_tokens``)."""
        if self.packed_sample_tokens is None:
            return seq_len
        return min(seq_len, self.packed_sample_tokens)


class ShapePoint(Strict):
    """One published model of a shape family: its size and its shapes."""

    params_b: Positive
    """Published size, billions of parameters."""
    layers: PositiveInt
    hidden: PositiveInt
    ffn_hidden: PositiveInt
    heads: PositiveInt


class ShapeFamily(Record):
    """A published family of dense models whose shapes give a model of any size a shape
    (:mod:`gpuplan.studies.model_shape`): width interpolated between its members."""

    id: str
    name: str
    ffn: Ffn
    position: Position
    head_dim: PositiveInt
    kv_heads: PositiveInt
    vocab: PositiveInt
    seq_len: PositiveInt
    """The family's pretraining sequence length, in tokens."""
    width_multiple: PositiveInt
    """The width is a multiple of this (head_dim x kv_heads: whole groups of query heads)."""
    ffn_multiple: PositiveInt
    """The FFN width is rounded up to a multiple of this."""
    points: tuple[ShapePoint, ...]

    @model_validator(mode="after")
    def _points_ascend(self) -> ShapeFamily:
        sizes = [p.params_b for p in self.points]
        if len(sizes) < 2 or sizes != sorted(set(sizes)):
            raise ValueError(f"{self.id}: give at least two points, in ascending params_b")
        for p in self.points:
            if p.hidden != p.heads * self.head_dim or p.heads % self.kv_heads:
                raise ValueError(
                    f"{self.id}: point {p.params_b}B: hidden = heads x head_dim and heads a "
                    "multiple of kv_heads are assumed"
                )
        return self
