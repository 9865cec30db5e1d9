"""The scenario's schema: what a user asks gpuplan, as frozen, validated objects.

A scenario comes from a YAML file, CLI flags or a web form; all three go through
:func:`gpuplan.scenario.parse.parse_scenario`, which raises :class:`ScenarioError` naming
the field, the value and what is allowed. :func:`gpuplan.scenario.resolve.resolve` then
looks the catalog ids up and returns a ``ResolvedScenario`` in SI units.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from gpuplan import units
from gpuplan.catalog.schema import Ffn, Model, ModelKind, Norm, Position, Video
from gpuplan.catalog.schema.base import Number, Strict
from gpuplan.catalog.shapes import parameter_count
from gpuplan.errors import ScenarioError
from gpuplan.scenario.cluster import InlineCluster
from gpuplan.scenario.plan import Recompute

MAX_GPUS = 10_000_000
MAX_DAYS = 3650.0
MIN_DAYS = 0.001
"""About 86 seconds: shorter is no training run, and a vanishing length (5e-324 days)
underflows the run's compute time to zero. Tokens and samples are at least one."""
MIN_MFU = 1e-6
"""The smallest what-if MFU: below it the run's compute time overflows a float (5e-324 gave
an infinite step time); 1e-6 already means millions of years for a frontier run."""
MAX_SEQ_LEN = 100_000_000
MAX_BATCH = 100_000_000
"""Sequences per step (training.global_batch), and so per micro-batch."""
MAX_LAYERS = 1000
"""An inline model's layers, and so a plan's virtual stages per GPU and recomputed layers
(1e40 was an OverflowError traceback in the plan's arrays)."""
MAX_EXPERTS = 4096
"""An inline model's experts. Published MoE models have at most a few hundred routed experts
(DeepSeek-V3 256, Kimi K2 384); 4,096 leaves room for what-ifs while the search, which
enumerates the divisors of the experts for expert parallelism, stays bounded."""
MAX_WIDTH = 10_000_000
"""An inline model's hidden sizes and vocabulary: two orders of magnitude above any published
model (hidden 16,384 and ffn 53,248 for Llama 3 405B, vocab 256,000 for Gemma), so that every
product of them the model forms stays a finite float."""


class Precision(StrEnum):
    BF16 = "bf16"
    FP8 = "fp8"


class Objective(StrEnum):
    TIME_TO_TRAIN = "time_to_train"
    """Wall-clock time to train: step time, checkpoint writes, restarts and lost work."""
    STEP_TIME = "step_time"
    """Step time alone (failures ignored when choosing the plan)."""


class _Strict(Strict):
    """Every section of the scenario: frozen, no unknown keys, booleans only true or false."""


