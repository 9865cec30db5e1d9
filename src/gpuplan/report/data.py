"""A saved plan result (``gpuplan plan --json``), read back for reports without recomputing.

The stable JSON keys of docs/design.md are validated once, here, into frozen objects; the HTML
report and the web planner draw from these, so a report renders the same from a live
:class:`gpuplan.planning.run.PlanResult` (through ``to_dict()``) as from a file saved last month.
Extra keys are kept (``extra="allow"``): newer versions may add keys, and a report only
needs the ones named below. Values that are ``null`` in the JSON (not modelled, or the plan
does not fit) stay ``None``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from gpuplan.errors import ScenarioError
from gpuplan.scenario.files import read_json


class _Loose(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


Finite = Annotated[float, Field(allow_inf_nan=False)]
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]
"""A time, count, size, power, energy, emission or cost: what ``plan --json`` writes is never
negative, NaN or infinite; an edited file with ``days: -5``, ``cloud_usd: -100`` or ``mfu:
NaN`` was rendered as given."""
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
"""A share of a whole (goodput; MFU of the training precision's own peak, which no chip
exceeds: ``mfu_vs_precision_peak: 7`` was shown as 700%)."""


class MemoryBreakdown(_Loose):
    weights_bytes: Amount | None = None
    grads_bytes: Amount | None = None
    optimizer_bytes: Amount | None = None
    activations_bytes: Amount | None = None
    overhead_bytes: Amount | None = None


class MemoryData(_Loose):
    per_gpu_bytes: Amount | None = None
    capacity_bytes: Amount
    breakdown: MemoryBreakdown = MemoryBreakdown()


class ModelData(_Loose):
    id: str
    params: Amount
    active_params: Amount | None = None


class StepData(_Loose):
    time_s: Amount | None = None
    compute_s: Amount | None = None
    recompute_s: Amount | None = None
    exposed_comm_s: Amount | None = None
    bubble_s: Amount | None = None
    optimizer_s: Amount | None = None
    overlap_slowdown_s: Amount | None = None
    """Compute slowed by the communication hidden under it."""
    straggler_s: Amount | None = None
    """Waiting for the slowest GPU of the step."""
    tokens_per_s: Amount | None = None
    tokens_per_s_per_gpu: Amount | None = None
    model_tflops_per_gpu: Amount | None = None
    mfu: Amount | None = None
    """Model FLOPs over the dense BF16 peak (every precision)."""
    hfu: Amount | None = None
    mfu_vs_precision_peak: Fraction | None = None
    """Model FLOPs over the peak of the training precision (FP8 for FP8 runs)."""
    gpus_used: Annotated[int, Field(gt=0)] | None = None
    """The GPUs the plan uses (MFU and HFU are per GPU used); None in older saved plans."""
    exposed_comm_by_axis_s: dict[str, Amount] = Field(default_factory=dict)
    """Exposed communication per parallel axis (tp, cp, ep, pp, dp); empty without a plan."""


class RunData(_Loose):
    tokens: Amount
    model_flops: Amount
    days: Amount
    gpu_hours: Amount
    goodput: Fraction | None = None
    interruptions: Amount | None = None
    overheads_s: dict[str, Finite] = Field(default_factory=dict)
    """Whole-run overheads by name (failures and restarts, checkpoint writes, loss-spike
    rollbacks, planned restarts), seconds of wall time; empty in older saved plans."""


class PowerData(_Loose):
    it_w: Amount
    facility_w: Amount
    pue: Amount | None = None


class EnergyData(_Loose):
    mwh: Amount
    households_equivalent: Amount | None = None
    households_country: str | None = None


class EmissionsData(_Loose):
    tco2e: Amount
    grid: str | None = None
    kgco2e_per_kwh: Amount | None = None


class CostData(_Loose):
    gpu_capex_usd: Amount
    cluster_capex_usd: Amount
    amortized_usd: Amount
    energy_usd: Amount
    cloud_usd: Amount


class ScalingData(_Loose):
    law: str | None = None
    predicted_loss: Finite | None = None
    """None where no law is used (video models; ``note`` says why)."""
    compute_optimal_params: Finite | None = None
    compute_optimal_tokens: Finite | None = None
    compute_optimal_loss: Finite | None = None
    note: str | None = None


class IntervalBlock(_Loose):
    p10: Amount
    p50: Amount
    p90: Amount
    width: Amount


class IntervalBasis(_Loose):
    selection: str


class IntervalsData(_Loose):
    """What the report reads of the ``intervals`` block (``planning.intervals.interval_dict``);
    ``intervals: {x: 1}`` was a KeyError traceback."""

    step_time_s: IntervalBlock | None = None
    days: IntervalBlock | None = None
    gpu_hours: IntervalBlock | None = None
    cost_usd: IntervalBlock | None = None
    tokens: IntervalBlock | None = None
    basis: IntervalBasis
    warnings: list[str]


Degree = Annotated[int, Field(gt=0, strict=True)]


class PlanData(_Loose):
    """A parallel plan's degrees: whole numbers >= 1 (``tp: 0``, ``-1`` or ``1.5`` was shown)."""

    tp: Degree | None = None
    pp: Degree | None = None
    dp: Degree | None = None
    cp: Degree | None = None
    ep: Degree | None = None
    microbatch: Degree | None = None
    interleave: Degree | None = None


