"""What a feasible run takes (time with failures, power, energy, money) and what it buys
(the loss a scaling law predicts), and the catalog records a result used."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpuplan import units
from gpuplan.accounting import (
    CapexAccount,
    ComputeAccount,
    EnergyAccount,
    PowerAccount,
    RunCost,
    account_duration,
    account_tokens,
)
from gpuplan.accounting.cluster import account_cluster
from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.shapes import parameter_count
from gpuplan.fitting.scaling_laws import ComputeOptimal, compute_optimal, loss
from gpuplan.reliability import (
    ReliabilityEstimate,
    estimate_reliability_from_catalog,
)
from gpuplan.reliability.plan_checkpoint import estimate_plan_reliability, plan_rates
from gpuplan.scenario.resolve import ResolvedScenario


@dataclass(frozen=True)
class SourceRef:
    """A catalog record a result used."""

    used_for: str
    source: str
    retrieved: str


NO_VIDEO_LAW = (
    "No validated video scaling law is used: the text-LLM laws do not apply to video "
    "diffusion transformers, whose loss is not comparable across VAEs, text encoders and "
    "noise schedules, and the published video laws (Yin et al. 2024, arXiv 2411.17470) give "
    "no transferable constants; the predicted loss is not modelled."
)
"""What every door says instead of a loss for a video model."""


@dataclass(frozen=True)
class ScalingOutcome:
    law_id: str | None
    """None where no law is used (video models: :data:`NO_VIDEO_LAW`)."""
    params_used: float
    """Parameters put into the law (active parameters for MoE models)."""
    predicted_loss: float | None
    optimal: ComputeOptimal | None
    note: str | None = None
    """Why there is no loss, where there is none."""


@dataclass(frozen=True)
class RunAccounts:
    """What a feasible run takes: time, power, energy, money; and what it buys."""

    compute: ComputeAccount
    power: PowerAccount[float]
    energy: EnergyAccount[float]
    capex: CapexAccount[float]
    cost: RunCost[float]
    households: float
    cloud_usd_per_hour: float
    """Renting the cluster's GPUs for an hour."""
    scaling: ScalingOutcome
    reliability: ReliabilityEstimate
    """Failures and checkpoints: wall time is compute time / goodput."""


def account_run(
    catalog: Catalog,
    r: ResolvedScenario,
    flops_per_token: float,
    peak_flops_per_s: float,
    utilisation: float,
    assumptions: list[str],
    *,
    state_bytes_per_gpu: float | None = None,
) -> RunAccounts:
    """Accounts of a run whose GPUs deliver ``utilisation`` x ``peak_flops_per_s`` of model
    FLOPs each; failures and checkpoints stretch the compute time into wall time. With
    ``state_bytes_per_gpu`` (the model state one GPU of the plan holds) the checkpoint write
    follows the plan's sharding (:mod:`gpuplan.reliability.plan_checkpoint`)."""
    compute, reliability = _compute_and_failures(
        catalog, r, flops_per_token, peak_flops_per_s, utilisation, state_bytes_per_gpu
    )
    assumptions.append(
        f"Failures: one job interruption every {reliability.mtbi_s / units.HOUR_S:.2g} h "
        f"(catalog failure rate per GPU-hour, Llama 3's 54-day record by default); checkpoints "
        f"every {reliability.checkpoint_interval_s / 60:.0f} min, restarts "
        f"{reliability.restart_s / 60:.0f} min; {reliability.planned_restarts:.0f} planned "
        "restarts (Llama 3: 47 planned interruptions in 54 days) and loss-spike rollbacks that "
        f"redo {reliability.redone_s / reliability.compute_time_s:.2%} of the compute (PaLM: ~20 "
        f"of ~100 steps); goodput {reliability.goodput:.1%}. Energy and cost are for the "
        "wall-clock time, failures included."
    )
    accounts = account_cluster(
        catalog,
        r.accelerator,
        r.gpus,
        reliability.wall_time_s,
        pue=r.pue,
        kgco2e_per_kwh=r.grid.kgco2e_per_kwh,
        power_usd_per_kwh=r.power_usd_per_kwh,
        gpu_price_usd=r.gpu_price_usd,
        cloud_usd_per_gpu_hour=r.cloud_usd_per_gpu_hour,
        household_kwh_per_year=r.household.kwh_per_year,
    )
    scaling = _scaling(catalog, r, compute, assumptions)
    assumptions.append(f"PUE {r.pue} ({r.pue_basis}).")
    assumptions.append(
        f"Cloud price ${r.cloud_usd_per_gpu_hour:.2f}/GPU-hour ({r.cloud_price_basis})."
    )
    return RunAccounts(
        compute=compute,
        power=accounts.power,
        energy=accounts.energy,
        capex=accounts.capex,
        cost=accounts.cost,
        households=accounts.households,
        cloud_usd_per_hour=accounts.cloud_usd_per_hour,
        scaling=scaling,
        reliability=reliability,
    )


