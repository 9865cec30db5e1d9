"""Cost of a cluster and of a run: capex, Epoch AI's amortised cost, and cloud rental.

- GPU capex: accelerators times their price (the seed's "$3 billion in processors").
- Cluster capex: servers (``server_cost_ratio`` x chip price), cluster networking (a fixed
  fraction ``f`` of the cluster hardware, so hardware = servers / (1 - f)) and the building
  (``facility_capex_usd_per_w`` x provisioned IT power).
- Amortised run cost (Cottier et al. 2024, arXiv 2405.21015, sec. 2.2): the hardware loses
  value as price-performance improves, at ``r = 0.14 x ln 10`` per year, so a run of ``T``
  hours on hardware worth ``P`` costs ``P r T / 8766``; plus the energy at the site's price.
  The facility share is reported on its own line: Epoch's figure does not include it.
- Cloud: GPU-hours times a rental price per GPU-hour.

The GPU, electricity and cloud prices are each a
:data:`~gpuplan.accounting.columns.Quantity`: a float, or a column of prices at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generic

from gpuplan import units
from gpuplan.accounting.columns import Quantity, require_at_least


@dataclass(frozen=True)
class CostFactors:
    """The system factors of the cost model (from the catalog's systems.yaml)."""

    server_cost_ratio: float
    cluster_interconnect_cost_fraction: float
    facility_capex_usd_per_w: float
    facility_lifetime_years: float
    hardware_depreciation_ooms_per_year: float

    def __post_init__(self) -> None:
        if self.server_cost_ratio < 1:
            raise ValueError("server_cost_ratio must be >= 1")
        if not 0 <= self.cluster_interconnect_cost_fraction < 1:
            raise ValueError("cluster_interconnect_cost_fraction must be in [0, 1)")
        if self.facility_capex_usd_per_w < 0 or self.facility_lifetime_years <= 0:
            raise ValueError("facility capex must be >= 0 and its lifetime > 0")
        if self.hardware_depreciation_ooms_per_year <= 0:
            raise ValueError("hardware_depreciation_ooms_per_year must be > 0")

    @property
    def depreciation_per_year(self) -> float:
        """Fraction of the hardware value lost per year (continuous rate)."""
        return self.hardware_depreciation_ooms_per_year * math.log(10)


@dataclass(frozen=True)
class CapexAccount(Generic[Quantity]):
    gpu_capex_usd: Quantity
    server_capex_usd: Quantity
    """Servers including their accelerators."""
    network_capex_usd: Quantity
    facility_capex_usd: float

    @property
    def hardware_capex_usd(self) -> Quantity:
        return self.server_capex_usd + self.network_capex_usd

    @property
    def cluster_capex_usd(self) -> Quantity:
        """Full capex: servers, network and the building."""
        return self.hardware_capex_usd + self.facility_capex_usd


def capex(
    gpus: int, gpu_price_usd: Quantity, peak_it_w: float, factors: CostFactors
) -> CapexAccount[Quantity]:
    if gpus <= 0:
        raise ValueError(f"gpus must be positive, got {gpus}")
    require_at_least("gpu_price_usd", gpu_price_usd, 0, strict=True)
    gpu_capex = gpus * gpu_price_usd
    servers = gpu_capex * factors.server_cost_ratio
    f = factors.cluster_interconnect_cost_fraction
    return CapexAccount(
        gpu_capex_usd=gpu_capex,
        server_capex_usd=servers,
        network_capex_usd=servers * f / (1 - f),
        facility_capex_usd=peak_it_w * factors.facility_capex_usd_per_w,
    )


@dataclass(frozen=True)
class RunCost(Generic[Quantity]):
    amortized_hardware_usd: Quantity
    energy_usd: Quantity
    amortized_facility_usd: float
    cloud_usd: Quantity

    @property
    def amortized_usd(self) -> Quantity:
        """Epoch AI's 'hardware capex + energy' cost of the run (facility excluded)."""
        return self.amortized_hardware_usd + self.energy_usd


def run_cost(
    capex_account: CapexAccount[Quantity],
    duration_s: float,
    gpu_hours: float,
    energy_kwh: Quantity,
    power_usd_per_kwh: Quantity,
    cloud_usd_per_gpu_hour: Quantity,
    factors: CostFactors,
) -> RunCost[Quantity]:
    """Cost of using the cluster for ``duration_s`` seconds."""
    if duration_s < 0 or gpu_hours < 0:
        raise ValueError("duration and GPU-hours must be >= 0")
    require_at_least("energy_kwh", energy_kwh, 0)
    years = duration_s / units.YEAR_S
    hardware = capex_account.hardware_capex_usd * factors.depreciation_per_year * years
    facility = capex_account.facility_capex_usd * years / factors.facility_lifetime_years
    return RunCost(
        amortized_hardware_usd=hardware,
        energy_usd=energy_kwh * power_usd_per_kwh,
        amortized_facility_usd=facility,
        cloud_usd=gpu_hours * cloud_usd_per_gpu_hour,
    )
