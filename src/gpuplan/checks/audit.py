"""Audit of a disclosed training run: what the disclosed figures imply (issue 16, item 4).

From what a lab disclosed (the model or its parameter count, tokens, accelerator, GPU count,
days or GPU-hours or dollars, or the FLOPs), an audit computes:

- the training FLOPs: as stated, else ``6 N D`` (Kaplan et al. 2020 sec. 2.1; ``N`` the
  active parameters), with the catalog model's own count beside it when a model id is given;
- the GPU-hours: as stated, else GPUs x days x 24, else dollars / price per GPU-hour;
- the implied MFU: FLOPs / (GPU-hours x 3600 x dense BF16 peak), and against the peak of the
  training precision (FP8: twice BF16 on Hopper); the goodput-adjusted MFU divides by the
  goodput gpuplan's reliability model gives for that many GPUs over that many days (the MFU
  while the job makes progress);
- megawatts, energy and cost at market prices (the catalog's cloud prices), the same
  accounts a plan uses (:func:`gpuplan.accounting.cluster.account_cluster`).

The verdict: ``impossible`` when the FLOPs exceed what the GPUs can do at 100% of their peak
in the stated time (the arithmetic is given); ``implausible`` when the MFU while running
exceeds the highest MFU measured on any validation row of that precision; ``unverifiable``
when no MFU can be implied (no model, parameters or tokens); ``plausible`` otherwise. Notes
place the run against the validated range (GPU counts, hardware) and the largest published
runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from gpuplan import units
from gpuplan.accounting.cluster import account_cluster
from gpuplan.catalog.loader import Catalog, schema_message, unknown_id_message
from gpuplan.catalog.residuals import generation_of, highest_measured_mfu, load_residuals
from gpuplan.catalog.schema import Accelerator
from gpuplan.catalog.schema.base import Number
from gpuplan.errors import ScenarioError, shorten
from gpuplan.fitting.scaling_laws import compute_optimal
from gpuplan.model.flops import six_nd, training_flops_per_token
from gpuplan.reliability import estimate_reliability_from_catalog, rates_from_catalog
from gpuplan.reliability.analytical import job_mtbi_s
from gpuplan.scenario.schema import MAX_DAYS, MAX_GPUS, MIN_DAYS

MAX_GPU_HOURS = 1e12
"""10,000,000 GPUs for 10 years is 8.8e11 GPU-hours. The bounds below are those of a
scenario (gpus, days, tokens, budget.usd, prices.cloud_usd_per_gpu_hour) or, for sizes a
scenario does not have, about a thousand times the largest published run (Grok-3, ~5e26
FLOP; models of ~2e12 parameters): every product the audit forms stays a finite float
(1e308 parameters and tokens were a ValueError traceback)."""
MAX_PARAMS = 1e15
MAX_FLOPS = 1e30


class Disclosure(BaseModel):
    """What a lab disclosed about a run. Give the accelerator and at least two of GPUs,
    days, GPU-hours and dollars (or one of GPU-hours and dollars); the model (a catalog id)
    or its parameters and the tokens (or the FLOPs) to imply the MFU."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "disclosed run"
    run: str | None = None
    """A catalog run id (runs.yaml): its published figures fill the fields not given."""
    hardware: str | None = None
    gpus: Annotated[int, Number, Field(gt=0, le=MAX_GPUS)] | None = None
    days: Annotated[float, Number, Field(ge=MIN_DAYS, le=MAX_DAYS)] | None = None
    gpu_hours: Annotated[float, Number, Field(ge=1, le=MAX_GPU_HOURS)] | None = None
    usd: Annotated[float, Number, Field(gt=0, le=1e13)] | None = None
    usd_per_gpu_hour: Annotated[float, Number, Field(gt=0, le=1000)] | None = None
    """The rate the lab priced its GPU-hours at (else the catalog's market price)."""
    model: str | None = None
    params: Annotated[float, Number, Field(gt=0, le=MAX_PARAMS)] | None = None
    active_params: Annotated[float, Number, Field(gt=0, le=MAX_PARAMS)] | None = None
    tokens: Annotated[float, Number, Field(gt=0, le=1e17)] | None = None
    flops: Annotated[float, Number, Field(gt=0, le=MAX_FLOPS)] | None = None
    precision: Literal["bf16", "fp8"] = "bf16"
    source: str = ""

    @field_validator("active_params")
    @classmethod
    def _active_within_total(cls, active: float | None, info: ValidationInfo) -> float | None:
        if active is not None and active > (params := info.data.get("params") or active):
            raise ValueError(f"must be <= params = {params:.4g} (the active ones are a subset)")
        return active


