"""Power, energy, emissions and the households comparison.

Following Epoch AI's method (Cottier et al. 2024; training-cost-trends ``energy.py``):
server power per accelerator is ``TDP x server_power_ratio`` (CPUs, memory, NICs, fans);
during training a server draws ``training_power_fraction`` of that; the facility draws
``PUE`` times the IT power (cooling, power conversion). The *provisioned* (peak) power is
what a site must be built and connected for; the *average* is what the meter sees.

The PUE, the grid's carbon intensity and the households' consumption are each a
:data:`~gpuplan.accounting.columns.Quantity`: a float, or a column of sites at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic

from gpuplan import units
from gpuplan.accounting.columns import Quantity, require_at_least


@dataclass(frozen=True)
class PowerAccount(Generic[Quantity]):
    """Power of a cluster, in watts."""

    gpus: int
    chip_w: float
    """Accelerator TDP times the number of accelerators."""
    peak_it_w: float
    """Servers at their maximum power: what the data hall is provisioned for."""
    it_w: float
    """Average IT power while training."""
    pue: Quantity

    @property
    def facility_w(self) -> Quantity:
        """Average facility power while training (IT x PUE)."""
        return self.it_w * self.pue

    @property
    def peak_facility_w(self) -> Quantity:
        return self.peak_it_w * self.pue


def cluster_power(
    gpus: int,
    tdp_w: float,
    server_power_ratio: float,
    training_power_fraction: float,
    pue: Quantity,
) -> PowerAccount[Quantity]:
    if gpus <= 0 or tdp_w <= 0:
        raise ValueError("gpus and tdp_w must be positive")
    if server_power_ratio < 1:
        raise ValueError(f"server_power_ratio must be >= 1, got {server_power_ratio}")
    if not 0 < training_power_fraction <= 1:
        raise ValueError(
            f"training_power_fraction must be in (0, 1], got {training_power_fraction}"
        )
    require_at_least("pue", pue, 1)
    peak_it_w = gpus * tdp_w * server_power_ratio
    return PowerAccount(
        gpus=gpus,
        chip_w=gpus * tdp_w,
        peak_it_w=peak_it_w,
        it_w=peak_it_w * training_power_fraction,
        pue=pue,
    )


@dataclass(frozen=True)
class EnergyAccount(Generic[Quantity]):
    """Energy of a run (and of a year of operation) with its emissions."""

    energy_j: Quantity
    yearly_energy_j: Quantity
    kgco2e_per_kwh: Quantity

    @property
    def mwh(self) -> Quantity:
        return self.energy_j / units.MWH_J

    @property
    def kwh(self) -> Quantity:
        return self.energy_j / units.KWH_J

    @property
    def yearly_gwh(self) -> Quantity:
        return self.yearly_energy_j / units.GWH_J

    @property
    def tco2e(self) -> Quantity:
        return self.kwh * self.kgco2e_per_kwh / units.TONNE_KG

    @property
    def yearly_tco2e(self) -> Quantity:
        return self.yearly_energy_j / units.KWH_J * self.kgco2e_per_kwh / units.TONNE_KG


def energy(
    power: PowerAccount[Quantity], duration_s: float, kgco2e_per_kwh: Quantity
) -> EnergyAccount[Quantity]:
    """Facility energy over ``duration_s`` and over a year at the same average power."""
    if duration_s < 0:
        raise ValueError(f"duration_s must be >= 0, got {duration_s}")
    return EnergyAccount(
        energy_j=power.facility_w * duration_s,
        yearly_energy_j=power.facility_w * units.YEAR_S,
        kgco2e_per_kwh=kgco2e_per_kwh,
    )


def households_equivalent(yearly_energy_j: Quantity, household_kwh_per_year: Quantity) -> Quantity:
    """How many average homes use as much electricity in a year."""
    return yearly_energy_j / units.KWH_J / household_kwh_per_year
