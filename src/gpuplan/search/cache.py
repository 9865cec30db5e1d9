"""Plans in bulk: each distinct plan search runs once, and results become flat rows.

:func:`gpuplan.planning.run.plan` searches parallel plans (~0.5 s) whenever a global batch is given
and the parallelism block is not complete. The search depends only on its arguments: the
model, the accelerator, the GPU count, the global batch, the sequence length, the precision,
the fixed parallelism fields and the framework profile. Sites, prices, PUE, grids and the
training length do not enter it, so a sweep over them needs one search per distinct key.

:func:`cached_plan` passes ``plan()`` a search that consults a :class:`SearchCache`.

Rows: :func:`flat_outputs` flattens ``PlanResult.to_dict()`` into dotted keys
(``cost.cluster_capex_usd``), leaving out lists (assumptions, sources, plan lists), the
echoed scenario and the search's wall-clock timings (they differ from run to run).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import Accelerator, Model
from gpuplan.errors import GpuplanError
from gpuplan.model.performance import DEFAULT_FRAMEWORK
from gpuplan.planning.run import PlanResult, plan
from gpuplan.scenario.parse import parse_scenario
from gpuplan.scenario.schema import Parallelism, Scenario
from gpuplan.search.plans import SearchOptions, SearchResult
from gpuplan.search.plans import search as _search_uncached

SearchKey = tuple[Model, str, int, int, int, bool, SearchOptions | None, str]
"""(model, accelerator id, GPUs, global batch, sequence length, fp8, fixed fields, framework)."""

Scalar = bool | int | float | str | None

SKIPPED = frozenset(
    {
        "version", "scenario", "assumptions", "sources", "search.elapsed_s",
        "search.plans_per_s", "search.pruned", "search.top", "search.pareto", "search.notes",
    }
)  # fmt: skip
"""Keys of ``to_dict()`` that are not per-scenario numbers: echoes, lists and timings."""

BLOCKS = frozenset(
    {"plan", "memory", "model", "step", "search", "run", "power", "energy", "emissions",
     "cost", "scaling"}
)  # fmt: skip
"""Blocks that are null as a whole when not modelled (their keys are then simply absent)."""

DEFAULT_MAX_ENTRIES = 4096
PARALLELISM_FIELDS = tuple(Parallelism.model_fields)


class SearchCache:
    """Plan searches by key; least recently used dropped beyond ``max_entries``.

    Thread-safe: concurrent misses on one key may both search (the results are equal).
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[SearchKey, SearchResult] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: SearchKey) -> SearchResult | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            return found

    def put(self, key: SearchKey, result: SearchResult) -> None:
        with self._lock:
            self._entries[key] = result
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def update(self, entries: Mapping[SearchKey, SearchResult]) -> None:
        """Add searches made elsewhere (another worker, a priming pass)."""
        for key, result in entries.items():
            self.put(key, result)

    def search(
        self,
        catalog: Catalog,
        model: Model,
        accelerator: Accelerator,
        gpus: int,
        *,
        global_batch: int,
        seq_len: int,
        fp8: bool = False,
        options: SearchOptions | None = None,
        framework_id: str = DEFAULT_FRAMEWORK,
    ) -> tuple[SearchKey, SearchResult]:
        """:func:`gpuplan.search.search`, once per key; returns the key with the result."""
        key: SearchKey = (model, accelerator.id, gpus, global_batch, seq_len, fp8, options,
                          framework_id)  # fmt: skip
        found = self.get(key)
        if found is None:
            with self._lock:
                self.misses += 1
            found = _search_uncached(catalog, model, accelerator, gpus, global_batch=global_batch,
                                     seq_len=seq_len, fp8=fp8, options=options,
                                     framework_id=framework_id)  # fmt: skip
            self.put(key, found)
        return key, found


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
    """:func:`flat_outputs` of ``result.to_dict()``, without serialising the search's plan
    lists (top and Pareto plans: most of the cost of ``to_dict`` and dropped anyway)."""
    if result.search is None:
        return flat_outputs(result.to_dict())
    trimmed = replace(result, search=replace(result.search, top=(), pareto=()))
    return flat_outputs(trimmed.to_dict())


def flat_plan(
    data: Mapping[str, Any],
    catalog: Catalog,
    cache: SearchCache,
    used: dict[SearchKey, SearchResult] | None = None,
) -> dict[str, Scalar]:
    """One scenario mapping planned and flattened. Bad input (a :class:`GpuplanError`) is a
    row too: ``fits`` false and the message under ``error``."""
    try:
        result = cached_plan(parse_scenario(data), catalog, cache, used)
    except GpuplanError as exc:
        return {"error": str(exc), "fits": False}
    return {"error": None, **flat_result(result)}


def search_group(data: Mapping[str, Any]) -> str | None:
    """Scenario mappings with equal groups need the same plan search; None needs none.

    Read from the raw mapping (cheap): two mappings that spell one search differently only
    cost a second search, never a wrong result (the cache key is the search's arguments).
    """
    training = data.get("training")
    if not isinstance(training, Mapping) or training.get("global_batch") is None:
        return None
    fixed = data.get("parallelism")
    if isinstance(fixed, Mapping) and all(fixed.get(k) is not None for k in PARALLELISM_FIELDS):
        return None  # a complete plan is evaluated as given, not searched
    parts = [data.get("model"), data.get("hardware"), data.get("gpus"), data.get("parallelism")]
    parts += [training.get(k) for k in ("global_batch", "seq_len", "precision")]
    return json.dumps(parts, sort_keys=True, default=str)
