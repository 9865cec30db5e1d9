"""gpuplan: what a frontier AI training run takes, and what it buys.

>>> import gpuplan
>>> scenario = {"model": "llama3-405b", "hardware": "h100-sxm", "gpus": 16384}
>>> result = gpuplan.plan(gpuplan.parse_scenario(scenario))
>>> round(result.run.compute.model_flops / 1e25, 1)
3.9

The names below are imported on first use (PEP 562), so that ``import gpuplan.cli`` or
``gpuplan --help`` does not pay for the whole library.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from gpuplan.catalog import Catalog, load_catalog
    from gpuplan.checks.suite import ValidationSuite, validate_all
    from gpuplan.errors import CatalogError, GpuplanError, ScenarioError
    from gpuplan.planning.result import PlanResult
    from gpuplan.planning.run import plan
    from gpuplan.scenario.parse import parse_scenario
    from gpuplan.scenario.resolve import resolve
    from gpuplan.scenario.schema import Scenario

_HOMES = {
    "Catalog": "gpuplan.catalog",
    "load_catalog": "gpuplan.catalog",
    "CatalogError": "gpuplan.errors",
    "GpuplanError": "gpuplan.errors",
    "ScenarioError": "gpuplan.errors",
    "PlanResult": "gpuplan.planning.result",
    "plan": "gpuplan.planning.run",
    "parse_scenario": "gpuplan.scenario.parse",
    "resolve": "gpuplan.scenario.resolve",
    "Scenario": "gpuplan.scenario.schema",
    "ValidationSuite": "gpuplan.checks.suite",
    "validate_all": "gpuplan.checks.suite",
}

__all__ = [
    "Catalog",
    "CatalogError",
    "GpuplanError",
    "PlanResult",
    "Scenario",
    "ScenarioError",
    "ValidationSuite",
    "__version__",
    "load_catalog",
    "parse_scenario",
    "plan",
    "resolve",
    "validate_all",
]


def lazy_exports(
    namespace: dict[str, Any], homes: dict[str, str], exports: list[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's PEP 562 ``__getattr__`` and ``__dir__``: each name of ``homes`` is
    imported from its module on first use and kept in ``namespace`` (the package's
    globals). Shared by the packages that defer their imports (``gpuplan.scenario``)."""
    package = namespace["__name__"]

    def getattr_(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return getattr_, dir_


__getattr__, __dir__ = lazy_exports(globals(), _HOMES, __all__)
