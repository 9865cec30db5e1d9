"""Schema of the catalog data files: one frozen, validated type per record kind.

Data files use human units only where the key says so (``hbm_gib``, ``tdp_w``,
``peak_bf16_dense_tflops``); the properties convert them to SI once. Every record
carries ``source`` and ``retrieved``; the loader refuses a record without them.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gpuplan import units

Positive = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]
Fraction = Annotated[float, Field(gt=0, le=1)]


class Record(BaseModel):
    """Base of every catalog record: frozen, no unknown keys, a source and a date."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(min_length=3)
    retrieved: dt.date
    notes: str = ""


# --------------------------------------------------------------------------- accelerators


class Vendor(StrEnum):
    NVIDIA = "NVIDIA"
    AMD = "AMD"
    GOOGLE = "Google"


class AcceleratorKind(StrEnum):
    GPU = "gpu"
    TPU = "tpu"


class PriceTerm(StrEnum):
    ON_DEMAND = "on-demand"
    ONE_YEAR = "1yr"
    THREE_YEAR = "3yr"
    SPOT = "spot"
    CAPACITY_BLOCK = "capacity-block"


class PurchasePrice(BaseModel):
    """One representative purchase price of the accelerator alone (no server share)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    usd: Positive
    date: str = Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$")
    basis: str
    source: str = Field(min_length=3)


class CloudPrice(BaseModel):
    """A rental price per accelerator-hour from one provider on one date."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str
    usd_per_hour: Positive
    term: PriceTerm
    date: dt.date
    source: str = Field(min_length=3)


class Accelerator(Record):
    """An AI accelerator (GPU or TPU chip) with its dense peaks, memory, links and prices."""

    id: str
    name: str
    vendor: Vendor
    kind: AcceleratorKind
    release_date: dt.date
    peak_bf16_dense_tflops: Positive
    """Dense tensor peak in BF16 (FP16 on chips without BF16), no sparsity."""
    peak_fp8_dense_tflops: Positive | None
    """Dense FP8 peak; None where the chip has no faster FP8 path."""
    hbm_gib: Positive
    hbm_tb_per_s: Positive
    scaleup_unidir_gb_per_s: Positive
    """Scale-up (NVLink, Infinity Fabric, ICI) bandwidth per chip, one direction."""
    scaleup_domain: PositiveInt
    """Chips in one scale-up domain as deployed (HGX 8, NVL72 72, TPU pod size)."""
    scaleout_unidir_gb_per_s: Positive
    """Scale-out (InfiniBand, Ethernet, DCN) bandwidth per chip, one direction."""
    tdp_w: Positive
    purchase: PurchasePrice
    cloud: tuple[CloudPrice, ...] = Field(min_length=1)
    """Rental prices; the first one is the default."""

    @model_validator(mode="after")
    def _fp8_not_below_bf16(self) -> Accelerator:
        if self.peak_fp8_dense_tflops is not None and (
            self.peak_fp8_dense_tflops < self.peak_bf16_dense_tflops
        ):
            raise ValueError(
                f"{self.id}: peak_fp8_dense_tflops {self.peak_fp8_dense_tflops} is below "
                f"peak_bf16_dense_tflops {self.peak_bf16_dense_tflops}"
            )
        return self

    @property
    def peak_bf16_flops_per_s(self) -> float:
        return units.tflops_to_flops_per_s(self.peak_bf16_dense_tflops)

    @property
    def peak_fp8_flops_per_s(self) -> float | None:
        if self.peak_fp8_dense_tflops is None:
            return None
        return units.tflops_to_flops_per_s(self.peak_fp8_dense_tflops)

    @property
    def hbm_bytes(self) -> float:
        return self.hbm_gib * units.GiB

    @property
    def hbm_bytes_per_s(self) -> float:
        return self.hbm_tb_per_s * units.TB

    @property
    def scaleup_bytes_per_s(self) -> float:
        return units.gb_per_s_to_bytes_per_s(self.scaleup_unidir_gb_per_s)

    @property
    def scaleout_bytes_per_s(self) -> float:
        return units.gb_per_s_to_bytes_per_s(self.scaleout_unidir_gb_per_s)

    @property
    def default_cloud(self) -> CloudPrice:
        return self.cloud[0]


