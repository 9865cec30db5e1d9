"""What a cluster takes and what it buys: the seed article's question, for any cluster.

Given an accelerator, a count and a training time, :func:`assess_cluster` gives its capex,
power, energy, emissions on several grids, households-equivalent, cloud price, the compute
it can deliver at a utilisation, and the compute-optimal model that compute trains with the
loss a scaling law predicts.

:func:`account_site` is the one account of a run at a site and prices; a sweep calls it with
columns of sites and prices (:data:`~gpuplan.accounting.columns.Quantity`), a plan through
:func:`account_cluster` with floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic

from gpuplan import units
from gpuplan.accounting import (
    CapexAccount,
    CostFactors,
    EnergyAccount,
    PowerAccount,
    RunCost,
    capex,
    cluster_power,
    energy,
    households_equivalent,
    run_cost,
)
from gpuplan.accounting.columns import Quantity
from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import Accelerator
from gpuplan.errors import ScenarioError
from gpuplan.fitting.scaling_laws import ComputeOptimal, compute_optimal
from gpuplan.reliability import estimate_reliability_from_catalog


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
class ClusterRun:
    """What the accounts take from the run and the cluster, not the site."""

    gpus: int
    tdp_w: float
    duration_s: float
    """Wall-clock time, failures included: what energy and cost are counted over."""
    server_power_ratio: float
    training_power_fraction: float
    factors: CostFactors


def cluster_run(
    catalog: Catalog, accelerator: Accelerator, gpus: int, duration_s: float
) -> ClusterRun:
    def system(parameter_id: str) -> float:
        return catalog.system(parameter_id).for_accelerator(accelerator.id)

    return ClusterRun(
        gpus=gpus,
        tdp_w=accelerator.tdp_w,
        duration_s=duration_s,
        server_power_ratio=system("server_power_ratio"),
        training_power_fraction=system("training_power_fraction"),
        factors=cost_factors(catalog, accelerator),
    )


@dataclass(frozen=True)
class ClusterAccounts(Generic[Quantity]):
    """Power, energy, emissions and cost of running a cluster for a while."""

    power: PowerAccount[Quantity]
    energy: EnergyAccount[Quantity]
    capex: CapexAccount[Quantity]
    cost: RunCost[Quantity]
    households: Quantity
    """Average homes using as much electricity in a year as the facility."""
    cloud_usd_per_hour: Quantity
    """Renting the whole cluster."""


def account_site(
    run: ClusterRun,
    *,
    pue: Quantity,
    kgco2e_per_kwh: Quantity,
    power_usd_per_kwh: Quantity,
    gpu_price_usd: Quantity,
    cloud_usd_per_gpu_hour: Quantity,
    household_kwh_per_year: Quantity,
) -> ClusterAccounts[Quantity]:
    """The accounts of ``run`` at a site and prices: floats, or columns of one length."""
    gpus, duration_s, factors = run.gpus, run.duration_s, run.factors
    power = cluster_power(gpus, run.tdp_w, run.server_power_ratio, run.training_power_fraction, pue)
    energy_account = energy(power, duration_s, kgco2e_per_kwh)
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
    cloud_usd_per_hour = gpus * cloud_usd_per_gpu_hour
    return ClusterAccounts(
        power, energy_account, capex_account, cost, households, cloud_usd_per_hour
    )


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
) -> ClusterAccounts[float]:
    """Everything that depends on the cluster and the site, not on the model."""
    return account_site(
        cluster_run(catalog, accelerator, gpus, duration_s),
        pue=pue,
        kgco2e_per_kwh=kgco2e_per_kwh,
        power_usd_per_kwh=power_usd_per_kwh,
        gpu_price_usd=gpu_price_usd,
        cloud_usd_per_gpu_hour=cloud_usd_per_gpu_hour,
        household_kwh_per_year=household_kwh_per_year,
    )


H100_ID = "h100-sxm"
"""The catalog accelerator used as the unit of 'H100-equivalents'."""


@dataclass(frozen=True)
class ClusterAssessment:
    accelerator: Accelerator
    gpus: int
    days: float
    mfu: float
    mfu_is_assumed: bool
    peak_flops_per_s: float
    """Dense BF16 peak of the whole cluster."""
    h100_equivalents: float
    """Accelerators times their BF16 peak over the H100 SXM's."""
    accounts: ClusterAccounts[float]
    """Power, energy and cost at the first grid and the site's price and PUE."""
    yearly_tco2e_by_grid: dict[str, float]
    households_by_country: dict[str, float]
    trainable_flops: float
    """Model FLOPs the cluster delivers in ``days`` at ``mfu``, net of failures."""
    goodput: float
    """Useful fraction of the wall time (failures, checkpoints, restarts; gpuplan.reliability)."""
    optimal: ComputeOptimal
    law_id: str

    @property
    def cloud_usd_per_hour(self) -> float:
        return self.accounts.cloud_usd_per_hour


