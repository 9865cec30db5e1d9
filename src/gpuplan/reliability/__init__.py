"""Failures, checkpoints and goodput of a synchronous training job; Monte Carlo of a run.

The formulas are in :mod:`~gpuplan.reliability.analytical`, the simulation in
:mod:`~gpuplan.reliability.simulation`; both are importable from here.
"""

from gpuplan.reliability.analytical import (
    DEFAULT_SEED,
    MODEL_ASSUMPTIONS,
    FailureLaw,
    IntervalRule,
    ReliabilityEstimate,
    ReliabilityRates,
    checkpoint_bytes,
    checkpoint_interval_s,
    checkpoint_write_s,
    daly_interval_s,
    estimate_reliability,
    expected_segment_s,
    expected_wall_time_s,
    goodput,
    goodput_first_order,
    job_mtbi_s,
    node_mtbi_s,
    optimal_interval_s,
    young_interval_s,
)
from gpuplan.reliability.from_catalog import estimate_reliability_from_catalog, rates_from_catalog
from gpuplan.reliability.simulation import (
    Distribution,
    SimulationResult,
    simulate_run,
)

__all__ = [
    "DEFAULT_SEED",
    "MODEL_ASSUMPTIONS",
    "Distribution",
    "FailureLaw",
    "IntervalRule",
    "ReliabilityEstimate",
    "ReliabilityRates",
    "SimulationResult",
    "checkpoint_bytes",
    "checkpoint_interval_s",
    "checkpoint_write_s",
    "daly_interval_s",
    "estimate_reliability",
    "estimate_reliability_from_catalog",
    "expected_segment_s",
    "expected_wall_time_s",
    "goodput",
    "goodput_first_order",
    "job_mtbi_s",
    "node_mtbi_s",
    "optimal_interval_s",
    "rates_from_catalog",
    "simulate_run",
    "young_interval_s",
]
