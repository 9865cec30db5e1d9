"""The site- and price-dependent accounts of many runs at once, as numpy columns.

A sweep varies the site (PUE, grid, electricity price) and the prices (GPU, cloud) of
scenarios that share everything else: the same cluster running for the same wall-clock time.
:func:`site_columns` computes power, energy, emissions and cost for all of them in a few
array operations. The formulas are those of :func:`gpuplan.accounting.cluster.account_cluster`
(:mod:`~gpuplan.accounting.power`, :mod:`~gpuplan.accounting.cost`), applied to arrays in
the same order of operations, so every element equals the scalar account bit for bit
(tests/properties/test_sweep_rows.py holds them equal, and sweeps check it on every group).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gpuplan import units
from gpuplan.accounting.cost import CostFactors

Column = NDArray[np.float64]


@dataclass(frozen=True)
class ClusterRun:
    """What the site-dependent accounts take from the run and the cluster, not the site."""

    gpus: int
    tdp_w: float
    wall_time_s: float
    """Wall-clock time with failures: what energy and cost are counted over."""
    server_power_ratio: float
    training_power_fraction: float
    factors: CostFactors


@dataclass(frozen=True)
class SiteColumns:
    """Power (W), energy, emissions and cost (USD) of one run at many sites and prices."""

    it_w: float
    peak_it_w: float
    facility_w: Column
    peak_facility_w: Column
    energy_mwh: Column
    yearly_gwh: Column
    households: Column
    tco2e: Column
    yearly_tco2e: Column
    gpu_capex_usd: Column
    server_capex_usd: Column
    network_capex_usd: Column
    facility_capex_usd: float
    cluster_capex_usd: Column
    amortized_hardware_usd: Column
    amortized_facility_usd: float
    energy_usd: Column
    amortized_usd: Column
    cloud_usd: Column
    cloud_usd_per_hour: Column


def site_columns(
    run: ClusterRun,
    *,
    pue: Column,
    kgco2e_per_kwh: Column,
    power_usd_per_kwh: Column,
    gpu_price_usd: Column,
    cloud_usd_per_gpu_hour: Column,
    household_kwh_per_year: Column,
) -> SiteColumns:
    """The accounts of ``run`` at each site and price (arrays of one length)."""
    gpus, duration_s, factors = run.gpus, run.wall_time_s, run.factors
    peak_it_w = gpus * run.tdp_w * run.server_power_ratio  # power.cluster_power
    it_w = peak_it_w * run.training_power_fraction
    facility_w = it_w * pue
    energy_j = facility_w * duration_s  # power.energy
    yearly_energy_j = facility_w * units.YEAR_S
    kwh = energy_j / units.KWH_J
    gpu_capex = gpus * gpu_price_usd  # cost.capex
    servers = gpu_capex * factors.server_cost_ratio
    f = factors.cluster_interconnect_cost_fraction
    network = servers * f / (1 - f)
    facility_capex = peak_it_w * factors.facility_capex_usd_per_w
    hardware_capex = servers + network
    years = duration_s / units.YEAR_S  # cost.run_cost
    amortized_hardware = hardware_capex * factors.depreciation_per_year * years
    energy_usd = kwh * power_usd_per_kwh
    gpu_hours = gpus * duration_s / units.HOUR_S  # cluster.account_cluster
    return SiteColumns(
        it_w=it_w,
        peak_it_w=peak_it_w,
        facility_w=facility_w,
        peak_facility_w=peak_it_w * pue,
        energy_mwh=energy_j / units.MWH_J,
        yearly_gwh=yearly_energy_j / units.GWH_J,
        households=yearly_energy_j / units.KWH_J / household_kwh_per_year,
        tco2e=kwh * kgco2e_per_kwh / units.TONNE_KG,
        yearly_tco2e=yearly_energy_j / units.KWH_J * kgco2e_per_kwh / units.TONNE_KG,
        gpu_capex_usd=gpu_capex,
        server_capex_usd=servers,
        network_capex_usd=network,
        facility_capex_usd=facility_capex,
        cluster_capex_usd=hardware_capex + facility_capex,
        amortized_hardware_usd=amortized_hardware,
        amortized_facility_usd=facility_capex * years / factors.facility_lifetime_years,
        energy_usd=energy_usd,
        amortized_usd=amortized_hardware + energy_usd,
        cloud_usd=gpu_hours * cloud_usd_per_gpu_hour,
        cloud_usd_per_hour=gpus * cloud_usd_per_gpu_hour,
    )