def _compute_and_failures(
    catalog: Catalog,
    r: ResolvedScenario,
    flops_per_token: float,
    peak_flops_per_s: float,
    utilisation: float,
    state_bytes_per_gpu: float | None = None,
) -> tuple[ComputeAccount, ReliabilityEstimate]:
    """The failure-free compute and what failures make of it. A length in days is wall-clock
    time: failures eat into it, so fewer tokens fit (three rounds settle the goodput)."""
    args = (flops_per_token, r.gpus, peak_flops_per_s, utilisation)
    if r.tokens is not None:
        compute = account_tokens(r.tokens, *args)
    else:
        assert r.duration_s is not None, "resolve() guarantees tokens or a duration"
        compute = account_duration(r.duration_s, *args)
    params = parameter_count(r.model).total

    def failures(compute_time_s: float) -> ReliabilityEstimate:
        if state_bytes_per_gpu is None:
            return estimate_reliability_from_catalog(params, r.gpus, compute_time_s, catalog)
        rates = plan_rates(catalog)
        return estimate_plan_reliability(params, r.gpus, compute_time_s, state_bytes_per_gpu, rates)

    reliability = failures(compute.compute_time_s)
    if r.duration_s is not None:
        for _ in range(3):
            if not reliability.can_progress:
                break  # goodput 0 leaves no compute to refine; the plan says why it is hopeless
            compute = account_duration(r.duration_s * reliability.goodput, *args)
            reliability = failures(compute.compute_time_s)
    return compute, reliability


def _scaling(
    catalog: Catalog, r: ResolvedScenario, compute: ComputeAccount, assumptions: list[str]
) -> ScalingOutcome:
    """The loss the default law predicts for the run, and the compute-optimal split."""
    model = r.model
    law = catalog.scaling_law()
    published = model.active_params_published_b or model.params_published_b
    params_for_law = published * units.GIGA
    if model.video is not None:
        assumptions.append(NO_VIDEO_LAW)
        return ScalingOutcome(None, params_for_law, None, None, NO_VIDEO_LAW)
    if model.moe is not None:
        kind_note = "for an MoE model its active parameters are used."
    else:
        kind_note = "the loss is in nats per token of that data set."
    assumptions.append(
        f"Loss from the {law.name} fit, made on dense text models (MassiveText); {kind_note}"
    )
    return ScalingOutcome(
        law_id=law.id,
        params_used=params_for_law,
        predicted_loss=loss(law, params_for_law, compute.tokens),
        optimal=compute_optimal(law, compute.model_flops),
    )


_KEPT_SOURCES: dict[tuple[Any, ...], tuple[tuple[object, ...], tuple[SourceRef, ...]]] = {}
""":func:`sources` by the identities of the records it reads; each entry holds its records
(so no identity is reused while it lives). A Monte Carlo's samples share them."""


def sources(
    catalog: Catalog, r: ResolvedScenario, system_ids: list[str], framework_id: str
) -> list[SourceRef]:
    """The catalog records a result used (a new list: callers add to it)."""
    records = (catalog, r.accelerator, r.model, r.grid, r.household, r.electricity)
    site = r.scenario.site
    flags = (r.scenario.prices.cloud_usd_per_gpu_hour is None, site.power_usd_per_kwh is None,
             site.pue is None)  # fmt: skip
    key = (*map(id, records), *flags, framework_id, *system_ids)
    if (kept := _KEPT_SOURCES.get(key)) is None:
        if len(_KEPT_SOURCES) >= 256:
            _KEPT_SOURCES.clear()
        kept = _KEPT_SOURCES[key] = (records, tuple(_sources(catalog, r, system_ids, framework_id)))
    return list(kept[1])


def _sources(
    catalog: Catalog, r: ResolvedScenario, system_ids: list[str], framework_id: str
) -> list[SourceRef]:
    accelerator, model = r.accelerator, r.model
    law = catalog.scaling_law()
    sources = [
        SourceRef(f"accelerator {accelerator.id}", accelerator.source, str(accelerator.retrieved)),
        SourceRef(
            f"{accelerator.id} purchase price",
            accelerator.purchase.source,
            accelerator.purchase.date,
        ),
        SourceRef(f"model {model.id}", model.source, str(model.retrieved)),
        SourceRef(f"grid {r.grid.id}", r.grid.source, str(r.grid.retrieved)),
        SourceRef(f"households {r.household.id}", r.household.source, str(r.household.retrieved)),
        SourceRef(f"scaling law {law.id}", law.source, str(law.retrieved)),
    ]
    profile = catalog.efficiency_profile(accelerator.id)
    framework = catalog.framework(framework_id)
    sources.append(SourceRef("kernel efficiencies", profile.source, str(profile.retrieved)))
    sources.append(SourceRef("framework profile", framework.source, str(framework.retrieved)))
    if r.scenario.prices.cloud_usd_per_gpu_hour is None:
        cloud = accelerator.default_cloud
        sources.append(SourceRef(f"{accelerator.id} cloud price", cloud.source, str(cloud.date)))
    if r.electricity is not None and r.scenario.site.power_usd_per_kwh is None:
        e = r.electricity
        sources.append(SourceRef(f"electricity price {e.id}", e.source, str(e.retrieved)))
    if r.scenario.site.pue is None:
        default_pue = catalog.pue["typical"]
        sources.append(SourceRef("PUE", default_pue.source, str(default_pue.retrieved)))
    for parameter_id in system_ids:
        record = catalog.system(parameter_id)
        sources.append(SourceRef(parameter_id, record.source, str(record.retrieved)))
    return sources
