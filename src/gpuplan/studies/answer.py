"""The answer to a scenario mapping, whatever it holds: one function every door calls.

- ``gpus`` as a list (``[8, 16, 32]``, ``"8,16,32"``) or a range (``"1024..131072"``):
  one answer per count, ``{"results": [...]}``;
- ranges or distributions in other fields: the Monte Carlo (P10/P50/P90 and drivers);
- otherwise: the plan.

The CLI (plan, search, report), the web app (/api/plan) and the golden tests call this.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from gpuplan.catalog.loader import Catalog, load_catalog
from gpuplan.defaults import DEFAULT_SAMPLES, DEFAULT_SEED
from gpuplan.errors import ScenarioError, shorten
from gpuplan.planning.result import PlanResult
from gpuplan.planning.run import plan
from gpuplan.scenario.distributions import find_distributions, has_distributions
from gpuplan.scenario.parse import parse_scenario
from gpuplan.scenario.schema import Scenario
from gpuplan.search.cache import SearchCache
from gpuplan.search.plans import SearchOptions, SearchResult, gpu_range, search
from gpuplan.studies.budget import is_budget_question, plan_budget
from gpuplan.studies.time_to_train import shortest_run_json

MAX_COUNTS = 64
"""GPU counts one question may ask for (a list or a range)."""

COUNTS_HELP = "give a count (16384), a list (8,16,32) or a range (1024..131072)"


def _count(text: str, field: str, whole: object = None) -> int:
    """One count of a GPU list or range (``whole``: the value it is part of, for the message).
    ASCII digits only: '²' passed ``str.isdigit`` and was a ValueError traceback."""
    cleaned = text.strip().replace("_", "")
    if not (cleaned.isascii() and cleaned.isdigit()) or len(cleaned) > 9:
        part = f"{text!r} is not a count of at most 9 digits 0-9; " if whole is not None else ""
        raise ScenarioError(f"{field} = {shorten(repr(text if whole is None else whole))}",
                            part + COUNTS_HELP)  # fmt: skip
    return int(cleaned)


def gpu_counts(value: object, field: str = "gpus") -> list[int] | None:
    """The GPU counts of a list or range value; None for a single count (or a distribution).

    Commas separate counts: ``"16,384"`` is two counts, write ``16384`` or ``16_384``.
    """
    if isinstance(value, list | tuple):
        counts = [
            v if isinstance(v, int) and not isinstance(v, bool) else _count(str(v), field, value)
            for v in value
        ]
    elif isinstance(value, str) and ".." in value:
        low, _, high = value.partition("..")
        counts = gpu_range(_count(low, field, value), _count(high, field, value))
    elif isinstance(value, str) and "," in value:
        counts = [_count(part, field, value) for part in value.split(",")]
    else:
        return None
    if not counts or len(counts) > MAX_COUNTS:
        raise ScenarioError(
            f"{field} = {value!r}", f"asks for {len(counts)} counts; 1 to {MAX_COUNTS} allowed"
        )
    twice = next((c for i, c in enumerate(counts) if c in counts[:i]), None)
    if twice is not None:  # [64, 64] planned 64 twice, and 'the shortest run' was either
        raise ScenarioError(f"{field} = {value!r}", f"{twice} is given twice; list each count once")
    return counts


def single_scenarios(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The scenario mapping once per GPU count it asks for (once when it names one)."""
    value = data.get("gpus")
    if isinstance(value, str) and value.strip().replace("_", "").isdigit():  # '²' refused
        return [{**data, "gpus": _count(value, "gpus")}]
    counts = gpu_counts(value)
    return [dict(data)] if counts is None else [{**data, "gpus": n} for n in counts]


def one_value_each(data: Mapping[str, Any], door: str) -> None:
    """Refuse a range or distribution where ``door`` takes one value, naming its path (the
    schema said 'Input should be a valid number' of a mapping the user meant as a range)."""
    if has_distributions(data):
        path, _ = next(iter(find_distributions(data).items()))
        value: Any = data
        for key in path.split("."):
            value = value[key]
        raise ScenarioError(
            f"{path} = {shorten(repr(value))}",
            f"{door} takes one value here; a range or distribution is answered by "
            "`gpuplan plan` with one GPU count (P10/P50/P90), or by plan --json",
        )


def plan_results(data: Mapping[str, Any], catalog: Catalog | None = None) -> list[PlanResult]:
    """The plan of a scenario mapping without distributions, once per GPU count."""
    one_value_each(data, "a plan table")
    catalog = catalog or load_catalog()
    return [plan(parse_scenario(one), catalog) for one in single_scenarios(data)]


def search_plans(
    data: Mapping[str, Any],
    catalog: Catalog | None = None,
    *,
    top: int = 5,
    allow_tp_beyond_domain: bool = False,
    cache: SearchCache | None = None,
) -> PlanResult:
    """The plan of one scenario mapping, its search listing ``top`` plans (and letting TP
    span scale-up domains when asked): what ``gpuplan search`` and /api/search show. With
    ``cache``, the search is taken from it (the web server shares one across requests)."""

    def search_fn(*args: Any, options: SearchOptions, **kwargs: Any) -> SearchResult:
        wider = replace(options, top=top, allow_tp_beyond_domain=allow_tp_beyond_domain)
        if cache is not None:
            return cache.search(*args, options=wider, **kwargs)[1]
        return search(*args, options=wider, **kwargs)

    one_value_each(data, "a search")
    return plan(parse_scenario(data), catalog or load_catalog(), search_fn=search_fn)


def answer(
    data: Mapping[str, Any],
    *,
    catalog: Catalog | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    plan_fn: Callable[[Scenario], PlanResult] | None = None,
    cache: SearchCache | None = None,
) -> dict[str, Any]:
    """The JSON answer to a scenario mapping (see the module docstring). ``plan_fn`` is
    :func:`gpuplan.planning.run.plan` over ``catalog`` unless given (the web app caches it);
    ``cache`` holds the Monte Carlo's plan searches (a fresh one unless given)."""
    catalog = catalog or load_catalog()
    if is_budget_question(data):
        return plan_budget(data, catalog).to_dict()
    planner = plan_fn or functools.partial(plan, catalog=catalog)
    scenarios = single_scenarios(data)
    if len(scenarios) > 1:
        results = [
            answer(one, catalog=catalog, samples=samples, seed=seed, plan_fn=planner, cache=cache)
            for one in scenarios
        ]
        return {"results": results, "shortest_run": shortest_run_json(results)}
    if has_distributions(scenarios[0]):
        from gpuplan.studies.uncertainty import run_uncertainty  # not for a plain plan

        return run_uncertainty(
            scenarios[0], samples=samples, seed=seed, catalog=catalog, cache=cache
        ).to_dict()
    return planner(parse_scenario(scenarios[0])).to_dict()
