"""plan(scenario) -> PlanResult: the one orchestration function.

Until the performance model computes a step time from a parallel plan, throughput comes
from a model FLOPs utilisation (given, or the catalog's typical value), and the result
says so in ``assumptions``. Memory, bubble and communication keys are present but null.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpuplan import __version__, units
from gpuplan.accounting import (
    CapexAccount,
    ComputeAccount,
    CostFactors,
    EnergyAccount,
    PowerAccount,
    RunCost,
    account_duration,
    account_tokens,
    capex,
    cluster_power,
    energy,
    households_equivalent,
    run_cost,
)
from gpuplan.catalog.loader import Catalog, load_catalog
from gpuplan.catalog.schema import Accelerator
from gpuplan.fitting.scaling_laws import ComputeOptimal, compute_optimal, loss
from gpuplan.model.flops import (
    ParameterCount,
    frozen_encoder_flops_per_sample,
    parameter_count,
    training_flops_per_token,
)
from gpuplan.scenario import ResolvedScenario, Scenario, resolve


@dataclass(frozen=True)
class SourceRef:
    """A catalog record a result used."""

    used_for: str
    source: str
    retrieved: str


@dataclass(frozen=True)
class ScalingOutcome:
    law_id: str
    params_used: float
    """Parameters put into the law (active parameters for MoE models)."""
    predicted_loss: float
    optimal: ComputeOptimal


@dataclass(frozen=True)
class PlanResult:
    resolved: ResolvedScenario
    params: ParameterCount
    compute: ComputeAccount
    power: PowerAccount
    energy: EnergyAccount
    capex: CapexAccount
    cost: RunCost
    households: float
    scaling: ScalingOutcome
    assumptions: tuple[str, ...]
    sources: tuple[SourceRef, ...]

    @property
    def step_time_s(self) -> float | None:
        batch = self.resolved.global_batch
        if batch is None:
            return None
        return batch * self.resolved.seq_len / self.compute.tokens_per_s

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON keys of DESIGN.md (null where not modelled yet)."""
        r = self.resolved
        c = self.compute
        step_time = self.step_time_s
        return {
            "version": __version__,
            "scenario": r.scenario.model_dump(mode="json"),
            "fits": None,
            "infeasible_reason": None,
            "plan": {
                key: None
                for key in (
                    "tp",
                    "pp",
                    "dp",
                    "cp",
                    "ep",
                    "microbatch",
                    "interleave",
                    "recompute",
                    "zero",
                )
            },
            "memory": {
                "per_gpu_bytes": None,
                "capacity_bytes": r.accelerator.hbm_bytes,
                "breakdown": {
                    "weights_bytes": None,
                    "grads_bytes": None,
                    "optimizer_bytes": None,
                    "activations_bytes": None,
                },
            },
            "step": {
                "time_s": step_time,
                "compute_s": step_time,
                "exposed_comm_s": None,
                "bubble_s": None,
                "tokens_per_s": c.tokens_per_s,
                "tokens_per_s_per_gpu": c.tokens_per_s_per_gpu,
                "model_tflops_per_gpu": c.model_flops_per_s_per_gpu / units.TERA,
                "mfu": c.mfu,
                "hfu": None,
            },
            "run": {
                "tokens": c.tokens,
                "model_flops": c.model_flops,
                "flops_per_token": c.flops_per_token,
                "days": c.days,
                "gpu_hours": c.gpu_hours,
                "goodput": None,
                "interruptions": None,
            },
            "model": {
                "id": r.model.id,
                "params": self.params.total,
                "active_params": self.params.active,
                "params_published": r.model.params_published_b * units.GIGA,
            },
            "power": {
                "it_w": self.power.it_w,
                "facility_w": self.power.facility_w,
                "peak_it_w": self.power.peak_it_w,
                "peak_facility_w": self.power.peak_facility_w,
                "pue": self.power.pue,
            },
            "energy": {
                "mwh": self.energy.mwh,
                "yearly_gwh": self.energy.yearly_gwh,
                "households_equivalent": self.households,
                "households_country": r.household.id,
            },
            "emissions": {
                "tco2e": self.energy.tco2e,
                "yearly_tco2e": self.energy.yearly_tco2e,
                "grid": r.grid.id,
                "kgco2e_per_kwh": r.grid.kgco2e_per_kwh,
            },
            "cost": {
                "gpu_capex_usd": self.capex.gpu_capex_usd,
                "server_capex_usd": self.capex.server_capex_usd,
                "network_capex_usd": self.capex.network_capex_usd,
                "facility_capex_usd": self.capex.facility_capex_usd,
                "cluster_capex_usd": self.capex.cluster_capex_usd,
                "amortized_usd": self.cost.amortized_usd,
                "amortized_hardware_usd": self.cost.amortized_hardware_usd,
                "amortized_facility_usd": self.cost.amortized_facility_usd,
                "energy_usd": self.cost.energy_usd,
                "cloud_usd": self.cost.cloud_usd,
                "cloud_usd_per_hour": r.gpus * r.cloud_usd_per_gpu_hour,
            },
            "scaling": {
                "law": self.scaling.law_id,
                "predicted_loss": self.scaling.predicted_loss,
                "compute_optimal_params": self.scaling.optimal.params,
                "compute_optimal_tokens": self.scaling.optimal.tokens,
                "compute_optimal_loss": self.scaling.optimal.loss,
            },
            "assumptions": list(self.assumptions),
            "sources": [
                {"used_for": s.used_for, "source": s.source, "retrieved": s.retrieved}
                for s in self.sources
            ],
        }


