"""Ranges and distributions in a scenario: parsing, errors naming the path, draws that match
their definition, percentiles that follow from linear outputs, drivers, reproducibility."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gpuplan.catalog import Catalog
from gpuplan.cli.app import app
from gpuplan.errors import ScenarioError
from gpuplan.scenario.distributions import (
    DistributionKind,
    find_distributions,
    has_distributions,
    parse_distribution,
)
from gpuplan.search.cache import SearchCache
from gpuplan.studies.uncertainty import draw_samples, quantise, run_uncertainty

BASE: dict[str, Any] = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 1024}


def scenario(**extra: Any) -> dict[str, Any]:
    return {**BASE, **extra}


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("path", "spec", "kind"),
    [
        ("gpus", {"low": 2000, "high": 4000}, DistributionKind.UNIFORM),
        ("prices.gpu_usd", {"dist": "lognormal", "p10": 25000, "p90": 40000}, "lognormal"),
        ("site.pue", {"dist": "normal", "p10": 1.1, "p90": 1.3}, "normal"),
        ("site.pue", {"dist": "uniform", "low": 1.1, "high": 1.3}, "uniform"),
        ("site.pue", {"dist": "triangular", "low": 1.1, "mode": 1.2, "high": 1.5}, "triangular"),
        ("site.power_usd_per_kwh", {"dist": "loguniform", "low": 0.03, "high": 0.3}, "loguniform"),
        ("training.tokens", {"dist": "lognormal", "p10": "1.0e12", "p90": 2e12}, "lognormal"),
    ],
)
def test_distributions_parse(path: str, spec: dict[str, Any], kind: str) -> None:
    parsed = parse_distribution(path, spec)
    assert parsed.kind == kind
    assert parsed.path == path
    assert [name for name, _ in parsed.parameters] == [k for k in spec if k != "dist"]


@pytest.mark.parametrize(
    ("path", "spec", "field", "message"),
    [
        ("prices.gpu_usd", {"dist": "lognormal", "p10": 50000, "p90": 40000},
         "prices.gpu_usd.p10 = 50000", "must be <= p90 = 40000"),
        ("gpus", {"low": 4000, "high": 2000}, "gpus.low = 4000", "must be <= high = 2000"),
        ("site.pue", {"dist": "beta", "low": 1, "high": 2}, "site.pue.dist = 'beta'",
         "allowed: lognormal, loguniform, normal, triangular, uniform"),
        ("prices.gpu_usd", {"low": -5, "high": 10}, "prices.gpu_usd.low = -5", "must be > 0"),
        ("site.pue", {"low": 0.5, "high": 1.3}, "site.pue.low = 0.5", "must be >= 1"),
        ("prices.gpu_usd", {"dist": "normal", "p10": 1, "p90": 2, "mean": 1.5},
         "prices.gpu_usd.mean", "allowed: p10, p90"),
        ("prices.gpu_usd", {"dist": "normal", "p10": 1}, "prices.gpu_usd.p90", "required"),
        ("prices.gpu_usd", {"p10": 1, "p90": 2}, "prices.gpu_usd", "give dist:"),
        ("prices.gpu_usd", {"dist": "loguniform", "low": 0, "high": 2},
         "prices.gpu_usd.low = 0", "must be > 0"),
        ("prices.gpu_usd", {"dist": "triangular", "low": 1, "mode": 5, "high": 3},
         "prices.gpu_usd.mode = 5", "must be <= high = 3"),
        ("prices.gpu_usd", {"low": "cheap", "high": 3}, "prices.gpu_usd.low = 'cheap'",
         "finite number"),
        ("hardware", {"low": 1, "high": 2}, "hardware", "only for numbers"),
        ("site.puee", {"low": 1, "high": 2}, "site.puee", "site has: grid, pue"),
        ("gpus", {"low": 2.2, "high": 2.8}, "gpus = {low: 2.2, high: 2.8}", "holds no integer"),
    ],
)  # fmt: skip
def test_bad_distributions_name_the_path(
    path: str, spec: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_distribution(path, spec)
    assert caught.value.field == field
    assert message in caught.value.message


def test_errors_in_a_whole_scenario_name_the_nested_path() -> None:
    data = scenario(site={"pue": {"low": 1.4, "high": 1.2}})
    assert has_distributions(data)
    with pytest.raises(ScenarioError, match=r"^site\.pue\.low = 1\.4: must be <= high"):
        run_uncertainty(data, samples=10)
    with pytest.raises(ScenarioError, match=r"^gpus = 0"):  # the rest is still validated
        run_uncertainty({**data, "gpus": 0, "site": {"pue": {"low": 1.1, "high": 1.2}}})


def test_detection() -> None:
    assert not has_distributions(BASE)
    assert not has_distributions(scenario(site={"pue": 1.2}))
    found = find_distributions(scenario(prices={"gpu_usd": {"low": 1, "high": 2}}))
    assert list(found) == ["prices.gpu_usd"]


# --------------------------------------------------------------------------- draws


def test_draws_match_the_definition() -> None:
    n = 40_000
    lognormal = parse_distribution(
        "prices.gpu_usd", {"dist": "lognormal", "p10": 25e3, "p90": 40e3}
    )
    normal = parse_distribution(
        "site.power_usd_per_kwh", {"dist": "normal", "p10": 0.05, "p90": 0.1}
    )
    draws = draw_samples({"prices.gpu_usd": lognormal, "site.power_usd_per_kwh": normal}, n, 7)
    for path, (p10, p90) in {"prices.gpu_usd": (25e3, 40e3),
                             "site.power_usd_per_kwh": (0.05, 0.1)}.items():  # fmt: skip
        got10, got90 = np.percentile(draws.values[path], [10, 90])
        assert got10 == pytest.approx(p10, rel=0.02)
        assert got90 == pytest.approx(p90, rel=0.02)
    triangular = parse_distribution(
        "site.pue", {"dist": "triangular", "low": 1.1, "mode": 1.2, "high": 1.6}
    )
    values, clipped = triangular.sample(np.random.default_rng(1), n)
    assert clipped == 0 and values.min() >= 1.1 and values.max() <= 1.6
    assert values.mean() == pytest.approx((1.1 + 1.2 + 1.6) / 3, rel=0.005)  # triangular mean


def test_integer_fields_draw_every_integer_in_range() -> None:
    gpus = parse_distribution("gpus", {"low": 8, "high": 12})
    values, _ = gpus.sample(np.random.default_rng(3), 2000)
    assert set(values.tolist()) == {8.0, 9.0, 10.0, 11.0, 12.0}
    lognormal = parse_distribution("gpus", {"dist": "lognormal", "p10": 1000, "p90": 5000})
    drawn = draw_samples({"gpus": lognormal}, 100, 3)
    assert all(isinstance(drawn.point(i)["gpus"], int) for i in range(100))


def test_draws_beyond_the_field_range_are_clipped_and_reported() -> None:
    pue = parse_distribution("site.pue", {"dist": "normal", "p10": 1.02, "p90": 1.4})
    draws = draw_samples({"site.pue": pue}, 2000, 11)
    assert draws.values["site.pue"].min() >= 1.0
    assert any("site.pue" in note and "clipped" in note for note in draws.notes)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(8, 100_000), min_size=20, max_size=300),
    st.integers(1, 20),
    st.sampled_from([1, 8]),
)
def test_quantise_keeps_order_and_bounds_the_values(
    values: list[int], levels: int, step: int
) -> None:
    raw = np.asarray(values, dtype=np.float64)
    out = quantise(raw, levels, step)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(out[order]) >= 0)  # a larger draw never gets a smaller value
    if np.unique(raw).size <= levels:
        assert out is raw  # few enough values already: left alone
    else:
        assert np.unique(out).size <= levels
        assert np.all(out % step == 0) and out.min() >= step
        assert out.min() >= raw.min() - step and out.max() <= raw.max() + step


# --------------------------------------------------------------------------- results


def test_percentiles_follow_a_linear_output(catalog: Catalog) -> None:
    """GPU capex = gpus x price: its percentiles are gpus x the price's percentiles, and those
    of a uniform(20k, 40k) are 22k, 30k and 38k."""
    data = scenario(prices={"gpu_usd": {"low": 20_000, "high": 40_000}})
    result = run_uncertainty(data, samples=1000, seed=5, catalog=catalog)
    capex, price = result.outputs["cost.gpu_capex_usd"], result.inputs["prices.gpu_usd"][1]
    for got, drawn, exact in ((capex.p10, price.p10, 22e3), (capex.p50, price.p50, 30e3),
                              (capex.p90, price.p90, 38e3)):  # fmt: skip
        assert got == pytest.approx(1024 * drawn, rel=1e-12)
        assert got == pytest.approx(1024 * exact, rel=0.035)  # ~3 standard errors at n=1000
    assert "run.days" not in result.outputs  # the price does not change the time to train
    for s in result.outputs.values():
        assert s.p10 <= s.p50 <= s.p90


def test_drivers_rank_the_input_that_moves_the_outputs_first(catalog: Catalog) -> None:
    data = scenario(
        training={"mfu": {"low": 0.25, "high": 0.55}},
        prices={"cloud_usd_per_gpu_hour": {"low": 1.0, "high": 4.0}},
    )
    result = run_uncertainty(data, samples=400, seed=2, catalog=catalog)
    first, second = result.drivers
    assert first.input == "training.mfu"
    assert first.rank_correlation["run.days"] < -0.99  # faster chips, shorter run
    assert abs(second.rank_correlation.get("run.days", 0.0)) < 0.15
    assert first.importance > second.importance
    summary = result.outputs["run.days"]
    assert summary.p10 < summary.p50 < summary.p90


def test_the_same_seed_gives_the_same_result(catalog: Catalog) -> None:
    data = scenario(
        gpus={"dist": "lognormal", "p10": 800, "p90": 2000},
        site={"pue": {"dist": "triangular", "low": 1.1, "mode": 1.2, "high": 1.5}},
    )
    once = run_uncertainty(data, samples=200, seed=42, catalog=catalog).to_dict()
    again = run_uncertainty(data, samples=200, seed=42, catalog=catalog).to_dict()
    other = run_uncertainty(data, samples=200, seed=43, catalog=catalog).to_dict()
    assert once == again
    assert once["outputs"] != other["outputs"]
    assert once["seed"] == 42 and once["samples"] == 200


def test_uncertain_gpus_reuse_a_bounded_number_of_searches(catalog: Catalog) -> None:
    data = scenario(gpus={"low": 1024, "high": 1130}, training={"global_batch": 512})
    cache = SearchCache()
    result = run_uncertainty(data, samples=60, seed=1, catalog=catalog, levels=2, cache=cache)
    assert cache.misses <= 2 and cache.hits + cache.misses == 60
    assert result.feasible_samples == 60  # searched plans use >= 90% of the GPUs
    drawn = result.inputs["gpus"][1]
    assert drawn.p10 % 8 == 0 and drawn.p90 % 8 == 0
    assert any("quantised to" in note for note in result.notes)
    assert result.outputs["run.days"].p10 < result.outputs["run.days"].p90


def test_plan_command_prints_json_for_a_scenario_with_ranges(tmp_path: Any) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(
        "model: llama3-8b\nhardware: h100-sxm\ngpus: {low: 512, high: 1024}\n"
        "prices: {gpu_usd: {dist: lognormal, p10: 25000, p90: 40000}}\n"
    )
    out = CliRunner().invoke(
        app, ["plan", str(path), "--json", "--mc-samples", "50", "--seed", "9"]
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert {"seed", "samples", "outputs", "drivers", "notes"} <= set(data)
    assert data["seed"] == 9 and data["samples"] == 50
    days = data["outputs"]["run.days"]
    assert days["p10"] <= days["p50"] <= days["p90"]
    table = CliRunner().invoke(app, ["plan", str(path), "--mc-samples", "50"])
    assert table.exit_code == 0, table.output
    assert "P50" in table.output and "What drives the spread" in table.output