class InlineModel(_Strict):
    """A model written in the scenario instead of a catalog id (docs/design.md's inline form)."""

    name: str
    kind: ModelKind = ModelKind.LLM
    layers: Annotated[int, Number, Field(gt=0, le=MAX_LAYERS)]
    hidden: Annotated[int, Number, Field(gt=0, le=1_000_000)]
    heads: Annotated[int, Number, Field(gt=0, le=10_000)]
    kv_heads: Annotated[int, Number, Field(gt=0, le=10_000)] | None = None
    ffn_hidden: Annotated[int, Number, Field(gt=0, le=MAX_WIDTH)]
    ffn: Ffn = Ffn.GELU
    vocab: Annotated[int, Number, Field(ge=0, le=MAX_WIDTH)]
    seq_len: Annotated[int, Number, Field(gt=0, le=MAX_SEQ_LEN)] | None = None
    """Context length (LLMs; required). A video model's sequence is its clip's tokens."""
    head_dim: Annotated[int, Number, Field(gt=0, le=100_000)] | None = None
    norm: Norm = Norm.LAYERNORM
    tied_embeddings: bool = False
    position: Position = Position.ROPE
    dropout: bool = False
    """Trained with hidden and attention dropout (GPT-3-era models): the dropout masks add
    activation memory and traffic."""
    video: Video | None = None
    """kind video-dit: the reference clip, VAE compression, patch, text conditioning
    (cross-attention or joint, MMDiT blocks) as in the catalog's video block."""
    experts: Annotated[int, Number, Field(gt=0, le=MAX_EXPERTS)] | None = None
    top_k: Annotated[int, Number, Field(gt=0, le=MAX_EXPERTS)] | None = None
    expert_ffn_hidden: Annotated[int, Number, Field(gt=0, le=MAX_WIDTH)] | None = None

    @field_validator("kv_heads")
    @classmethod
    def _kv_heads_divide_heads(cls, kv_heads: int | None, info: ValidationInfo) -> int | None:
        heads = info.data.get("heads")
        if kv_heads is not None and heads is not None and heads % kv_heads:
            valid = ", ".join(str(d) for d in range(1, heads + 1) if heads % d == 0)
            raise ValueError(f"must divide heads = {heads}; allowed: {valid}"[:200])
        return kv_heads

    @field_validator("top_k")
    @classmethod
    def _top_k_within_experts(cls, top_k: int | None, info: ValidationInfo) -> int | None:
        experts = info.data.get("experts")
        if top_k is not None and experts is not None and top_k > experts:
            raise ValueError(f"must be <= experts = {experts} (experts routed per token)")
        return top_k

    @model_validator(mode="after")
    def _moe_fields_together(self) -> InlineModel:
        if (self.experts is None) != (self.top_k is None):
            raise ValueError("experts and top_k must be given together (or neither)")
        video = self.kind is ModelKind.VIDEO_DIT
        if video and self.video is None:
            raise ValueError("kind video-dit needs a video block (frames, height, width, ...)")
        if not video and self.video is not None:
            raise ValueError("a video block needs kind video-dit")
        if not video and self.seq_len is None:
            raise ValueError("seq_len is required for kind llm")
        return self

    def to_model(self) -> Model:
        moe = None
        if self.experts is not None and self.top_k is not None:
            moe = dict(
                experts=self.experts,
                top_k=self.top_k,
                expert_ffn_hidden=self.expert_ffn_hidden or self.ffn_hidden,
            )
        draft = dict(
            id=f"inline:{self.name}",
            name=self.name,
            kind=self.kind,
            params_published_b=1.0,
            layers=self.layers,
            hidden=self.hidden,
            heads=self.heads,
            kv_heads=self.kv_heads or self.heads,
            ffn_hidden=self.ffn_hidden,
            ffn=self.ffn,
            vocab=self.vocab,
            seq_len=self.seq_len,
            head_dim=self.head_dim,
            norm=self.norm,
            tied_embeddings=self.tied_embeddings,
            position=self.position,
            dropout=self.dropout,
            video=self.video,
            moe=moe,
            source="written inline in the scenario",
            retrieved="2000-01-01",
        )
        try:
            model = Model.model_validate(draft)
        except ValidationError as exc:  # a rule of the catalog's schema the fields above miss
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            raise ScenarioError(f"model.{where}" if where else "model", message) from None
        params_b = parameter_count(model).total / units.GIGA
        return model.model_copy(update={"params_published_b": params_b})


MAX_FRAMES = 100_000
MAX_PIXELS = 100_000


class Clip(_Strict):
    """One training clip of a video model: frames (or seconds at fps) and pixels. Latent
    tokens follow from the model's VAE compression and patch size (catalog)."""

    frames: Annotated[int, Number, Field(gt=0, le=MAX_FRAMES)] | None = None
    """Frames per clip (default: the model's reference clip; or seconds and fps)."""
    seconds: Annotated[float, Number, Field(gt=0, le=3600)] | None = None
    """Clip length in seconds (with fps, instead of frames)."""
    fps: Annotated[float, Number, Field(gt=0, le=1000)] | None = None
    """Frames per second of a clip given in seconds."""
    height: Annotated[int, Number, Field(gt=0, le=MAX_PIXELS)] | None = None
    """Clip height in pixels (default: the model's reference clip)."""
    width: Annotated[int, Number, Field(gt=0, le=MAX_PIXELS)] | None = None
    """Clip width in pixels (default: the model's reference clip)."""

    @model_validator(mode="after")
    def _frames_or_seconds(self) -> Clip:
        if self.frames is not None and self.seconds is not None:
            raise ValueError("give frames or seconds (with fps), not both")
        if (self.seconds is None) != (self.fps is None):
            raise ValueError("seconds and fps go together (frames = seconds x fps)")
        return self

    @property
    def frame_count(self) -> int | None:
        """Frames of the clip: given, or seconds x fps rounded (at least one)."""
        if self.seconds is not None and self.fps is not None:
            return max(1, round(self.seconds * self.fps))
        return self.frames