@dataclass(frozen=True)
class Audit:
    disclosure: Disclosure
    verdict: str
    """impossible | implausible | plausible | unverifiable"""
    reasons: tuple[str, ...]
    """The arithmetic behind the verdict."""
    numbers: Mapping[str, float | None]
    derivations: tuple[str, ...]
    """How each implied number was obtained (stated or derived, from what)."""
    range_notes: tuple[str, ...]
    """Where the run sits against the validated range and the published runs."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.disclosure.name,
            "disclosed": self.disclosure.model_dump(exclude_none=True),
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "numbers": dict(self.numbers),
            "derivations": list(self.derivations),
            "validated_range": list(self.range_notes),
        }


def parse_disclosure(data: Any, where: str) -> Disclosure:
    """A disclosure mapping, or a ScenarioError naming the field, value and what is allowed."""
    if not isinstance(data, Mapping):
        raise ScenarioError(where, "must be a mapping of disclosed figures")
    try:
        return Disclosure.model_validate(dict(data))
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"])
        value = data.get(field, "missing") if field else ""
        name = f"--{field.replace('_', '-')}" if where == "--" else f"{where}.{field}".lstrip(".")
        shown = "" if error["type"] == "extra_forbidden" else f" = {shorten(repr(value))}"
        raise ScenarioError(name + shown, schema_message(Disclosure, error)) from None


def with_run(d: Disclosure, catalog: Catalog) -> Disclosure:
    """The disclosure with a catalog run's published figures where it gives none."""
    if d.run is None:
        if d.hardware is None:
            raise ScenarioError("hardware", "required: an accelerator id (or run: a catalog run)")
        return d
    if d.run not in catalog.runs:
        raise ScenarioError(
            f"run = {d.run!r}", unknown_id_message("run", d.run, list(catalog.runs))
        )
    r = catalog.runs[d.run]
    published = {
        "name": r.name, "hardware": r.accelerator, "gpus": r.accelerator_count, "days": r.days,
        "gpu_hours": r.gpu_hours, "params": r.params, "active_params": r.active_params,
        "tokens": r.tokens, "flops": r.training_flops, "source": r.source,
    }  # fmt: skip
    merged = {k: v for k, v in published.items() if v is not None}
    merged.update(d.model_dump(exclude_defaults=True))
    if merged.get("hardware") is None:
        raise ScenarioError(f"run = {d.run!r}", "its accelerator is not published; give hardware")
    return Disclosure.model_validate(merged)


def _chip(d: Disclosure, catalog: Catalog) -> Accelerator:
    """The disclosure's accelerator; a ScenarioError for an unknown id, an unknown model or
    FP8 on a chip without an FP8 peak (was a bare 'unknown accelerator' or an assertion)."""
    assert d.hardware is not None, "with_run() requires it"
    if d.hardware not in catalog.accelerators:
        known = list(catalog.accelerators)
        raise ScenarioError(
            f"hardware = {d.hardware!r}", unknown_id_message("accelerator", d.hardware, known)
        )
    if d.model is not None and d.model not in catalog.models:
        known = list(catalog.models)
        raise ScenarioError(f"model = {d.model!r}", unknown_id_message("model", d.model, known))
    chip = catalog.accelerator(d.hardware)
    if d.precision == "fp8" and chip.peak_fp8_flops_per_s is None:
        raise ScenarioError("precision = 'fp8'", f"{chip.id} has no FP8 tensor path; allowed: bf16")
    return chip


