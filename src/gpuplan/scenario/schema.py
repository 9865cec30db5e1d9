"""The scenario's schema: what a user asks gpuplan, as frozen, validated objects.

A scenario comes from a YAML file, CLI flags or a web form; all three go through
:func:`gpuplan.scenario.parse.parse_scenario`, which raises :class:`ScenarioError` naming
the field, the value and what is allowed. :func:`gpuplan.scenario.resolve.resolve` then
looks the catalog ids up and returns a ``ResolvedScenario`` in SI units.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from gpuplan import units
from gpuplan.catalog.schema import Ffn, Model, ModelKind, Position
from gpuplan.catalog.shapes import parameter_count
from gpuplan.errors import ScenarioError
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
MAX_EXPERTS = 4096
"""An inline model's experts. Published MoE models have at most a few hundred routed experts
(DeepSeek-V3 256, Kimi K2 384); 4,096 leaves room for what-ifs while the search, which
enumerates the divisors of the experts for expert parallelism, stays bounded."""
MAX_WIDTH = 10_000_000
"""An inline model's hidden sizes and vocabulary: two orders of magnitude above any published
model (hidden 16,384 and ffn 53,248 for Llama 3 405B, vocab 256,000 for Gemma), so that every
product of them the model forms stays a finite float."""


def _number(value: Any) -> Any:
    """Booleans are not numbers (pydantic would read YAML or JSON ``true`` as 1), and NaN or
    infinity is no quantity (NaN fails every bound with a misleading message)."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not the boolean {str(value).lower()}")
    if isinstance(value, str):  # CLI flags and web forms send '--mfu nan' as text
        try:
            parsed = float(value)
        except ValueError:
            return value  # pydantic says it is not a number
        if not math.isfinite(parsed):
            raise ValueError("must be a finite number")
        if "e" not in value.lower():
            return value
        value = parsed  # YAML 1.1 reads 1e13 (no dot) as text; it is a number
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        if abs(value) >= 2**53:  # whole; as an int, 1e30 meets the field's bound, not an
            return int(value)  # obscure 'exceeded maximum size' of pydantic's int parsing
    return value


Number = BeforeValidator(_number)
"""In every numeric field of the scenario: refuses booleans, NaN and infinity by name."""


class Precision(StrEnum):
    BF16 = "bf16"
    FP8 = "fp8"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class InlineModel(_Strict):
    """A model written in the scenario instead of a catalog id (docs/design.md's inline form)."""

    name: str
    kind: ModelKind = ModelKind.LLM
    layers: Annotated[int, Number, Field(gt=0, le=1000)]
    hidden: Annotated[int, Number, Field(gt=0, le=1_000_000)]
    heads: Annotated[int, Number, Field(gt=0, le=10_000)]
    kv_heads: Annotated[int, Number, Field(gt=0, le=10_000)] | None = None
    ffn_hidden: Annotated[int, Number, Field(gt=0, le=MAX_WIDTH)]
    ffn: Ffn = Ffn.GELU
    vocab: Annotated[int, Number, Field(ge=0, le=MAX_WIDTH)]
    seq_len: Annotated[int, Number, Field(gt=0, le=MAX_SEQ_LEN)]
    tied_embeddings: bool = False
    position: Position = Position.ROPE
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
        if self.kind is ModelKind.VIDEO_DIT:
            raise ValueError("inline video-dit models are not supported yet; use a catalog id")
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
            tied_embeddings=self.tied_embeddings,
            position=self.position,
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


class Training(_Strict):
    global_batch: Annotated[int, Number, Field(gt=0, le=100_000_000)] | None = None
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

    @model_validator(mode="after")
    def _one_length(self) -> Training:
        given = [k for k in ("tokens", "days", "samples") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of tokens, days or samples, not {' and '.join(given)}")
        return self


class Parallelism(_Strict):
    tp: Annotated[int, Number, Field(gt=0)] | None = None
    """Tensor parallelism (fixed; searched when left out)."""
    pp: Annotated[int, Number, Field(gt=0)] | None = None
    """Pipeline parallelism (fixed; searched when left out)."""
    dp: Annotated[int, Number, Field(gt=0)] | None = None
    """Data parallelism (fixed; searched when left out)."""
    cp: Annotated[int, Number, Field(gt=0)] | None = None
    """Context parallelism (fixed; searched when left out)."""
    ep: Annotated[int, Number, Field(gt=0)] | None = None
    """Expert parallelism (fixed; searched when left out)."""
    microbatch: Annotated[int, Number, Field(gt=0)] | None = None
    """Sequences per micro-batch (fixed; searched when left out)."""
    interleave: Annotated[int, Number, Field(gt=0)] | None = None
    """Virtual pipeline stages per GPU (fixed; searched when left out)."""
    recompute: Recompute | None = None
    """Activation recomputation (fixed; searched when left out)."""
    sequence_parallel: bool | None = None
    """Sequence parallelism with TP (fixed; searched when left out)."""
    zero: Annotated[int, Number, Field(ge=0, le=3)] | None = None
    """ZeRO stage 0-3 (fixed; searched when left out)."""


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
    training: Training = Training()
    parallelism: Parallelism | None = None
    site: Site = Site()
    prices: Prices = Prices()
