"""The answer to a scenario mapping, whatever it holds: one function every door calls.

A scenario with ranges or distributions gets the Monte Carlo (P10/P50/P90 and drivers);
any other gets its plan. Both come back as their JSON mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gpuplan.catalog.loader import Catalog, load_catalog
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario
from gpuplan.studies.uncertainty import (
    DEFAULT_SAMPLES,
    DEFAULT_SEED,
    has_distributions,
    run_uncertainty,
)


def answer(
    data: Mapping[str, Any],
    *,
    catalog: Catalog | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    """The JSON answer to a scenario mapping (a plan, or its spread when it holds ranges)."""
    catalog = catalog or load_catalog()
    if has_distributions(data):
        return run_uncertainty(data, samples=samples, seed=seed, catalog=catalog).to_dict()
    return plan(parse_scenario(data), catalog).to_dict()
