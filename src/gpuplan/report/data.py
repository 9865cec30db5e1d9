"""A saved plan result (``gpuplan plan --json``), read back for reports without recomputing.

The stable JSON keys of docs/design.md are validated once, here, into frozen objects; the HTML
report and the web planner draw from these, so a report renders the same from a live
:class:`gpuplan.planning.run.PlanResult` (through ``to_dict()``) as from a file saved last month.
Extra keys are kept (``extra="allow"``): newer versions may add keys, and a report only
needs the ones named below. Values that are ``null`` in the JSON (not modelled, or the plan
does not fit) stay ``None``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gpuplan.errors import ScenarioError
from gpuplan.scenario.files import read_json


class _Loose(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class MemoryBreakdown(_Loose):
    weights_bytes: float | None = None
    grads_bytes: float | None = None
    optimizer_bytes: float | None = None
    activations_bytes: float | None = None
    overhead_bytes: float | None = None


class MemoryData(_Loose):
    per_gpu_bytes: float | None = None
    capacity_bytes: float
    breakdown: MemoryBreakdown = MemoryBreakdown()


class ModelData(_Loose):
    id: str
    params: float
    active_params: float | None = None


class StepData(_Loose):
    time_s: float | None = None
    compute_s: float | None = None
    recompute_s: float | None = None
    exposed_comm_s: float | None = None
    bubble_s: float | None = None
    optimizer_s: float | None = None
    overlap_slowdown_s: float | None = None
    """Compute slowed by the communication hidden under it."""
    straggler_s: float | None = None
    """Waiting for the slowest GPU of the step."""
    tokens_per_s: float | None = None
    tokens_per_s_per_gpu: float | None = None
    model_tflops_per_gpu: float | None = None
    mfu: float | None = None
    """Model FLOPs over the dense BF16 peak (every precision)."""
    hfu: float | None = None
    mfu_vs_precision_peak: float | None = None
    """Model FLOPs over the peak of the training precision (FP8 for FP8 runs)."""
    gpus_used: int | None = None
    """The GPUs the plan uses (MFU and HFU are per GPU used); None in older saved plans."""
    exposed_comm_by_axis_s: dict[str, float] = Field(default_factory=dict)
    """Exposed communication per parallel axis (tp, cp, ep, pp, dp); empty without a plan."""


class RunData(_Loose):
    tokens: float
    model_flops: float
    days: float
    gpu_hours: float
    goodput: float | None = None
    interruptions: float | None = None
    overheads_s: dict[str, float] = Field(default_factory=dict)
    """Whole-run overheads by name (failures and restarts, checkpoint writes, loss-spike
    rollbacks, planned restarts), seconds of wall time; empty in older saved plans."""


class PowerData(_Loose):
    it_w: float
    facility_w: float
    pue: float | None = None


class EnergyData(_Loose):
    mwh: float
    households_equivalent: float | None = None
    households_country: str | None = None


class EmissionsData(_Loose):
    tco2e: float
    grid: str | None = None
    kgco2e_per_kwh: float | None = None


class CostData(_Loose):
    gpu_capex_usd: float
    cluster_capex_usd: float
    amortized_usd: float
    energy_usd: float
    cloud_usd: float


class ScalingData(_Loose):
    law: str | None = None
    predicted_loss: float | None = None
    """None where no law is used (video models; ``note`` says why)."""
    compute_optimal_params: float | None = None
    compute_optimal_tokens: float | None = None
    compute_optimal_loss: float | None = None
    note: str | None = None


class SourceData(_Loose):
    used_for: str
    source: str
    retrieved: str


class SavedPlan(_Loose):
    """The keys of ``PlanResult.to_dict()`` that a report draws on."""

    version: str = "unknown"
    scenario: dict[str, Any]
    """The resolved scenario as given (``Scenario.model_dump``); enough to recompute."""
    fits: bool | None
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
    try:
        saved = SavedPlan.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"])
        what = "required" if error["type"] == "missing" else error["msg"]
        raise ScenarioError(
            prefix + field, f"{what} (give the output of `gpuplan plan --json`)"
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


def load_plan_file(path: Path) -> SavedPlan:
    """Read a file written by ``gpuplan plan --json > FILE``."""
    return read_plan(read_json(path, "--from-json"), where=str(path))
