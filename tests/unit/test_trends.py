"""Trend fits: a known doubling time is recovered; Epoch AI's files import and agree."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuplan.catalog import Catalog
from gpuplan.errors import ScenarioError
from gpuplan.fitting.epoch import read_epoch_csv
from gpuplan.fitting.trends import (
    Metric,
    RunPoint,
    decimal_year,
    fit_trend,
    runs_from_catalog,
    select,
)

EPOCH = Path(__file__).resolve().parents[3] / "shared" / "reference" / "epoch"
NOTABLE = EPOCH / "epoch_notable_models_snapshot_2025-02-24" / "notable_ai_models_24_02_2025.csv"
ALL_SYSTEMS = EPOCH / "epoch_training_cost_trends" / "All ML Systems - full view.csv"


def synthetic(doubling_months: float, noise_ooms: float, count: int = 300) -> list[RunPoint]:
    """Runs 2010-2025 on a line log10(C) = 22 + s (year - 2020), s = 12 log10(2) / months."""
    rng = np.random.default_rng(3)
    years = rng.uniform(2010, 2025, count)
    slope = 12 * math.log10(2) / doubling_months
    logs = 22 + slope * (years - 2020) + rng.normal(0, noise_ooms, count)
    return [
        RunPoint(name=f"r{i}", year=float(y), frontier=i % 2 == 0, training_flops=10.0 ** float(v))
        for i, (y, v) in enumerate(zip(years, logs, strict=True))
    ]


def test_decimal_year_by_hand() -> None:
    assert decimal_year(dt.date(2024, 1, 1)) == 2024.0
    assert decimal_year(dt.date(2024, 7, 2)) == pytest.approx(2024.5)  # day 183 of 366
    assert decimal_year(dt.date(2023, 12, 31)) == pytest.approx(2023 + 364 / 365)


def test_exact_line_is_recovered_exactly() -> None:
    fit = fit_trend(synthetic(6.0, 0.0), bootstrap=50)
    assert fit.doubling_months == pytest.approx(6.0)
    assert fit.growth_per_year == pytest.approx(4.0)  # two doublings a year
    assert fit.residual_std_ooms == pytest.approx(0.0, abs=1e-9)
    # On the line, 2030 is ten years after 2020: 1e22 * 4^10.
    assert fit.predict(2030) == pytest.approx(1e22 * 4**10)
    projection = fit.project(2030)
    assert projection.interval.low == pytest.approx(projection.value)


def test_known_doubling_time_lies_inside_the_interval() -> None:
    fit = fit_trend(synthetic(6.0, 0.5), bootstrap=400, seed=1)
    assert 6.0 in fit.doubling_interval
    assert 4.0 in fit.growth_interval
    assert fit.residual_std_ooms == pytest.approx(0.5, rel=0.15)
    projection = fit.project(2030)
    assert 1e22 * 4**10 in projection.interval
    assert (fit.bootstrap, fit.seed) == (400, 1)


def test_residual_says_where_a_run_sits() -> None:
    fit = fit_trend(synthetic(6.0, 0.0), bootstrap=10)
    above = RunPoint(name="big", year=2020.0, frontier=True, training_flops=1e23)
    assert fit.residual_of(above) == pytest.approx(1.0)  # ten times the trend's 1e22
    assert fit.residual_ooms(2021.0, 1e22) == pytest.approx(-2 * math.log10(2))


def test_filters_frontier_and_years() -> None:
    points = synthetic(6.0, 0.2)
    chosen = select(points, Metric.TRAINING_COMPUTE, since=2015, until=2020, frontier_only=True)
    assert chosen and all(p.frontier and 2015 <= p.year < 2020 for p in chosen)
    fit = fit_trend(points, since=2015, until=2020, frontier_only=True, bootstrap=10)
    assert fit.runs == len(chosen)
    assert 2015 <= fit.first_year <= fit.last_year < 2020


def test_bad_input_is_an_error() -> None:
    points = synthetic(6.0, 0.2, count=20)
    with pytest.raises(ScenarioError, match="at least 3"):
        fit_trend(points, since=2024.9)
    with pytest.raises(ScenarioError, match="must be after since"):
        fit_trend(points, since=2020, until=2015)
    with pytest.raises(ScenarioError, match="0 runs with power"):
        fit_trend(points, Metric.POWER)
    with pytest.raises(ScenarioError, match="must be positive"):
        RunPoint(name="x", year=2020.0, frontier=False, training_flops=-1.0)
    with pytest.raises(ScenarioError, match="has no training-compute"):
        fit_trend(points, bootstrap=10).residual_of(RunPoint("y", 2020.0, frontier=False))


# --------------------------------------------------------------------------- Epoch AI's format


def test_epoch_format_tolerates_missing_values(tmp_path: Path) -> None:
    path = tmp_path / "epoch.csv"
    path.write_text(
        "Model,Publication date,Training compute (FLOP),Hardware quantity,"
        "Training compute cost (2023 USD),Frontier model,Abstract\n"
        'A,2020-01-01,1e23,1024.0,"$1,234,567.50",True,"two\nlines"\n'
        "B,2021-07-02,,,,,\n"
        "C,,5e24,,,,\n"
    )
    a, b = read_epoch_csv(path)  # C has no date and is skipped
    assert (a.name, a.year, a.training_flops, a.accelerator_count) == ("A", 2020.0, 1e23, 1024)
    assert a.cost_usd == pytest.approx(1234567.5)
    assert a.frontier and not b.frontier
    assert b.training_flops is None and b.power_w is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Name,Date\nA,2020-01-01\n", "missing column(s) 'Model', 'Publication date'"),
        ("Model,Publication date\nA,2020-01-01\n", "missing column(s) 'Training compute"),
        (
            "Model,Publication date,Training compute (FLOP)\n"
            "A,2020-01-01,1e23\nB,2021-01-01,lots\n",
            "row 2 ('B'), column 'Training compute (FLOP)': 'lots' is not a number",
        ),
        (
            "Model,Publication date,Training compute (FLOP)\nA,01/02/2020,1e23\n",
            "row 1 ('A'), column 'Publication date': '01/02/2020' is not a date",
        ),
    ],
)
def test_epoch_format_errors_name_row_and_column(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "epoch.csv"
    path.write_text(body)
    with pytest.raises(ScenarioError) as caught:
        read_epoch_csv(path)
    assert message in str(caught.value)


# --------------------------------------------------------------------------- real data


def test_catalog_frontier_doubling_time_is_sane(catalog: Catalog) -> None:
    points = runs_from_catalog(catalog)
    assert len(points) == len(catalog.runs) == 87
    fit = fit_trend(points, since=2010, frontier_only=True)
    # Epoch AI: frontier compute grows 4-5x/yr (5-6 months); the catalog is 50 runs.
    assert 4.0 <= fit.doubling_months <= 8.0, fit


@pytest.mark.skipif(not NOTABLE.exists(), reason="Epoch AI snapshot not in shared/reference")
def test_epoch_notable_models_match_epochs_published_rate(catalog: Catalog) -> None:
    points = read_epoch_csv(NOTABLE)
    assert len(points) == 895
    frontier = fit_trend(points, since=2010, frontier_only=True)
    # Sevilla & Roldan 2024: frontier training compute grows 4-5x per year.
    assert 4.0 <= frontier.growth_per_year <= 5.0, frontier
    assert 5.0 <= frontier.doubling_months <= 6.5
    # Rahman & Owen 2024: notable models 2010 to mid-2024, 4.7x/yr (90% CI 4.3-5.2).
    notable = fit_trend(points, since=2010, until=2024.5)
    published = catalog.trends["epoch-compute-notable-2024"].growth_per_year_range
    assert published is not None
    assert notable.growth_interval.low <= published[1]
    assert published[0] <= notable.growth_interval.high


@pytest.mark.skipif(not ALL_SYSTEMS.exists(), reason="Epoch AI export not in shared/reference")
def test_epoch_all_systems_export_imports() -> None:
    points = read_epoch_csv(ALL_SYSTEMS)
    assert len(points) == 1892
    frontier = [p for p in points if p.frontier]  # 'Compute rank when published' <= 10
    assert 50 <= len(frontier) <= 150
    fit = fit_trend(points, since=2010, frontier_only=True)
    assert 4.0 <= fit.doubling_months <= 8.0
    power = fit_trend(points, Metric.POWER, since=2010, frontier_only=True)
    # Epoch AI & EPRI 2025: power of frontier runs grows ~2.2x per year.
    assert 1.6 <= power.growth_per_year <= 2.8


@given(
    doubling_months=st.floats(3.0, 48.0),
    start=st.floats(1990.0, 2015.0),
)
def test_any_exact_doubling_time_is_recovered(doubling_months: float, start: float) -> None:
    slope = 12 * math.log10(2) / doubling_months
    points = [
        RunPoint(f"r{k}", start + k, frontier=True, training_flops=10.0 ** (20 + slope * k))
        for k in range(6)
    ]
    fit = fit_trend(points, since=None, bootstrap=5)
    assert fit.doubling_months == pytest.approx(doubling_months, rel=1e-9)
    assert fit.growth_per_year == pytest.approx(2 ** (12 / doubling_months), rel=1e-9)