def cost_factors(catalog: Catalog, accelerator: Accelerator) -> CostFactors:
    def value(parameter_id: str) -> float:
        return catalog.system(parameter_id).for_accelerator(accelerator.id)

    return CostFactors(
        server_cost_ratio=value("server_cost_ratio"),
        cluster_interconnect_cost_fraction=value("cluster_interconnect_cost_fraction"),
        facility_capex_usd_per_w=value("facility_capex_usd_per_w"),
        facility_lifetime_years=value("facility_lifetime_years"),
        hardware_depreciation_ooms_per_year=value("hardware_depreciation_ooms_per_year"),
    )


@dataclass(frozen=True)
class ClusterAccounts:
    """Power, energy, emissions and cost of running a cluster for a while."""

    power: PowerAccount
    energy: EnergyAccount
    capex: CapexAccount
    cost: RunCost
    households: float
    """Average homes using as much electricity in a year as the facility."""


def account_cluster(
    catalog: Catalog,
    accelerator: Accelerator,
    gpus: int,
    duration_s: float,
    *,
    pue: float,
    kgco2e_per_kwh: float,
    power_usd_per_kwh: float,
    gpu_price_usd: float,
    cloud_usd_per_gpu_hour: float,
    household_kwh_per_year: float,
) -> ClusterAccounts:
    """Everything that depends on the cluster and the site, not on the model."""

    def system(parameter_id: str) -> float:
        return catalog.system(parameter_id).for_accelerator(accelerator.id)

    power = cluster_power(
        gpus,
        accelerator.tdp_w,
        system("server_power_ratio"),
        system("training_power_fraction"),
        pue,
    )
    energy_account = energy(power, duration_s, kgco2e_per_kwh)
    factors = cost_factors(catalog, accelerator)
    capex_account = capex(gpus, gpu_price_usd, power.peak_it_w, factors)
    cost = run_cost(
        capex_account,
        duration_s,
        gpus * duration_s / units.HOUR_S,
        energy_account.kwh,
        power_usd_per_kwh,
        cloud_usd_per_gpu_hour,
        factors,
    )
    households = households_equivalent(energy_account.yearly_energy_j, household_kwh_per_year)
    return ClusterAccounts(power, energy_account, capex_account, cost, households)


def plan(scenario: Scenario, catalog: Catalog | None = None) -> PlanResult:
    """Everything gpuplan can say about a scenario today."""
    catalog = catalog or load_catalog()
    r = resolve(scenario, catalog)
    model, accelerator = r.model, r.accelerator
    assumptions: list[str] = []
    system_ids = [
        "server_cost_ratio",
        "cluster_interconnect_cost_fraction",
        "facility_capex_usd_per_w",
        "facility_lifetime_years",
        "hardware_depreciation_ooms_per_year",
        "server_power_ratio",
        "training_power_fraction",
    ]

    flops_per_token = training_flops_per_token(model, r.seq_len)
    if model.video is not None:
        encoder = frozen_encoder_flops_per_sample(model) / r.seq_len
        flops_per_token += encoder
        assumptions.append(
            "Video model: frozen text-encoder forward counted per clip; VAE encoding assumed "
            "done offline."
        )
    if r.tokens is not None:
        compute = account_tokens(r.tokens, flops_per_token, r.gpus, r.peak_flops_per_s, r.mfu)
    else:
        assert r.duration_s is not None, "resolve() guarantees tokens or a duration"
        compute = account_duration(r.duration_s, flops_per_token, r.gpus, r.peak_flops_per_s, r.mfu)
    if r.mfu_is_assumed:
        system_ids.append("typical_mfu")
        assumptions.append(
            f"Throughput from an assumed MFU of {r.mfu:.0%} (catalog typical_mfu), not from a "
            "modelled parallel plan; pass training.mfu or --mfu to change it."
        )
    else:
        assumptions.append(f"Throughput from the given MFU of {r.mfu:.0%}.")
    assumptions.append(
        "Failures, restarts and checkpoints are not modelled yet: days and GPU-hours assume "
        "the run never stops (goodput and interruptions are null)."
    )
    assumptions.append(
        "Memory per GPU, pipeline bubble and communication are not modelled yet (null)."
    )

    accounts = account_cluster(
        catalog,
        accelerator,
        r.gpus,
        compute.compute_time_s,
        pue=r.pue,
        kgco2e_per_kwh=r.grid.kgco2e_per_kwh,
        power_usd_per_kwh=r.power_usd_per_kwh,
        gpu_price_usd=r.gpu_price_usd,
        cloud_usd_per_gpu_hour=r.cloud_usd_per_gpu_hour,
        household_kwh_per_year=r.household.kwh_per_year,
    )

    law = catalog.scaling_law()
    params = parameter_count(model)
    published = model.active_params_published_b or model.params_published_b
    params_for_law = published * units.GIGA
    scaling = ScalingOutcome(
        law_id=law.id,
        params_used=params_for_law,
        predicted_loss=loss(law, params_for_law, compute.tokens),
        optimal=compute_optimal(law, compute.model_flops),
    )
    assumptions.append(
        f"Loss from the {law.name} fit, which was made on dense text models (MassiveText); "
        + (
            "for an MoE model its active parameters are used."
            if model.moe is not None
            else "for a video model it is only indicative: no public law exists."
            if model.video is not None
            else "the loss is in nats per token of that data set."
        )
    )
    assumptions.append(f"PUE {r.pue} ({r.pue_basis}).")
    assumptions.append(
        f"Cloud price ${r.cloud_usd_per_gpu_hour:.2f}/GPU-hour ({r.cloud_price_basis})."
    )

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

    return PlanResult(
        resolved=r,
        params=params,
        compute=compute,
        power=accounts.power,
        energy=accounts.energy,
        capex=accounts.capex,
        cost=accounts.cost,
        households=accounts.households,
        scaling=scaling,
        assumptions=tuple(assumptions),
        sources=tuple(sources),
    )