class Training(_Strict):
    global_batch: Annotated[int, Number, Field(gt=0, le=MAX_BATCH)] | None = None
    """Sequences (clips for video) per optimizer step."""
    seq_len: Annotated[int, Number, Field(gt=0, le=100_000_000)] | None = None
    """Sequence length in tokens (default: the model's)."""
    tokens: Annotated[float, Number, Field(ge=1, le=1e17)] | None = None
    """Training tokens, e.g. 15.6e12 (default: the model's published count)."""
    days: Annotated[float, Number, Field(ge=MIN_DAYS, le=MAX_DAYS)] | None = None
    """Wall-clock training days, failures included (instead of tokens)."""
    samples: Annotated[float, Number, Field(ge=1, le=1e14)] | None = None
    """Sequences or video clips seen in training (an alternative to tokens)."""
    precision: Precision = Precision.BF16
    """Training precision of the GEMMs."""
    mfu: Annotated[float, Number, Field(ge=MIN_MFU, le=1)] | None = None
    """A what-if MFU (model FLOPs over the dense BF16 peak) that replaces the performance
    model's throughput; the parallel plan is still chosen (and checked for memory)."""
    clip: Clip | None = None
    """Video models: the training clip's frames (or seconds and fps), height and width."""
    precomputed_latents: bool | None = None
    """Video models: train on precomputed VAE latents and text embeddings (default: as the
    model's paper did); false adds the VAE encoder's and text encoders' forward per clip."""
    objective: Objective = Objective.TIME_TO_TRAIN
    """What the plan search minimises: time_to_train (wall-clock, failures, checkpoints and
    restarts included) or step_time."""
    packed_sample_tokens: Annotated[int, Number, Field(gt=0, le=100_000_000)] | None = None
    """Mean tokens per sample when short samples are packed into each sequence with
    attention kept inside each sample (cu_seqlens / THD, e.g. NeMo's packed SFT): attention
    FLOPs and memory per sample (default: none, attention spans the sequence)."""

    @model_validator(mode="after")
    def _one_length(self) -> Training:
        given = [k for k in ("tokens", "days", "samples") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of tokens, days or samples, not {' and '.join(given)}")
        return self


MAX_STAGES = 16


class Stage(_Strict):
    """One stage of a staged run (video models train at low resolution first, then high):
    its clip, GPUs, batch and length; what it leaves out is the scenario's."""

    name: str | None = None
    """A label, e.g. '256px T2V'."""
    clip: Clip | None = None
    """The stage's clip (default: training.clip, else the model's reference clip)."""
    gpus: Annotated[int, Number, Field(gt=0, le=MAX_GPUS)] | None = None
    """Accelerators of this stage (default: the scenario's gpus)."""
    global_batch: Annotated[int, Number, Field(gt=0, le=MAX_BATCH)] | None = None
    """Clips per optimizer step in this stage (default: training.global_batch)."""
    samples: Annotated[float, Number, Field(ge=1, le=1e14)] | None = None
    """Clips seen in this stage."""
    steps: Annotated[float, Number, Field(ge=1, le=1e12)] | None = None
    """Optimizer steps of this stage (clips = steps x global batch)."""
    days: Annotated[float, Number, Field(ge=MIN_DAYS, le=MAX_DAYS)] | None = None
    """Wall-clock days of this stage, failures included."""

    @model_validator(mode="after")
    def _one_length(self) -> Stage:
        given = [k for k in ("samples", "steps", "days") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give one of samples, steps or days, not {given or 'none'}")
        return self


class Parallelism(_Strict):
    tp: Annotated[int, Number, Field(gt=0, le=MAX_GPUS)] | None = None
    """Tensor parallelism (fixed; searched when left out)."""
    pp: Annotated[int, Number, Field(gt=0, le=MAX_GPUS)] | None = None
    """Pipeline parallelism (fixed; searched when left out)."""
    dp: Annotated[int, Number, Field(gt=0, le=MAX_GPUS)] | None = None
    """Data parallelism (fixed; searched when left out)."""
    cp: Annotated[int, Number, Field(gt=0, le=MAX_GPUS)] | None = None
    """Context parallelism (fixed; searched when left out)."""
    ep: Annotated[int, Number, Field(gt=0, le=MAX_GPUS)] | None = None
    """Expert parallelism (fixed; searched when left out)."""
    microbatch: Annotated[int, Number, Field(gt=0, le=MAX_BATCH)] | None = None
    """Sequences per micro-batch (fixed; searched when left out)."""
    interleave: Annotated[int, Number, Field(gt=0, le=MAX_LAYERS)] | None = None
    """Virtual pipeline stages per GPU (fixed; searched when left out)."""
    recompute: Recompute | None = None
    """Activation recomputation (fixed; searched when left out)."""
    recompute_layers: Annotated[int, Number, Field(ge=0, le=MAX_LAYERS)] | None = None
    """With recompute full: the layers of each pipeline chunk that recompute, the first ones
    (Megatron-core's recompute_method block, recompute_num_layers); left out: all of them."""
    sequence_parallel: bool | None = None
    """Sequence parallelism with TP (fixed; searched when left out)."""
    zero: Annotated[int, Number, Field(ge=0, le=3)] | None = None
    """ZeRO stage 0-3 (fixed; searched when left out)."""

    @model_validator(mode="after")
    def _recompute_layers_need_full(self) -> Parallelism:
        if self.recompute_layers is not None and self.recompute not in (None, Recompute.FULL):
            raise ValueError(
                f"recompute_layers = {self.recompute_layers} needs recompute full (or left "
                f"out), not recompute {self.recompute.value}"
            )
        return self


class Site(_Strict):
    grid: str = "us-average"
    """Grid id for carbon intensity (and the default electricity price)."""
    pue: Annotated[float, Number, Field(ge=1.0, le=3.0)] | None = None
    """Power usage effectiveness, 1 to 3 (default: the catalog's typical value)."""
    power_usd_per_kwh: Annotated[float, Number, Field(gt=0, le=2.0)] | None = None
    """Electricity price, USD per kWh (default: the grid's price)."""
    households: str = "us"
    """Country whose average household is used for 'as much as N homes'."""


class Prices(_Strict):
    gpu_usd: Annotated[float, Number, Field(gt=0, le=10_000_000)] | None = None
    """Price of one accelerator, USD (default: the catalog's)."""
    cloud_usd_per_gpu_hour: Annotated[float, Number, Field(gt=0, le=1000)] | None = None
    """Cloud price per accelerator-hour, USD (default: the catalog's)."""


class Budget(_Strict):
    """A budget question: gpuplan chooses the GPU count, model size and tokens."""

    usd: Annotated[float, Number, Field(gt=0, le=1e13)] | None = None
    """Money for the run, USD at the cloud rental price (GPU-hours x price per GPU-hour)."""
    mw: Annotated[float, Number, Field(gt=0, le=100_000)] | None = None
    """Facility power available, MW (the cluster's provisioned facility power must fit)."""
    days: Annotated[float, Number, Field(ge=MIN_DAYS, le=MAX_DAYS)] | None = None
    """Wall-clock days for the run, failures included."""

    @model_validator(mode="after")
    def _something(self) -> Budget:
        if self.usd is None and self.mw is None and self.days is None:
            raise ValueError("give at least one of usd, mw or days")
        return self


class Scenario(_Strict):
    """What the user asks. Catalog ids are checked by :func:`resolve`, not here."""

    model: str | InlineModel
    """Model id (gpuplan catalog models), e.g. llama3-405b; a file may write it inline."""
    hardware: str
    """Accelerator id (gpuplan catalog accelerators), e.g. h100-sxm."""
    gpus: Annotated[int, Number, Field(gt=0, le=MAX_GPUS)]
    """Number of accelerators; commands also take a list (8,16,32) or a range
    (1024..131072: powers of two and 1.5x steps), one plan per count."""
    framework: str | None = None
    """Software stack profile id (gpuplan catalog frameworks), e.g. megatron-2022; what it
    fuses, overlaps and runs is data. Default: a current Megatron-core style stack."""
    cluster: str | InlineCluster | None = None
    """Cluster profile id (gpuplan catalog clusters), e.g. meta-roce-24k, or its fields
    inline ({id: meta-roce-24k, oversubscription: 2}); the network the run sits on.
    Default: the accelerator's reference server on a non-blocking fabric."""
    training: Training = Training()
    parallelism: Parallelism | None = None
    site: Site = Site()
    prices: Prices = Prices()
    stages: Annotated[tuple[Stage, ...], Field(min_length=1, max_length=MAX_STAGES)] | None = None
    """A staged run: each stage planned on its own, the run's totals their sum."""