def _flops(d: Disclosure, catalog: Catalog, notes: list[str]) -> tuple[float | None, float | None]:
    """(training FLOPs, total parameters) as disclosed or implied."""
    model = catalog.model(d.model) if d.model else None
    params = d.params or (model.params_published_b * units.GIGA if model else None)
    active = d.active_params or (
        model.active_params_published_b * units.GIGA
        if model and model.active_params_published_b
        else params
    )
    tokens = d.tokens or (model.training_tokens_published if model else None)
    if d.flops is not None:
        notes.append(f"FLOPs: {d.flops:.3g} as disclosed")
        return d.flops, params
    if tokens is None or active is None:
        notes.append("FLOPs: not implied (give tokens with a model or its parameters, or flops)")
        return None, params
    flops = six_nd(active, tokens)
    notes.append(f"FLOPs: 6 x {active:.3g} active parameters x {tokens:.3g} tokens = {flops:.3g}")
    if model is not None and model.seq_len is not None:
        counted = training_flops_per_token(model, model.seq_len) * tokens
        notes.append(
            f"FLOPs counted layer by layer for {model.id} (attention included): "
            f"{counted:.3g}, {counted / flops - 1:+.0%} against 6ND"
        )
    return flops, params


def _time(d: Disclosure, chip: Accelerator, notes: list[str]) -> tuple[float | None, ...]:
    """(GPU-hours, GPUs, days) as disclosed or implied."""
    hours, gpus, days = d.gpu_hours, d.gpus, d.days
    if hours is None and gpus is not None and days is not None:
        hours = gpus * days * 24
        notes.append(f"GPU-hours: {gpus:,} GPUs x {days:g} days x 24 = {hours:,.0f}")
    elif hours is None and d.usd is not None:
        rate = d.usd_per_gpu_hour or chip.default_cloud.usd_per_hour
        hours = d.usd / rate
        notes.append(f"GPU-hours: ${d.usd:,.0f} / ${rate:.2f} per GPU-hour = {hours:,.0f}")
    elif hours is not None:
        notes.append(f"GPU-hours: {hours:,.0f} as disclosed")
    if gpus is None and hours is not None and days is not None:
        gpus = max(1, round(hours / (days * 24)))
        notes.append(f"GPUs: {hours:,.0f} GPU-hours / ({days:g} days x 24) = {gpus:,}")
    if days is None and hours is not None and gpus is not None:
        days = hours / gpus / 24
        notes.append(f"days: {hours:,.0f} GPU-hours / {gpus:,} GPUs / 24 = {days:.1f}")
    for name, value, most in (("days", days, MAX_DAYS), ("gpus", gpus, MAX_GPUS)):
        if value is not None and value > most:  # implied: 3,518 years was plausible
            raise ScenarioError(
                f"{name} = {value:,.6g} (implied: {notes[-1]})",
                f"must be <= {most:,g}, as when disclosed; check the GPUs, days and GPU-hours",
            )
    return hours, (None if gpus is None else float(gpus)), days


def _site_accounts(
    catalog: Catalog, chip: Accelerator, gpus: int, days: float
) -> dict[str, float | None]:
    """Facility power, energy and market cost at the catalog's defaults (typical PUE, US
    average grid and electricity price), as a plan without a site states them."""
    grid = catalog.grid("us-average")
    accounts = account_cluster(
        catalog, chip, gpus, days * units.DAY_S,
        pue=catalog.pue["typical"].value, kgco2e_per_kwh=grid.kgco2e_per_kwh,
        power_usd_per_kwh=catalog.electricity_price(grid.id).usd_per_kwh,
        gpu_price_usd=chip.purchase.usd, cloud_usd_per_gpu_hour=chip.default_cloud.usd_per_hour,
        household_kwh_per_year=catalog.household("us").kwh_per_year,
    )  # fmt: skip
    return {
        "facility_mw": accounts.power.facility_w / units.MEGA,
        "provisioned_facility_mw": accounts.power.peak_facility_w / units.MEGA,
        "energy_mwh": accounts.energy.mwh,
        "tco2e": accounts.energy.tco2e,
        "cluster_capex_usd": accounts.capex.cluster_capex_usd,
        "amortized_usd": accounts.cost.amortized_usd,
    }


