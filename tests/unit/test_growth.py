"""Growth rates labelled with their kind, basis, window and source (issue 12: `trends` and
`check` C5 printed different training-compute rates without saying which or why)."""

from __future__ import annotations

import pytest

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import TrendQuantity
from gpuplan.fitting.effective_compute import default_trend
from gpuplan.fitting.growth import (
    COMPUTE_BASIS,
    PUBLISHED_TRENDS,
    Basis,
    RateKind,
    catalog_growth,
    compared,
    fitted_growth,
    published_growth,
)
from gpuplan.fitting.trends import Metric, fit_trend, runs_from_catalog

RATE_KEYS = {
    "metric", "basis", "kind", "growth_per_year", "low", "high", "interval_level",
    "start_year", "end_year", "window", "runs", "trend_id", "default", "source", "label",
}  # fmt: skip


def test_published_training_compute_rate_by_basis(catalog: Catalog) -> None:
    frontier = published_growth(catalog, Metric.TRAINING_COMPUTE, Basis.FRONTIER)
    notable = published_growth(catalog, Metric.TRAINING_COMPUTE, Basis.NOTABLE)
    assert frontier is not None and notable is not None
    assert (frontier.trend_id, frontier.growth_per_year) == ("epoch-compute-frontier-2024", 4.5)
    assert (frontier.low, frontier.high, frontier.interval_level) == (4.0, 5.0, None)
    assert (notable.trend_id, notable.growth_per_year) == ("epoch-compute-notable-2024", 4.7)
    assert frontier.kind is notable.kind is RateKind.PUBLISHED
    assert frontier.label() == (
        "published: 4.5x/yr (range 4-5) for frontier runs 2010-2024, Sevilla & Roldan 2024, "
        "Epoch AI 'Training compute of frontier AI models grows by 4-5x per year' "
        "(trends.yaml: epoch-compute-frontier-2024)"
    )
    assert notable.label().startswith("published: 4.7x/yr (90% CI 4.3-5.2) for notable runs")
    assert set(frontier.to_dict()) == RATE_KEYS
    assert published_growth(catalog, Metric.ACCELERATOR_COUNT, Basis.FRONTIER) is None


def test_the_default_compute_trend_is_the_basis_gpuplan_uses(catalog: Catalog) -> None:
    # One number everywhere: trends.yaml's default for training compute is the published
    # rate of COMPUTE_BASIS (frontier), the one the claim checks use.
    used = published_growth(catalog, Metric.TRAINING_COMPUTE, COMPUTE_BASIS)
    assert used is not None and used.default
    assert default_trend(catalog, TrendQuantity.TRAINING_COMPUTE).id == used.trend_id
    assert all(trend_id in catalog.trends for trend_id in PUBLISHED_TRENDS.values())


def test_a_fit_is_labelled_as_gpuplans_with_its_runs_and_window(catalog: Catalog) -> None:
    fit = fit_trend(runs_from_catalog(catalog), frontier_only=True, bootstrap=50)
    rate = fitted_growth(fit, "gpuplan catalog (runs.yaml)")
    assert rate.kind is RateKind.FIT and rate.basis is Basis.FRONTIER and rate.runs == fit.runs
    assert rate.growth_per_year == fit.growth_per_year
    assert rate.label() == (
        f"gpuplan fit: {fit.growth_per_year:.3g}x/yr (90% CI {fit.growth_interval.low:.3g}-"
        f"{fit.growth_interval.high:.3g}) over {fit.runs} frontier runs dated {rate.window}, "
        "gpuplan catalog (runs.yaml)"
    )
    assert set(rate.to_dict()) == RATE_KEYS
    # catalog_growth is the fit `gpuplan trends` prints with its defaults.
    assert catalog_growth(catalog, Metric.TRAINING_COMPUTE, Basis.FRONTIER).growth_per_year == (
        pytest.approx(fit.growth_per_year)
    )
    published = published_growth(catalog, Metric.TRAINING_COMPUTE, Basis.FRONTIER)
    assert published is not None
    line = compared(rate, published)
    assert line.startswith(f"this fit: {fit.growth_per_year:.3g}x/yr over {fit.runs} frontier")
    assert published.label() in line and "differ in sample and window" in line


def test_basis_of_the_frontier_flag() -> None:
    assert Basis.of(True) is Basis.FRONTIER and Basis.of(False) is Basis.NOTABLE
