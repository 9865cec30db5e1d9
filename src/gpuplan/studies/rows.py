"""Plans in bulk: each distinct plan search runs once, and results become flat rows.

:func:`cached_plan` passes :func:`gpuplan.planning.run.plan` a search that consults a
:class:`~gpuplan.search.cache.SearchCache`. Rows: :func:`flat_outputs` flattens
``PlanResult.to_dict()`` into dotted keys (``cost.cluster_capex_usd``), leaving out lists
(assumptions, sources, plan lists), the echoed scenario and the search's wall-clock timings
(they differ from run to run).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gpuplan.catalog.loader import Catalog
from gpuplan.errors import GpuplanError
from gpuplan.planning.result import PlanResult
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario
from gpuplan.scenario.schema import Parallelism, Scenario
from gpuplan.search.cache import SearchCache, SearchKey
from gpuplan.search.plans import SearchResult

Scalar = bool | int | float | str | None

SKIPPED = frozenset(
    {
        "version", "scenario", "assumptions", "sources", "search.elapsed_s",
        "search.plans_per_s", "search.pruned", "search.top", "search.pareto", "search.notes",
        "intervals.basis",
    }
)  # fmt: skip
"""Keys of ``to_dict()`` that are not per-scenario numbers: echoes, lists and timings."""

BLOCKS = frozenset(
    {"plan", "memory", "model", "step", "search", "run", "power", "energy", "emissions",
     "cost", "scaling", "intervals"}
)  # fmt: skip
"""Blocks that are null as a whole when not modelled (their keys are then simply absent)."""

PARALLELISM_FIELDS = tuple(Parallelism.model_fields)


def cached_plan(
    scenario: Scenario,
    catalog: Catalog,
    cache: SearchCache,
    used: dict[SearchKey, SearchResult] | None = None,
) -> PlanResult:
    """:func:`gpuplan.planning.run.plan`, with its plan search (if any) taken from ``cache``.

    The result equals ``plan(scenario, catalog)`` except that a reused search reports the
    wall-clock time of the run that made it. The searches used are added to ``used``.
    """

    def search_fn(*args: Any, **kwargs: Any) -> SearchResult:
        key, result = cache.search(*args, **kwargs)  # the signature of search.search
        if used is not None:
            used[key] = result
        return result

    return plan(scenario, catalog, search_fn=search_fn)


def flat_outputs(data: Mapping[str, Any], prefix: str = "") -> dict[str, Scalar]:
    """``PlanResult.to_dict()`` as dotted keys with scalar values (see :data:`SKIPPED`)."""
    out: dict[str, Scalar] = {}
    for key, value in data.items():
        path = prefix + key
        kind = type(value)  # to_dict builds plain dicts and lists: exact types are fastest
        if kind is list or kind is tuple or path in SKIPPED:
            continue
        if kind is dict:
            out.update(flat_outputs(value, path + "."))
        elif value is not None or path not in BLOCKS:
            out[path] = value
    return out


def flat_result(result: PlanResult) -> dict[str, Scalar]:
    """:func:`flat_outputs` of ``result.to_dict()``, without building the lists it drops
    (the echoed scenario, assumptions, sources, the search's top and Pareto plans)."""
    return flat_outputs(result.to_dict(lists=False))


def flat_plan(
    data: Mapping[str, Any],
    catalog: Catalog,
    cache: SearchCache,
    used: dict[SearchKey, SearchResult] | None = None,
) -> dict[str, Scalar]:
    """One scenario mapping planned and flattened. Bad input (a :class:`GpuplanError`) is a
    row too: ``fits`` false and the message under ``error``."""
    return plan_row(data, catalog, cache, used)[0]


def plan_row(
    data: Mapping[str, Any],
    catalog: Catalog,
    cache: SearchCache,
    used: dict[SearchKey, SearchResult] | None = None,
) -> tuple[dict[str, Scalar], PlanResult | None]:
    """:func:`flat_plan`'s row and the result it flattens (None for bad input)."""
    try:
        result = cached_plan(parse_scenario(data), catalog, cache, used)
    except GpuplanError as exc:
        return {"error": str(exc), "fits": False}, None
    return {"error": None, **flat_result(result)}, result


def search_group(data: Mapping[str, Any]) -> str | None:
    """Scenario mappings with equal groups need the same plan search; None needs none (a
    plan given in full). Every other plan is searched, with or without a global batch.

    Read from the raw mapping (cheap): two mappings that spell one search differently only
    cost a second search, never a wrong result (the cache key is the search's arguments).
    """
    training = data.get("training")
    training = training if isinstance(training, Mapping) else {}
    fixed = data.get("parallelism")
    if isinstance(fixed, Mapping) and all(fixed.get(k) is not None for k in PARALLELISM_FIELDS):
        return None  # a complete plan is evaluated as given, not searched
    parts = [data.get("model"), data.get("hardware"), data.get("gpus"), data.get("parallelism"),
             data.get("framework"), data.get("cluster")]  # fmt: skip
    parts += [training.get(k) for k in ("global_batch", "seq_len", "precision")]
    if training.get("global_batch") is None:
        # The default batch follows the run's length (planning.defaults): part of the key.
        parts += [training.get(k) for k in ("tokens", "days", "samples")]
    return json.dumps(parts, sort_keys=True, default=str)