def assess_cluster(
    catalog: Catalog,
    accelerator_id: str,
    gpus: int,
    days: float,
    *,
    grids: Sequence[str] = ("us-average",),
    countries: Sequence[str] = ("us",),
    mfu: float | None = None,
    pue: float | None = None,
    power_usd_per_kwh: float | None = None,
    gpu_price_usd: float | None = None,
) -> ClusterAssessment:
    if gpus <= 0 or days <= 0:
        raise ValueError(f"gpus and days must be positive, got {gpus}, {days}")
    if not grids or not countries:
        raise ValueError("give at least one grid and one household country")
    accelerator = catalog.accelerator(accelerator_id)
    mfu_is_assumed = mfu is None
    if mfu is None:
        mfu = catalog.system("typical_mfu").for_accelerator(accelerator.id)
    first_grid = catalog.grid(grids[0])
    if power_usd_per_kwh is None:
        power_usd_per_kwh = catalog.electricity_price(first_grid.id).usd_per_kwh
    duration_s = days * units.DAY_S
    accounts = account_cluster(
        catalog,
        accelerator,
        gpus,
        duration_s,
        pue=pue if pue is not None else catalog.pue["typical"].value,
        kgco2e_per_kwh=first_grid.kgco2e_per_kwh,
        power_usd_per_kwh=power_usd_per_kwh,
        gpu_price_usd=gpu_price_usd or accelerator.purchase.usd,
        cloud_usd_per_gpu_hour=accelerator.default_cloud.usd_per_hour,
        household_kwh_per_year=catalog.household(countries[0]).kwh_per_year,
    )
    yearly_kwh = accounts.energy.yearly_energy_j / units.KWH_J
    peak = gpus * accelerator.peak_bf16_flops_per_s
    goodput = _goodput(catalog, accelerator.id, gpus, peak * mfu * duration_s, duration_s)
    trainable = peak * mfu * duration_s * goodput
    law = catalog.scaling_law()
    h100 = catalog.accelerator(H100_ID)
    return ClusterAssessment(
        accelerator=accelerator,
        gpus=gpus,
        days=days,
        mfu=mfu,
        mfu_is_assumed=mfu_is_assumed,
        peak_flops_per_s=peak,
        h100_equivalents=peak / h100.peak_bf16_flops_per_s,
        accounts=accounts,
        yearly_tco2e_by_grid={
            g: yearly_kwh * catalog.grid(g).kgco2e_per_kwh / units.TONNE_KG for g in grids
        },
        households_by_country={
            c: yearly_kwh / catalog.household(c).kwh_per_year for c in countries
        },
        trainable_flops=trainable,
        goodput=goodput,
        optimal=compute_optimal(law, trainable),
        law_id=law.id,
    )


def _goodput(
    catalog: Catalog, accelerator_id: str, gpus: int, flops_at_full_time: float, duration_s: float
) -> float:
    """Failures eat into the time: goodput depends on the checkpoint size, hence on the
    model trained, which depends on the compute delivered; two rounds settle it. A cluster
    that cannot make progress (:attr:`gpuplan.reliability.analytical.ReliabilityEstimate.
    can_progress`, the test the plan applies) is an error naming ``gpus`` and the times."""
    goodput = 1.0
    for _ in range(2):
        size = compute_optimal(catalog.scaling_law(), flops_at_full_time * goodput).params
        failures = estimate_reliability_from_catalog(size, gpus, duration_s, catalog)
        if not failures.can_progress or failures.goodput <= 0:
            raise ScenarioError(
                "gpus",
                f"{gpus:,} x {accelerator_id} cannot make progress: one interruption every "
                f"{failures.mtbi_s:,.0f} s on average (the catalog's failure rate per GPU-hour "
                f"times {gpus:,} GPUs), shorter than a restart and a checkpoint write "
                f"({failures.progress_overhead_s:,.0f} s); use fewer GPUs",
            )
        goodput = failures.goodput
    return goodput
