"""The scenario: what a user asks (schema), read from files and flags (parse), looked up in
the catalog (resolve); the parallel plan and precision types; distributions over inputs."""

from gpuplan.scenario.parse import load_scenario_file, parse_scenario, read_yaml_file
from gpuplan.scenario.plan import ParallelPlan, Recompute
from gpuplan.scenario.resolve import ResolvedScenario, resolve
from gpuplan.scenario.schema import MAX_GPUS, Parallelism, Precision, Scenario

__all__ = [
    "MAX_GPUS",
    "ParallelPlan",
    "Parallelism",
    "Precision",
    "Recompute",
    "ResolvedScenario",
    "Scenario",
    "load_scenario_file",
    "parse_scenario",
    "read_yaml_file",
    "resolve",
]
