"""Run accounting: compute, power and energy, emissions, cost. Usable on its own."""

from gpuplan.accounting.compute import (
    ComputeAccount,
    account_duration,
    account_tokens,
    tokens_per_second,
)
from gpuplan.accounting.cost import CapexAccount, CostFactors, RunCost, capex, run_cost
from gpuplan.accounting.power import (
    EnergyAccount,
    PowerAccount,
    cluster_power,
    energy,
    households_equivalent,
)

__all__ = [
    "CapexAccount",
    "ComputeAccount",
    "CostFactors",
    "EnergyAccount",
    "PowerAccount",
    "RunCost",
    "account_duration",
    "account_tokens",
    "capex",
    "cluster_power",
    "energy",
    "households_equivalent",
    "run_cost",
    "tokens_per_second",
]
