"""A sweep's rows are the per-scenario plan() rows (issue 15): points sharing all but their
site and prices are planned once and their power, energy, emissions and cost computed in
columns (studies.sweep_groups), which must give every row exactly as plan() does."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuplan.catalog.loader import Catalog, load_catalog
from gpuplan.scenario.distributions import with_values
from gpuplan.search.cache import SearchCache
from gpuplan.studies import sweep_groups, sweep_tasks
from gpuplan.studies.rows import flat_plan
from gpuplan.studies.sweep import parse_sweep, run_sweep

BASES: list[dict[str, Any]] = [
    {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64},
    {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64, "training": {"days": 20}},
    {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64, "training": {"mfu": 0.4}},
    {"model": "llama3-8b", "hardware": "a100-80gb", "gpus": 64, "site": {"pue": 1.25},
     "prices": {"gpu_usd": 15_000}},
]  # fmt: skip
"""Runs given in tokens (intervals on days and cost) and in days (on tokens), an MFU
what-if (no intervals), and a base with a site and prices of its own."""

prices = st.floats(1_000, 100_000, allow_nan=False)
SWEPT: dict[str, st.SearchStrategy[Any]] = {
    "hardware": st.sampled_from(["h100-sxm", "a100-80gb", "mi300x"]),
    "gpus": st.sampled_from([1, 32, 64]),  # one GPU does not fit: a row with no run
    "site.grid": st.sampled_from(["world", "france", "norway", "india", "atlantis"]),
    "site.pue": st.floats(1.0, 3.0),
    "site.power_usd_per_kwh": st.floats(0.01, 2.0),
    "site.households": st.sampled_from(["us", "france", "atlantis"]),  # atlantis: error rows
    "prices.gpu_usd": prices,
    "prices.cloud_usd_per_gpu_hour": st.floats(0.1, 50.0),
}


@st.composite
def sweeps(draw: st.DrawFn) -> dict[str, Any]:
    paths = draw(st.lists(st.sampled_from(sorted(SWEPT)), min_size=1, max_size=4, unique=True))
    grid = {p: draw(st.lists(SWEPT[p], min_size=1, max_size=3, unique=True)) for p in paths}
    return {"base": draw(st.sampled_from(BASES)), "grid": grid}


def _planned_rows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the points planned in full (one list entry each)."""
    calls: list[int] = []
    real = sweep_tasks.planned_row

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep_tasks, "planned_row", counting)
    return calls


def _same(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """Keys whose values differ (None and absent are alike: a table cell is null)."""
    keys = {k for k, v in got.items() if v is not None} | {
        k for k, v in want.items() if v is not None
    }
    return sorted(k for k in keys if got.get(k) != want.get(k))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sweep=sweeps())
def test_sweep_rows_are_the_per_scenario_plan_rows(
    sweep: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = load_catalog()  # the sweep's own (default) catalog
    spec = parse_sweep(sweep)
    with monkeypatch.context() as patch:
        planned = _planned_rows(patch)
        rows = run_sweep(spec, workers=1).table.to_pylist()  # the default catalog's caches
    cache = SearchCache()
    groups, errors = set(), 0
    for i, row in enumerate(rows):
        point = {p: column[i] for p, column in spec.values.items()}
        want = flat_plan(with_values(spec.base, point), catalog, cache)
        outputs = {k: v for k, v in row.items() if k != "point" and k not in spec.values}
        assert _same(outputs, want) == [], point
        groups.add(tuple(v for p, v in point.items() if p.split(".")[0] not in ("site", "prices")))
        errors += want["error"] is not None
    # Grouped: one full plan per group, and one per error row at most, never one per row.
    assert len(planned) <= len(groups) + errors


def test_a_site_and_price_grid_plans_once_per_group(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = {
        "gpus": [32, 64],
        "site.grid": ["world", "france"],
        "site.pue": [1.1, 1.5],
        "prices.gpu_usd": [20_000.0, 40_000.0],
    }
    planned = _planned_rows(monkeypatch)
    spec = parse_sweep({"base": BASES[0], "grid": grid})
    rows = run_sweep(spec, workers=1, catalog=catalog).table.to_pylist()
    assert len(rows) == 16 and len(planned) == 2  # one per GPU count
    one = {r["site.pue"]: r for r in rows if r["gpus"] == 64 and r["site.grid"] == "france"
           and r["prices.gpu_usd"] == 20_000.0}  # fmt: skip
    # Facility power is IT power times PUE; the IT power does not depend on the site.
    assert one[1.5]["power.it_w"] == one[1.1]["power.it_w"]
    assert math.isclose(one[1.5]["power.facility_w"] / one[1.1]["power.facility_w"], 1.5 / 1.1)


def test_columns_that_fail_fall_back_to_planning_each_row(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = parse_sweep({"base": BASES[0], "grid": {"site.pue": [1.1, 1.2, 1.3]}})

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug in the columns")

    monkeypatch.setattr(sweep_groups, "account_site", broken)
    planned = _planned_rows(monkeypatch)
    rows = run_sweep(spec, workers=1).table.to_pylist()
    assert len(planned) == 3  # each row planned on its own, none lost
    cache = SearchCache()
    for row in rows:
        want = flat_plan(with_values(spec.base, {"site.pue": row["site.pue"]}), catalog, cache)
        assert _same({k: v for k, v in row.items() if k not in ("point", "site.pue")}, want) == []


def test_values_of_different_paths_are_not_confused(catalog: Catalog) -> None:
    # Groups and resolved sites are kept across sweeps: 'france' as a grid is not 'france'
    # as a household country, nor 64 GPUs a batch of 64.
    cache = SearchCache()
    for grid in ({"site.grid": ["france"]}, {"site.households": ["france"]},
                 {"gpus": [64]}, {"training.global_batch": [64]}):  # fmt: skip
        spec = parse_sweep({"base": BASES[0], "grid": grid})
        row = run_sweep(spec, workers=1).table.to_pylist()[0]
        ((path, [value]),) = grid.items()
        want = flat_plan(with_values(spec.base, {path: value}), catalog, cache)
        assert _same({k: v for k, v in row.items() if k not in ("point", path)}, want) == []


def test_a_staged_run_is_planned_point_by_point(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A staged run's energy and cost are sums over its stages: not the columns of one run.
    staged = {
        "model": "open-sora-2-11b", "hardware": "h100-sxm", "gpus": 16,
        "parallelism": {"tp": 1, "pp": 1, "cp": 1, "ep": 1, "microbatch": 1, "interleave": 1,
                        "recompute": "full", "sequence_parallel": False, "zero": 3},
        "training": {"global_batch": 16},
        "stages": [{"name": "low", "clip": {"frames": 33, "height": 256, "width": 256},
                    "steps": 200},
                   {"name": "high", "samples": 800, "gpus": 32, "global_batch": 32}],
    }  # fmt: skip
    spec = parse_sweep({"base": staged, "grid": {"site.pue": [1.1, 1.3], "site.grid": ["china"]}})
    planned = _planned_rows(monkeypatch)
    rows = run_sweep(spec, workers=1).table.to_pylist()
    assert len(planned) == 2 and [r["error"] for r in rows] == [None, None]
    cache = SearchCache()
    for row in rows:
        point = {p: row[p] for p in spec.values}
        want = flat_plan(with_values(spec.base, point), catalog, cache)
        assert _same({k: v for k, v in row.items() if k != "point" and k not in point}, want) == []
    assert rows[1]["energy.mwh"] > rows[0]["energy.mwh"]