# --------------------------------------------------------------------------- models


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


class Moe(BaseModel):
    """Mixture-of-experts layers (Mixtral, DeepSeek-V3)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    experts: PositiveInt
    top_k: PositiveInt
    shared_experts: Annotated[int, Field(ge=0)] = 0
    expert_ffn_hidden: PositiveInt
    dense_layers: Annotated[int, Field(ge=0)] = 0
    """Leading layers with a dense MLP of size ``ffn_hidden`` instead of experts."""

    @model_validator(mode="after")
    def _top_k_within_experts(self) -> Moe:
        if self.top_k > self.experts:
            raise ValueError(f"moe.top_k = {self.top_k} exceeds moe.experts = {self.experts}")
        return self


class Mla(BaseModel):
    """DeepSeek multi-head latent attention (DeepSeek-V2/V3)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    q_lora_rank: PositiveInt
    kv_lora_rank: PositiveInt
    qk_nope_head_dim: PositiveInt
    qk_rope_head_dim: PositiveInt
    v_head_dim: PositiveInt


class Video(BaseModel):
    """How a video diffusion transformer turns a clip into tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    frames: PositiveInt
    height: PositiveInt
    width: PositiveInt
    vae_temporal: PositiveInt
    vae_spatial: PositiveInt
    latent_channels: PositiveInt
    patch_t: PositiveInt = 1
    patch_h: PositiveInt = 2
    patch_w: PositiveInt = 2
    text_tokens: Annotated[int, Field(ge=0)]
    text_conditioning: TextConditioning
    text_encoder_params_b: Annotated[float, Field(ge=0)] = 0.0
    latent_tokens_published: PositiveInt | None = None


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
    training_tokens_published: Positive | None = None
    training_flops_published: Positive | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Model:
        if self.heads % self.kv_heads:
            raise ValueError(
                f"{self.id}: heads = {self.heads} is not a multiple of kv_heads = {self.kv_heads}"
            )
        if self.kind is ModelKind.VIDEO_DIT and self.video is None:
            raise ValueError(f"{self.id}: kind video-dit needs a video block")
        if self.kind is ModelKind.LLM and self.video is not None:
            raise ValueError(f"{self.id}: a video block needs kind video-dit")
        if self.moe is not None and self.moe.dense_layers > self.layers:
            raise ValueError(f"{self.id}: moe.dense_layers exceeds layers")
        return self

    @property
    def head_size(self) -> int:
        return self.head_dim if self.head_dim is not None else self.hidden // self.heads


# --------------------------------------------------------------------------- sites


class Grid(Record):
    id: str
    name: str
    kgco2e_per_kwh: Annotated[float, Field(ge=0, le=2)]
    year: int


class ElectricityPrice(Record):
    id: str
    usd_per_kwh: Annotated[float, Field(gt=0, le=2)]
    year: int
    basis: str


class Household(Record):
    id: str
    name: str
    kwh_per_year: Annotated[float, Field(gt=100, le=50_000)]
    year: int


class Pue(Record):
    id: str
    value: Annotated[float, Field(ge=1, le=3)]


# --------------------------------------------------------------------------- systems


class SystemParameter(Record):
    """A cost or power factor of the system around the chip, with per-chip overrides.

    Example: the ratio of server power to chip TDP is 1.82 for a DGX H100 and 1.56 for
    TPU hosts; ``value`` is the default for chips without an override.
    """

    id: str
    value: float
    unit: str
    by_accelerator: dict[str, float] = Field(default_factory=dict)

    def for_accelerator(self, accelerator_id: str) -> float:
        return self.by_accelerator.get(accelerator_id, self.value)


# --------------------------------------------------------------------------- scaling laws


class ScalingLawForm(StrEnum):
    CHINCHILLA = "chinchilla"
    """L(N, D) = E + A / N^alpha + B / D^beta (Hoffmann et al. 2022, eq. 2)."""
    KAPLAN = "kaplan"
    """L(N, D) = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D (Kaplan et al. 2020, eq. 1.5)."""


class ScalingLaw(Record):
    """A fitted loss law L(N, D) over parameters N and training tokens D."""

    id: str
    name: str
    form: ScalingLawForm
    e: Annotated[float, Field(ge=0)] = 0.0
    a: Positive
    b: Positive
    alpha: Positive
    beta: Positive
    params_counted: str
    """Which parameters N counts (all, or non-embedding)."""
    data_domain: str
    default: bool = False

    @field_validator("alpha", "beta")
    @classmethod
    def _exponent_below_one(cls, value: float) -> float:
        if value >= 1:
            raise ValueError(f"exponent {value} must be below 1")
        return value


# --------------------------------------------------------------------------- seed clusters


class SeedCluster(Record):
    """A cluster named in the article that started gpuplan (shared/seed)."""

    id: str
    label: str
    claim: str
    hardware: str
    gpus: PositiveInt
    year: int


# --------------------------------------------------------------------------- efficiency


class EfficiencyProfile(Record):
    """How close one accelerator's kernels and links get to their peaks.

    Fractions of the datasheet peak: ``gemm_bf16`` is the Maximum Achievable Matmul FLOPS
    (a brute-force search over GEMM shapes) over the dense peak; ``attention`` is the
    fused (flash) attention kernel's forward+backward rate over the peak.
    """

    id: str
    """The accelerator id this profile describes."""
    gemm_bf16: Fraction
    gemm_fp8: Fraction | None = None
    attention: Fraction
    attention_triton: Fraction | None = None
    """The same for the 2022-23 Triton flash-attention kernel, where known."""
    sustained: Fraction
    """Tensor throughput under sustained training load / short-burst throughput: a chip at
    its power limit lowers its clock (MSMF / MAMF where measured)."""
    hbm: Fraction
    """Achieved / peak HBM bandwidth for streaming (elementwise) kernels."""
    compute_units: PositiveInt | None = None
    """Streaming multiprocessors (CUs on AMD) that GEMM tiles are spread over; None where
    tiling does not apply (TPU systolic arrays), which turns off the wave model."""
    scaleup_bus: Fraction
    """Collective bus bandwidth achieved / scale-up link bandwidth (NCCL busbw)."""
    scaleout_bus: Fraction
    kernel_launch_us: Annotated[float, Field(ge=0, le=100)]
    """Fixed cost per kernel (launch and tail), microseconds."""
    scaleup_latency_us: Annotated[float, Field(ge=0, le=1000)]
    """Latency per step of a collective inside the scale-up domain."""
    scaleout_latency_us: Annotated[float, Field(ge=0, le=1000)]


class AttentionKernel(StrEnum):
    FLASH = "flash"
    """Fused attention (FlashAttention-2/3, cuDNN): no s x s matrix in memory."""
    TRITON = "triton"
    """The 2022-23 Triton flash-attention kernel (ALiBi-capable; MPT): fused, but slower."""
    UNFUSED = "unfused"
    """Batched GEMMs around a fused scale-mask-softmax kernel (Megatron-LM before 2023)."""


class Framework(Record):
    """What a training framework overlaps and fuses: software facts, with their source."""

    id: str
    name: str
    attention: AttentionKernel
    overlap_grad_reduce: bool
    """Data-parallel gradient reduction overlapped with the backward pass."""
    overlap_param_gather: bool
    """ZeRO/FSDP parameter all-gathers prefetched under compute."""
    tp_comm_overlap: Annotated[float, Field(ge=0, le=1)]
    """Fraction of tensor-parallel communication hidden under GEMMs."""
    grad_bytes: Annotated[int, Field(ge=2, le=4)]
    """Bytes per gradient element kept and reduced (4: fp32 main grads)."""
    default_sequence_parallel: bool
    default_recompute: str
    default_zero: Annotated[int, Field(ge=0, le=3)]


# --------------------------------------------------------------------------- measurements


class InlineShape(BaseModel):
    """A model shape given inline in a measurement, when no catalog model matches it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    layers: PositiveInt
    hidden: PositiveInt
    heads: PositiveInt
    kv_heads: PositiveInt
    ffn_hidden: PositiveInt
    ffn: Ffn
    vocab: PositiveInt | None