def _range_notes(catalog: Catalog, chip: Accelerator, gpus: int | None) -> list[str]:
    rows = load_residuals()
    notes = []
    if not any(generation_of(r.accelerator) == generation_of(chip.id) for r in rows):
        notes.append(f"no step time on {chip.name} or its generation was validated")
    if gpus is not None:
        largest = max(rows, key=lambda r: r.gpus)
        runs = [r for r in catalog.runs.values() if r.accelerator_count]
        biggest = max(runs, key=lambda r: r.accelerator_count or 0)
        count = biggest.accelerator_count or 0
        if gpus > largest.gpus:
            notes.append(
                f"{gpus:,} GPUs is {gpus / largest.gpus:,.1f}x the largest run whose "
                f"step time was validated ({largest.gpus:,} GPUs, {largest.id})"
            )
        relation = "larger than" if gpus > count else "within the size of"
        notes.append(
            f"{gpus:,} GPUs is {relation} the largest published run in the catalog "
            f"({biggest.name}, {count:,} {biggest.accelerator_name or 'accelerators'})"
        )
    return notes


def _mfu_verdict(
    d: Disclosure, chip: Accelerator, n: Mapping[str, float | None]
) -> tuple[str, str] | None:
    """The verdict on the implied MFU and its arithmetic; None when no MFU is implied."""
    flops, hours, mfu = n["flops"], n["gpu_hours"], n["mfu"]
    if flops is None or hours is None or mfu is None:
        return None
    peak = chip.peak_fp8_flops_per_s if d.precision == "fp8" else chip.peak_bf16_flops_per_s
    assert peak is not None
    capacity = hours * units.HOUR_S * peak
    arithmetic = (
        f"{flops:.3g} FLOP needed; {hours:,.0f} GPU-hours x 3600 s x {peak:.4g} FLOP/s "
        f"({d.precision.upper()} dense peak of the {chip.name}) = {capacity:.3g} FLOP at 100% "
        f"of peak"
    )
    if flops > capacity:
        return "impossible", f"{arithmetic}: {flops / capacity:.2f}x more than the hardware can do"
    running = mfu / (n["goodput"] or 1.0)
    best, row = highest_measured_mfu(d.precision)
    shown = f"MFU {mfu:.1%} of the dense BF16 peak" + (
        f", {running:.1%} while running" if n["goodput"] else ""
    )
    if running > best:
        return "implausible", (
            f"{arithmetic}; {shown}, above the highest MFU measured on any validated "
            f"{d.precision.upper()} run ({best:.1%}, {row})"
        )
    return "plausible", (
        f"{arithmetic}; {shown} (highest validated {d.precision.upper()}: {best:.1%}, {row})"
    )


def _hours_verdict(d: Disclosure) -> tuple[str, str] | None:
    """Disclosed GPU-hours beyond GPUs x days x 24 (fewer is possible: GPUs left idle)."""
    if d.gpu_hours is None or d.gpus is None or d.days is None:
        return None
    if d.gpu_hours <= (most := d.gpus * d.days * 24):
        return None
    return "impossible", (
        f"{d.gpu_hours:,.0f} GPU-hours disclosed; {d.gpus:,} GPUs x {d.days:g} days x 24 = "
        f"{most:,.0f} at most: {d.gpu_hours / most:.2f}x more than those GPUs have"
    )


def _progress(catalog: Catalog, n: dict[str, float | None]) -> tuple[str, str] | None:
    """Whether a job of that many GPUs can make progress between interruptions."""
    if n["gpus"] is None:
        return None
    rates = rates_from_catalog(catalog)
    mtbi_s = job_mtbi_s(rates.failures_per_gpu_s, int(n["gpus"]))
    n["mtbi_h"] = mtbi_s / units.HOUR_S
    relaunch_s = float(rates.relaunch_at(int(n["gpus"])))
    if mtbi_s <= relaunch_s:
        return "impossible", (
            f"{n['gpus']:,.0f} GPUs are interrupted every {mtbi_s:,.0f} s on average (catalog "
            f"failure rate), no longer than a relaunch alone ({relaunch_s:,.0f} s): the "
            "job cannot make progress"
        )
    goodput = f", goodput {n['goodput']:.1%}" if n["goodput"] is not None else ""
    every = f"{mtbi_s / 60:,.0f} min" if mtbi_s < 7200 else f"{mtbi_s / 3600:,.0f} h"
    return "plausible", (
        f"{n['gpus']:,.0f} GPUs: one interruption every {every} on average (catalog failure "
        f"rate){goodput}"
    )


