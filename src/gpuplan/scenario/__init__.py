"""The scenario: what a user asks (schema), read from files and flags (parse), looked up in
the catalog (resolve); the parallel plan and precision types; distributions over inputs.

The names below are imported on first use (PEP 562), so that importing one light module of
the package (``gpuplan.scenario.files`` for the command line's flags) does not import the
schema, the catalog and pydantic (issue 15, Speed: start-up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpuplan import lazy_exports

if TYPE_CHECKING:
    from gpuplan.scenario.parse import load_scenario_file, parse_scenario, read_yaml_file
    from gpuplan.scenario.plan import ParallelPlan, Recompute
    from gpuplan.scenario.resolve import ResolvedScenario, resolve
    from gpuplan.scenario.schema import MAX_GPUS, Parallelism, Precision, Scenario

_HOMES = {
    "load_scenario_file": "gpuplan.scenario.parse",
    "parse_scenario": "gpuplan.scenario.parse",
    "read_yaml_file": "gpuplan.scenario.parse",
    "ParallelPlan": "gpuplan.scenario.plan",
    "Recompute": "gpuplan.scenario.plan",
    "ResolvedScenario": "gpuplan.scenario.resolve",
    "resolve": "gpuplan.scenario.resolve",
    "MAX_GPUS": "gpuplan.scenario.schema",
    "Parallelism": "gpuplan.scenario.schema",
    "Precision": "gpuplan.scenario.schema",
    "Scenario": "gpuplan.scenario.schema",
}

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


__getattr__, __dir__ = lazy_exports(globals(), _HOMES, __all__)