class StageClip(_Loose):
    frames: Degree
    height: Degree
    width: Degree
    latent_tokens: Amount


class StageRun(_Loose):
    samples: Amount
    days: Amount
    gpu_hours: Amount
    model_flops: Amount


class StageData(_Loose):
    """What the report's stage table reads of each stage (``stages: [{x: 1}]`` was a jinja2
    UndefinedError traceback)."""

    name: str
    gpus: Degree
    seq_len: Degree | None = None
    clip: StageClip | None = None
    plan: PlanData | None = None
    run: StageRun | None = None
    step: StepData | None = None
    energy: EnergyData | None = None
    cost: CostData | None = None
    infeasible_reason: str | None = None


class SourceData(_Loose):
    used_for: str
    source: str
    retrieved: str


class SavedPlan(_Loose):
    """The keys of ``PlanResult.to_dict()`` that a report draws on."""

    version: str = "unknown"
    scenario: dict[str, Any]
    """The resolved scenario as given (``Scenario.model_dump``); enough to recompute."""
    fits: StrictBool | None
    """true or false (``fits: "yes"`` was read as true)."""
    infeasible_reason: str | None = None
    plan: dict[str, Any] = Field(default_factory=dict)
    memory: MemoryData
    model: ModelData
    step: StepData = StepData()
    run: RunData | None = None
    power: PowerData | None = None
    energy: EnergyData | None = None
    emissions: EmissionsData | None = None
    cost: CostData | None = None
    scaling: ScalingData | None = None
    intervals: dict[str, Any] | None = None
    """P10/P50/P90 from the validation's residuals (``gpuplan.planning.intervals``)."""
    assumptions: list[str] = Field(default_factory=list)
    sources: list[SourceData] = Field(default_factory=list)
    stages: list[dict[str, Any]] | None = None
    """A staged run's stages (``planning.serialize.staged_dict``); its totals are ``run``."""

    @property
    def gpus(self) -> int:
        return int(self.scenario["gpus"])

    @property
    def hardware(self) -> str:
        return str(self.scenario["hardware"])

    @property
    def title(self) -> str:
        return f"{self.model.id} on {self.gpus:,} × {self.hardware}"


def read_plan(data: Any, where: str = "") -> SavedPlan:
    """Validate a plan mapping; ScenarioError names the first missing or malformed key.

    ``where`` (a file name) prefixes the field path in the message.
    """
    prefix = f"{where}: " if where else ""
    if not isinstance(data, dict):
        raise ScenarioError(where or "plan", f"must be a JSON object, got {type(data).__name__}")
    block: tuple[str | int, ...] = ()
    try:
        saved = SavedPlan.model_validate(data)
        for path, schema, value in _blocks(saved):
            block = path  # the path of the block a ValidationError is in
            schema.model_validate(value)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in (*block, *error["loc"]))
        missing = error["type"] == "missing"
        given = (
            "" if missing or isinstance(error["input"], dict | list) else f" = {error['input']!r}"
        )
        what = "required" if missing else error["msg"]
        raise ScenarioError(
            prefix + field + given, f"{what} (give the output of `gpuplan plan --json`)"
        ) from None
    gpus = saved.scenario.get("gpus")
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1:
        why = "required" if gpus is None else "must be a whole number >= 1"
        raise ScenarioError(
            f"{prefix}scenario.gpus = {gpus!r}", f"{why} (give the output of `gpuplan plan --json`)"
        )
    if not isinstance(saved.scenario.get("hardware"), str):
        raise ScenarioError(f"{prefix}scenario.hardware", "required: an accelerator id")
    return saved


def _blocks(saved: SavedPlan) -> Iterator[tuple[tuple[str | int, ...], type[BaseModel], Any]]:
    """The blocks kept as mappings (the renderers read them as such), each with its path and
    the schema of what the renderers read of it."""
    yield ("plan",), PlanData, saved.plan
    if saved.intervals is not None:
        yield ("intervals",), IntervalsData, saved.intervals
    for index, stage in enumerate(saved.stages or ()):
        yield ("stages", index), StageData, stage


def load_plan_file(path: Path) -> SavedPlan:
    """Read a file written by ``gpuplan plan --json > FILE``."""
    return read_plan(read_json(path, "--from-json"), where=str(path))
