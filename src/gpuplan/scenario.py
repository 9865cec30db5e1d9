"""The scenario: what a user asks gpuplan, parsed once into frozen, validated objects.

A scenario comes from a YAML file, CLI flags or a web form; all three go through
:func:`parse_scenario`, which raises :class:`ScenarioError` naming the field, the value and
what is allowed. :func:`resolve` then looks the catalog ids up (unknown ids get the
nearest known ones) and returns a :class:`ResolvedScenario` in SI units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gpuplan import units
from gpuplan.catalog.loader import Catalog, unknown_id_message
from gpuplan.catalog.schema import (
    Accelerator,
    ElectricityPrice,
    Ffn,
    Grid,
    Household,
    Model,
    ModelKind,
    Moe,
    Position,
)
from gpuplan.errors import CatalogError, ScenarioError
from gpuplan.model.flops import Recompute, parameter_count, sequence_length

MAX_GPUS = 10_000_000
MAX_DAYS = 3650.0


class Precision(StrEnum):
    BF16 = "bf16"
    FP8 = "fp8"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InlineModel(_Strict):
    """A model written in the scenario instead of a catalog id (DESIGN.md's inline form)."""

    name: str
    kind: ModelKind = ModelKind.LLM
    layers: Annotated[int, Field(gt=0, le=1000)]
    hidden: Annotated[int, Field(gt=0, le=1_000_000)]
    heads: Annotated[int, Field(gt=0, le=10_000)]
    kv_heads: Annotated[int, Field(gt=0, le=10_000)] | None = None
    ffn_hidden: Annotated[int, Field(gt=0)]
    ffn: Ffn = Ffn.GELU
    vocab: Annotated[int, Field(ge=0)]
    seq_len: Annotated[int, Field(gt=0)]
    tied_embeddings: bool = False
    position: Position = Position.ROPE
    experts: Annotated[int, Field(gt=0)] | None = None
    top_k: Annotated[int, Field(gt=0)] | None = None
    expert_ffn_hidden: Annotated[int, Field(gt=0)] | None = None

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
            moe = Moe(
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
        model = Model.model_validate(draft)
        params_b = parameter_count(model).total / units.GIGA
        return model.model_copy(update={"params_published_b": params_b})


class Training(_Strict):
    global_batch: Annotated[int, Field(gt=0, le=100_000_000)] | None = None
    """Sequences (clips for video) per optimizer step."""
    seq_len: Annotated[int, Field(gt=0, le=100_000_000)] | None = None
    tokens: Annotated[float, Field(gt=0, le=1e17)] | None = None
    days: Annotated[float, Field(gt=0, le=MAX_DAYS)] | None = None
    samples: Annotated[float, Field(gt=0, le=1e14)] | None = None
    """Sequences or video clips seen in training (an alternative to tokens)."""
    precision: Precision = Precision.BF16
    mfu: Annotated[float, Field(gt=0, le=1)] | None = None
    """Model FLOPs utilisation to assume; default: the catalog's typical_mfu."""

    @model_validator(mode="after")
    def _one_length(self) -> Training:
        given = [k for k in ("tokens", "days", "samples") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of tokens, days or samples, not {' and '.join(given)}")
        return self


class Parallelism(_Strict):
    tp: Annotated[int, Field(gt=0)] | None = None
    pp: Annotated[int, Field(gt=0)] | None = None
    dp: Annotated[int, Field(gt=0)] | None = None
    cp: Annotated[int, Field(gt=0)] | None = None
    ep: Annotated[int, Field(gt=0)] | None = None
    microbatch: Annotated[int, Field(gt=0)] | None = None
    interleave: Annotated[int, Field(gt=0)] | None = None
    recompute: Recompute | None = None
    sequence_parallel: bool | None = None
    zero: Annotated[int, Field(ge=0, le=3)] | None = None


class Site(_Strict):
    grid: str = "us-average"
    """Grid id for carbon intensity (and the default electricity price)."""
    pue: Annotated[float, Field(ge=1.0, le=3.0)] | None = None
    power_usd_per_kwh: Annotated[float, Field(gt=0, le=2.0)] | None = None
    households: str = "us"
    """Country whose average household is used for 'as much as N homes'."""


class Prices(_Strict):
    gpu_usd: Annotated[float, Field(gt=0, le=10_000_000)] | None = None
    cloud_usd_per_gpu_hour: Annotated[float, Field(gt=0, le=1000)] | None = None


class Scenario(_Strict):
    """What the user asks. Catalog ids are checked by :func:`resolve`, not here."""

    model: str | InlineModel
    hardware: str
    gpus: Annotated[int, Field(gt=0, le=MAX_GPUS)]
    training: Training = Training()
    parallelism: Parallelism | None = None
    site: Site = Site()
    prices: Prices = Prices()


# --------------------------------------------------------------------------- parsing

_ALLOWED_HINTS = {
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
}


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _ALLOWED_HINTS:
        return _ALLOWED_HINTS[kind].format(**ctx)
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see DESIGN.md for the scenario keys)"
    if kind == "missing":
        return "required"
    if kind == "enum":
        return f"allowed: {ctx.get('expected', '')}"
    return str(error["msg"]).removeprefix("Value error, ")


def parse_scenario(data: Mapping[str, Any]) -> Scenario:
    """Validate a scenario mapping. Raises ScenarioError naming the first bad field."""
    if not isinstance(data, Mapping):
        raise ScenarioError("", f"a scenario must be a mapping, got {type(data).__name__}")
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        errors = exc.errors()
        # For `model: str | InlineModel`, pydantic reports both union branches; keep the
        # branch that matches what the user wrote.
        relevant = [e for e in errors if not (e["type"] == "string_type" and "str" in e["loc"])]
        error = (relevant or errors)[0]
        # pydantic puts union branch names ("str", "function-after[...]") in the location.
        loc = [
            str(p) for p in error["loc"] if p not in ("str", "InlineModel") and "[" not in str(p)
        ]
        field = ".".join(loc)
        value = error.get("input")
        shown = "" if error["type"] in ("missing", "extra_forbidden") else f" = {value!r}"
        raise ScenarioError(field + shown, _describe(error)) from None


def read_yaml_file(path: Path, field: str) -> Any:
    """A user's YAML file (scenario, claims, sweep), or a ScenarioError naming ``field``."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ScenarioError(field, f"cannot read {path}: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(field, f"{path} is not valid YAML: {exc}") from None


def load_scenario_file(path: Path) -> dict[str, Any]:
    """Read a YAML scenario file into a plain mapping (validated by parse_scenario)."""
    data = read_yaml_file(path, "scenario")
    if not isinstance(data, dict):
        raise ScenarioError("scenario", f"{path} must hold a YAML mapping")
    return data


# --------------------------------------------------------------------------- resolving


@dataclass(frozen=True)
class ResolvedScenario:
    """A scenario with its catalog records looked up and every value in SI units."""

    scenario: Scenario
    model: Model
    accelerator: Accelerator
    gpus: int
    seq_len: int
    global_batch: int | None
    precision: Precision
    peak_flops_per_s: float
    """Dense peak of one accelerator at the training precision."""
    tokens: float | None
    duration_s: float | None
    mfu: float
    mfu_is_assumed: bool
    gpu_price_usd: float
    cloud_usd_per_gpu_hour: float
    cloud_price_basis: str
    grid: Grid
    pue: float
    pue_basis: str
    electricity: ElectricityPrice | None
    power_usd_per_kwh: float
    household: Household


def _catalog_id(catalog_table: Mapping[str, Any], value: str, kind: str, field: str) -> None:
    if value not in catalog_table:
        raise ScenarioError(field, unknown_id_message(kind, value, list(catalog_table)))


def resolve(scenario: Scenario, catalog: Catalog) -> ResolvedScenario:
    """Look up catalog ids and fill defaults from the catalog (each default is sourced)."""
    if isinstance(scenario.model, InlineModel):
        model = scenario.model.to_model()
    else:
        _catalog_id(catalog.models, scenario.model, "model", "model")
        model = catalog.model(scenario.model)
    _catalog_id(catalog.accelerators, scenario.hardware, "accelerator", "hardware")
    accelerator = catalog.accelerator(scenario.hardware)
    training = scenario.training
    site = scenario.site
    _catalog_id(catalog.grids, site.grid, "grid", "site.grid")
    _catalog_id(catalog.households, site.households, "household country", "site.households")

    if training.precision is Precision.FP8:
        peak = accelerator.peak_fp8_flops_per_s
        if peak is None:
            raise ScenarioError(
                "training.precision = 'fp8'",
                f"{accelerator.id} has no FP8 tensor path; allowed: bf16",
            )
    else:
        peak = accelerator.peak_bf16_flops_per_s

    seq_len = training.seq_len or sequence_length(model)
    tokens = training.tokens
    if training.samples is not None:
        tokens = training.samples * seq_len
    duration_s = training.days * units.DAY_S if training.days is not None else None
    if tokens is None and duration_s is None:
        tokens = model.training_tokens_published
        if tokens is None:
            raise ScenarioError(
                "training",
                f"give training.tokens, training.days or training.samples "
                f"({model.id} has no published token count to default to)",
            )

    mfu = training.mfu
    mfu_is_assumed = mfu is None
    if mfu is None:
        mfu = catalog.system("typical_mfu").for_accelerator(accelerator.id)

    electricity: ElectricityPrice | None = catalog.electricity_prices.get(site.grid)
    if site.power_usd_per_kwh is not None:
        power_price = site.power_usd_per_kwh
    elif electricity is not None:
        power_price = electricity.usd_per_kwh
    else:
        raise ScenarioError(
            "site.power_usd_per_kwh",
            f"required: the catalog has no electricity price for grid '{site.grid}' "
            f"(it has: {', '.join(sorted(catalog.electricity_prices))})",
        )
    if site.pue is not None:
        pue, pue_basis = site.pue, "given in the scenario"
    else:
        default = catalog.pue["typical"]
        pue, pue_basis = default.value, f"catalog default '{default.id}' ({default.source})"

    cloud = accelerator.default_cloud
    if scenario.prices.cloud_usd_per_gpu_hour is not None:
        cloud_price, cloud_basis = scenario.prices.cloud_usd_per_gpu_hour, "given in the scenario"
    else:
        cloud_price = cloud.usd_per_hour
        cloud_basis = f"{cloud.provider} {cloud.term.value}, {cloud.date.isoformat()}"

    try:
        household = catalog.household(site.households)
    except CatalogError as exc:  # pragma: no cover - checked above
        raise ScenarioError("site.households", str(exc)) from None

    return ResolvedScenario(
        scenario=scenario,
        model=model,
        accelerator=accelerator,
        gpus=scenario.gpus,
        seq_len=seq_len,
        global_batch=training.global_batch,
        precision=training.precision,
        peak_flops_per_s=peak,
        tokens=tokens,
        duration_s=duration_s,
        mfu=mfu,
        mfu_is_assumed=mfu_is_assumed,
        gpu_price_usd=scenario.prices.gpu_usd or accelerator.purchase.usd,
        cloud_usd_per_gpu_hour=cloud_price,
        cloud_price_basis=cloud_basis,
        grid=catalog.grid(site.grid),
        pue=pue,
        pue_basis=pue_basis,
        electricity=electricity,
        power_usd_per_kwh=power_price,
        household=household,
    )
