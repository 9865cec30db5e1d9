"""gpuplan: what a frontier AI training run takes, and what it buys.

>>> import gpuplan
>>> scenario = {"model": "llama3-405b", "hardware": "h100-sxm", "gpus": 16384}
>>> result = gpuplan.plan(gpuplan.parse_scenario(scenario))
>>> round(result.run.compute.model_flops / 1e25, 1)
3.9
"""

__version__ = "0.1.0"

from gpuplan.catalog import Catalog, load_catalog
from gpuplan.errors import CatalogError, GpuplanError, ScenarioError
from gpuplan.planning.result import PlanResult
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario
from gpuplan.scenario.resolve import resolve
from gpuplan.scenario.schema import Scenario

__all__ = [
    "Catalog",
    "CatalogError",
    "GpuplanError",
    "PlanResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_catalog",
    "parse_scenario",
    "plan",
    "resolve",
]
