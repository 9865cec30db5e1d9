"""Power, energy, emissions and the households comparison.

Following Epoch AI's method (Cottier et al. 2024; training-cost-trends ``energy.py``):
server power per accelerator is ``TDP x server_power_ratio`` (CPUs, memory, NICs, fans);
during training a server draws ``training_power_fraction`` of that; the facility draws
``PUE`` times the IT power (cooling, power conversion). The *provisioned* (peak) power is
what a site must be built and connected for; the *average* is what the meter sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpuplan import units


@dataclass(frozen=True)
class PowerAccount:
    """Power of a cluster, in watts."""

    gpus: int
    chip_w: float
    """Accelerator TDP times the number of accelerators."""
    peak_it_w: float
    """Servers at their maximum power: what the data hall is provisioned for."""
    it_w: float
    """Average IT power while training."""
    pue: float

    @property
    def facility_w(self) -> float:
        """Average facility power while training (IT x PUE)."""
        return self.it_w * self.pue

    @property
    def peak_facility_w(self) -> float:
        return self.peak_it_w * self.pue


def cluster_power(
    gpus: int,
    tdp_w: float,
    server_power_ratio: float,
    training_power_fraction: float,
    pue: float,
) -> PowerAccount:
    if gpus <= 0 or tdp_w <= 0:
        raise ValueError("gpus and tdp_w must be positive")
    if server_power_ratio < 1:
        raise ValueError(f"server_power_ratio must be >= 1, got {server_power_ratio}")
    if not 0 < training_power_fraction <= 1:
        raise ValueError(
            f"training_power_fraction must be in (0, 1], got {training_power_fraction}"
        )
    if pue < 1:
        raise ValueError(f"pue must be >= 1, got {pue}")
    peak_it_w = gpus * tdp_w * server_power_ratio
    return PowerAccount(
        gpus=gpus,
        chip_w=gpus * tdp_w,
        peak_it_w=peak_it_w,
        it_w=peak_it_w * training_power_fraction,
        pue=pue,
    )


@dataclass(frozen=True)
class EnergyAccount:
    """Energy of a run (and of a year of operation) with its emissions."""

    energy_j: float
    yearly_energy_j: float
    kgco2e_per_kwh: float

    @property
    def mwh(self) -> float:
        return units.joules_to_mwh(self.energy_j)

    @property
    def kwh(self) -> float:
        return units.joules_to_kwh(self.energy_j)

    @property
    def yearly_gwh(self) -> float:
        return self.yearly_energy_j / units.GWH_J

    @property
    def tco2e(self) -> float:
        return self.kwh * self.kgco2e_per_kwh / units.TONNE_KG

    @property
    def yearly_tco2e(self) -> float:
        return units.joules_to_kwh(self.yearly_energy_j) * self.kgco2e_per_kwh / units.TONNE_KG


def energy(power: PowerAccount, duration_s: float, kgco2e_per_kwh: float) -> EnergyAccount:
    """Facility energy over ``duration_s`` and over a year at the same average power."""
    if duration_s < 0:
        raise ValueError(f"duration_s must be >= 0, got {duration_s}")
    return EnergyAccount(
        energy_j=power.facility_w * duration_s,
        yearly_energy_j=power.facility_w * units.YEAR_S,
        kgco2e_per_kwh=kgco2e_per_kwh,
    )


def households_equivalent(yearly_energy_j: float, household_kwh_per_year: float) -> float:
    """How many average homes use as much electricity in a year."""
    return units.joules_to_kwh(yearly_energy_j) / household_kwh_per_year
