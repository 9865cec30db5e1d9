"""What the Monte Carlo keeps between samples (issue 15, Speed) gives what a plain plan gives:
the flat row without the dropped lists equals the flattened full result, the kept sources
follow the scenario (a default PUE or electricity price is cited only when used), and a kept
reliability estimate equals a fresh one."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gpuplan.catalog import Catalog
from gpuplan.planning.run import plan
from gpuplan.reliability.plan_checkpoint import estimate_plan_reliability, plan_rates
from gpuplan.studies.rows import flat_outputs, flat_result

BASE: dict[str, Any] = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64}


def test_a_flat_row_equals_the_flattened_full_result(catalog: Catalog) -> None:
    result = plan(BASE, catalog)
    full = result.to_dict()
    assert full["search"]["top"] and full["sources"] and full["scenario"]["gpus"] == 64
    assert flat_result(result) == flat_outputs(full)


def test_kept_sources_follow_the_scenario(catalog: Catalog) -> None:
    def cited(data: dict[str, Any]) -> list[str]:
        return [s.used_for for s in plan(data, catalog).sources]

    default = cited(BASE)
    assert "PUE" in default
    assert any(s.startswith("electricity price") for s in default)
    given = cited({**BASE, "site": {"pue": 1.3, "power_usd_per_kwh": 0.1}})
    assert "PUE" not in given
    assert not any(s.startswith("electricity price") for s in given)
    assert cited(BASE) == default  # kept, and not changed by the scenario between


def test_kept_sources_are_a_new_list_each_time(catalog: Catalog) -> None:
    """plan() adds the cluster's and the default batch's sources to the list: a kept list
    handed out itself would grow with every plan."""
    lists = [plan(BASE, catalog).sources for _ in range(3)]
    assert lists[0] == lists[1] == lists[2]
    assert sum(s.used_for == "default global batch" for s in lists[2]) == 1


def test_a_kept_reliability_estimate_equals_a_fresh_one(catalog: Catalog) -> None:
    rates = plan_rates(catalog)
    args = (70e9, 4096, 3.0e6, 2.0e10, rates)
    kept = estimate_plan_reliability(*args)
    fresh = estimate_plan_reliability.__wrapped__(*args)
    assert kept == fresh and estimate_plan_reliability(*args) is kept


def test_the_kept_rank_equals_a_fresh_one(catalog: Catalog, monkeypatch: Any) -> None:
    """The search ranks its plans with the time-to-train rank the block recompute computed
    (when it changed no plan); ranking them afresh gives the same result."""
    from gpuplan.search import plans

    scenario = {**BASE, "model": "llama3-70b", "gpus": 3072}
    kept = plan(scenario, catalog).to_dict()
    block = plans.with_block_recompute

    def fresh(*args: Any) -> Any:
        return replace(block(*args), score=None)

    monkeypatch.setattr(plans, "with_block_recompute", fresh)
    again = plan(scenario, catalog).to_dict()
    for result in (kept, again):
        result["search"].pop("elapsed_s"), result["search"].pop("plans_per_s")
    assert kept["search"]["top"] and kept == again