class MeasuredPlan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tp: PositiveInt | None
    pp: PositiveInt | None
    dp: PositiveInt | None
    cp: PositiveInt | None = 1
    ep: PositiveInt | None = 1
    microbatch: PositiveInt | None
    interleave: PositiveInt | None
    recompute: str | None
    sequence_parallel: bool | None
    zero: Annotated[int, Field(ge=0, le=3)] | None


class Measured(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    iteration_time_s: Positive | None = None
    tokens_per_s_per_gpu: Positive | None = None
    tflops_per_gpu: Positive | None = None
    mfu_pct: Annotated[float, Field(gt=0, le=100)] | None = None
    hfu_pct: Annotated[float, Field(gt=0, le=100)] | None = None


class Measurement(Record):
    """A published measurement of training throughput on a known configuration."""

    id: str
    provenance: str
    confidence: str
    framework: str
    model: str | InlineShape | None
    hardware: str | None
    gpus: PositiveInt | None
    global_batch: PositiveInt | None
    seq_len: PositiveInt | None
    plan: MeasuredPlan | None
    precision: str | None
    measured: Measured
    tflops_definition: str | None
    peak_tflops_basis: Positive | None
    usable_for_validation: bool


class ValidationTarget(Record):
    """An accuracy target for `gpuplan validate`, and where the bar comes from."""

    id: str
    description: str
    source_groups: tuple[str, ...] = ()
    """Rows from these sources; empty means every source except ``exclude_groups``."""
    exclude_groups: tuple[str, ...] = ()
    row_ids: tuple[str, ...] = ()
    """Exactly these rows, when given."""
    mean_abs_max: Fraction | None = None
    median_abs_max: Fraction | None = None
    p90_abs_max: Fraction | None = None
    max_abs_max: Fraction | None = None


# --------------------------------------------------------------------------- training runs


class RunDomain(StrEnum):
    LANGUAGE = "language"
    MULTIMODAL = "multimodal"
    IMAGE_GENERATION = "image-generation"
    VIDEO_GENERATION = "video-generation"
    GAMES = "games"
    VISION = "vision"
    SCIENCE = "science"
    SPEECH = "speech"


class FlopsBasis(StrEnum):
    PUBLISHED = "published"
    """Stated by the developers (paper, report, blog, logbook)."""
    EPOCH_ESTIMATE = "epoch-estimate"
    """Epoch AI's estimate; the record's notes say how."""
    DERIVED_6ND = "derived-6nd"
    """6 x (active) parameters x tokens; the arithmetic is in the notes."""
    OTHER = "other"
    """See the notes; used with ``training_flops: null`` when no figure exists."""


class Run(Record):
    """A published training run (runs.yaml): what it cost in compute, chips, days and dollars.

    Human units only where the key says so (``days``, ``gpu_hours``); ``training_flops`` is
    the total compute of the final run in FLOP (not FLOP/s).
    """

    id: str
    name: str
    organization: str
    date: dt.date
    """Publication or announcement date (as Epoch AI records it unless the notes say)."""
    domain: RunDomain
    params: Positive | None
    """Total parameters."""
    active_params: Positive | None
    """Parameters used per token (mixture-of-experts models); None for dense ones."""
    tokens: Positive | None
    training_flops: Positive | None
    flops_basis: FlopsBasis
    accelerator: str | None
    """gpuplan accelerator id, when the chip is in the catalog."""
    accelerator_name: str | None
    """The chip as published."""
    accelerator_count: PositiveInt | None
    days: Positive | None
    gpu_hours: Positive | None
    cost_usd: Positive | None
    cost_basis: str = ""
    frontier: bool
    """Epoch AI's 'Frontier model' flag, or compute rank <= 10 when published."""

    @model_validator(mode="after")
    def _consistent(self) -> Run:
        if (
            self.active_params is not None
            and self.params is not None
            and self.active_params > self.params
        ):
            raise ValueError(
                f"{self.id}: active_params {self.active_params} exceeds params {self.params}"
            )
        if self.cost_usd is not None and not self.cost_basis.strip():
            raise ValueError(f"{self.id}: cost_usd needs a cost_basis saying where it is from")
        return self

    @property
    def duration_s(self) -> float | None:
        return None if self.days is None else self.days * units.DAY_S


# --------------------------------------------------------------------------- trends


class TrendQuantity(StrEnum):
    TRAINING_COMPUTE = "training-compute"
    TRAINING_COST = "training-cost"
    TRAINING_POWER = "training-power"
    TRAINING_DURATION = "training-duration"
    HARDWARE_PRICE_PERFORMANCE = "hardware-price-performance"
    """Peak FLOP/s per US dollar of hardware."""
    HARDWARE_ENERGY_EFFICIENCY = "hardware-energy-efficiency"
    """Peak FLOP/s per watt."""
    ALGORITHMIC_EFFICIENCY = "algorithmic-efficiency"
    """Physical compute needed for a fixed result, inverted: the effective-compute multiplier."""
    SUPERCOMPUTER_PERFORMANCE = "supercomputer-performance"
    SUPERCOMPUTER_COST = "supercomputer-cost"
    SUPERCOMPUTER_POWER = "supercomputer-power"


class RateForm(StrEnum):
    """How a source printed a growth rate; the record keeps the figure as printed."""

    TIMES_PER_YEAR = "x-per-year"
    DOUBLING_MONTHS = "doubling-months"
    DOUBLING_YEARS = "doubling-years"
    OOMS_PER_YEAR = "ooms-per-year"
    """Orders of magnitude (powers of ten) per year."""


class Trend(Record):
    """A published growth rate of one quantity over a period (trends.yaml).

    ``central``, ``low`` and ``high`` are the figures as printed, in the form ``form`` says;
    :attr:`growth_per_year` and :attr:`growth_per_year_range` convert them once.
    """

    id: str
    name: str
    quantity: TrendQuantity
    form: RateForm
    central: Positive
    low: Positive | None = None
    high: Positive | None = None
    interval_level: Fraction | None = None
    """Confidence level of [low, high]; None when the source gives a range, not a CI."""
    start_year: Annotated[float, Field(ge=1950, le=2100)]
    end_year: Annotated[float, Field(ge=1950, le=2100)]
    secondary: bool = False
    """True when the figure is quoted from a secondary source."""
    default: bool = False
    """The rate gpuplan uses for this quantity unless told otherwise (one per quantity)."""

    @model_validator(mode="after")
    def _ordered(self) -> Trend:
        if (self.low is None) != (self.high is None):
            raise ValueError(f"{self.id}: give both low and high, or neither")
        if (
            self.low is not None
            and self.high is not None
            and not self.low <= self.central <= self.high
        ):
            raise ValueError(f"{self.id}: need low <= central <= high")
        if self.end_year < self.start_year:
            raise ValueError(f"{self.id}: end_year is before start_year")
        return self

    def _to_growth(self, value: float) -> float:
        if self.form is RateForm.TIMES_PER_YEAR:
            return value
        if self.form is RateForm.OOMS_PER_YEAR:
            return float(10.0**value)
        months = value if self.form is RateForm.DOUBLING_MONTHS else value * 12.0
        return float(2.0 ** (12.0 / months))

    @property
    def growth_per_year(self) -> float:
        """Multiplicative growth per year (x/yr) of the central figure."""
        return self._to_growth(self.central)

    @property
    def growth_per_year_range(self) -> tuple[float, float] | None:
        """(low, high) growth per year; a long doubling time is the low end."""
        if self.low is None or self.high is None:
            return None
        ends = sorted((self._to_growth(self.low), self._to_growth(self.high)))
        return ends[0], ends[1]


# --------------------------------------------------------------------------- reliability


class FailureMetric(StrEnum):
    """How a source states its failure rate; each converts once to failures per GPU-hour."""

    JOB_INTERRUPTIONS = "job-interruptions"
    """Interruptions counted on one job: ``interruptions`` over ``gpus`` x ``duration_days``."""
    NODE_FAILURE_RATE = "node-failure-rate"
    """Failures per 1000 node-days across a cluster (Kokolis et al. 2024, r_f)."""
    JOB_MTTF = "job-mttf"
    """Measured mean time to failure of jobs of ``gpus`` GPUs."""


class Confidence(StrEnum):
    HIGH = "high"
    """Read from the primary source."""
    MEDIUM = "medium"
    """A secondary quote that agrees with other sources."""
    LOW = "low"
    """A single secondary source, or a count read from prose ("roughly weekly")."""


class FailureRate(Record):
    """A published rate of job-stopping failures of GPUs in large training jobs.

    The rate is stored as published (a count over a window, a rate per node-day, or a
    job MTTF) and converted once, by :attr:`failures_per_gpu_hour`.
    """

    id: str
    name: str
    hardware: str
    """The accelerator as published (free text; not necessarily a catalog id)."""
    metric: FailureMetric
    gpus: PositiveInt | None = None
    """GPUs in the job (JOB_INTERRUPTIONS, JOB_MTTF)."""
    gpus_per_node: PositiveInt = 8
    duration_days: Positive | None = None
    interruptions: PositiveInt | None = None
    """Job interruptions counted in ``duration_days``."""
    failures_per_1000_node_days: Positive | None = None
    mttf_hours: Positive | None = None
    provenance: str
    confidence: Confidence
    default: bool = False
    """The rate gpuplan uses unless told otherwise; exactly one record has it."""

    @model_validator(mode="after")
    def _has_its_fields(self) -> FailureRate:
        needs = {
            FailureMetric.JOB_INTERRUPTIONS: ("gpus", "duration_days", "interruptions"),
            FailureMetric.NODE_FAILURE_RATE: ("failures_per_1000_node_days",),
            FailureMetric.JOB_MTTF: ("gpus", "mttf_hours"),
        }[self.metric]
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.id}: metric {self.metric.value} needs {', '.join(missing)}")
        return self

    @property
    def failures_per_gpu_hour(self) -> float:
        """Job-stopping failures per GPU-hour, assuming they scale with GPU count."""
        if self.metric is FailureMetric.JOB_INTERRUPTIONS:
            assert self.interruptions and self.gpus and self.duration_days
            return self.interruptions / (self.gpus * self.duration_days * 24.0)
        if self.metric is FailureMetric.NODE_FAILURE_RATE:
            assert self.failures_per_1000_node_days
            return self.failures_per_1000_node_days / 1000.0 / (self.gpus_per_node * 24.0)
        assert self.mttf_hours and self.gpus
        return 1.0 / (self.mttf_hours * self.gpus)

    @property
    def failures_per_gpu_s(self) -> float:
        return self.failures_per_gpu_hour / units.HOUR_S


class ReliabilityParameterId(StrEnum):
    """The checkpoint and restart defaults the reliability model reads from the catalog."""

    CHECKPOINT_BYTES_PER_PARAM = "checkpoint_bytes_per_param"
    CHECKPOINT_WRITE_GB_PER_S_PER_GPU = "checkpoint_write_gb_per_s_per_gpu"
    STORAGE_WRITE_TB_PER_S = "storage_write_tb_per_s"
    RESTART_RELAUNCH_S = "restart_relaunch_s"


class ReliabilityParameter(Record):
    """One default of the checkpoint/restart model; the id carries its unit."""

    id: ReliabilityParameterId
    value: Positive
    unit: str
    assumption: bool
    """True where no measurement backs the value: reports list it as an assumption."""