def _verdict(
    catalog: Catalog, d: Disclosure, chip: Accelerator, n: dict[str, float | None]
) -> tuple[str, list[str]]:
    verdicts = (_hours_verdict(d), _mfu_verdict(d, chip, n), _progress(catalog, n))
    found = [v for v in verdicts if v is not None]
    reasons = [text for _, text in found]
    if n["mfu"] is None:
        reasons.append(
            "no MFU implied: give the tokens with the model or its parameters (or the FLOPs), "
            "and the GPU-hours or GPUs and days"
        )
    stated = n["usd_disclosed"]
    if stated is not None and d.usd_per_gpu_hour is not None and n["gpu_hours"] is not None:
        at_rate = n["gpu_hours"] * d.usd_per_gpu_hour
        reasons.append(
            f"disclosed ${stated:,.0f} vs {n['gpu_hours']:,.0f} GPU-hours x "
            f"${d.usd_per_gpu_hour:.2f} = ${at_rate:,.0f} ({stated / at_rate - 1:+.1%})"
        )
    for verdict in ("impossible", "implausible", "plausible"):
        if any(v == verdict for v, _ in found):
            return verdict, reasons
    return "unverifiable", reasons


def audit(disclosure: Disclosure, catalog: Catalog) -> Audit:
    """What ``disclosure`` implies, its verdict and the arithmetic (module docstring)."""
    d = with_run(disclosure, catalog)
    chip = _chip(d, catalog)
    notes: list[str] = []
    flops, params = _flops(d, catalog, notes)
    hours, gpus_f, days = _time(d, chip, notes)
    gpus = None if gpus_f is None else int(gpus_f)
    n: dict[str, float | None] = dict.fromkeys(
        ("flops", "gpu_hours", "gpus", "days", "mfu", "mfu_vs_precision_peak", "goodput",
         "goodput_adjusted_mfu", "mtbi_h", "cost_usd_market", "cost_usd_market_low",
         "cost_usd_market_high", "cost_usd_stated_rate", "usd_disclosed")
    )  # fmt: skip
    n.update(flops=flops, gpu_hours=hours, gpus=gpus_f, days=days, usd_disclosed=d.usd)
    if flops is not None and hours is not None:
        n["mfu"] = flops / (hours * units.HOUR_S * chip.peak_bf16_flops_per_s)
        peak = chip.peak_fp8_flops_per_s if d.precision == "fp8" else chip.peak_bf16_flops_per_s
        n["mfu_vs_precision_peak"] = flops / (hours * units.HOUR_S * (peak or 1.0))
    if gpus is not None and days is not None:
        size = params or (compute_optimal(catalog.scaling_law(), flops).params if flops else None)
        if size is not None:
            failures = estimate_reliability_from_catalog(size, gpus, days * units.DAY_S, catalog)
            n["goodput"] = failures.goodput
            if n["mfu"] is not None and failures.goodput > 0:  # 0: cannot make progress
                n["goodput_adjusted_mfu"] = n["mfu"] / failures.goodput
        n.update(_site_accounts(catalog, chip, gpus, days))
    if hours is not None:
        prices = [p.usd_per_hour for p in chip.cloud]
        n.update(
            cost_usd_market=hours * chip.default_cloud.usd_per_hour,
            cost_usd_market_low=hours * min(prices),
            cost_usd_market_high=hours * max(prices),
        )
        if d.usd_per_gpu_hour is not None:
            n["cost_usd_stated_rate"] = hours * d.usd_per_gpu_hour
    verdict, reasons = _verdict(catalog, d, chip, n)
    return Audit(
        d, verdict, tuple(reasons), n, tuple(notes), tuple(_range_notes(catalog, chip, gpus))
    )
