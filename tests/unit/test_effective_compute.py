"""Trend rates from the catalog, effective compute and price-performance projections."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import RateForm, Trend, TrendQuantity
from gpuplan.errors import ScenarioError
from gpuplan.fitting.effective_compute import (
    default_trend,
    effective_compute,
    growth_between,
    price_performance,
    project_price_performance,
    purchase_year,
)

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"

# Catalog id -> the row of shared/reference/trends.csv it was written from.
REFERENCE_ROWS = {
    "epoch-compute-notable-2024": "Training compute, notable AI models",
    "epoch-compute-frontier-2024": "Training compute, frontier / notable models (headline)",
    "epoch-compute-frontier-2030-report": (
        "Training compute, frontier models (value used for 2030 projection)"
    ),
    "epoch-compute-frontier-lm-trends-page": (
        "Training compute, frontier language models (trends page)"
    ),
    "sevilla-2022-deep-learning-era": "Training compute, deep-learning era",
    "cottier-2024-amortized-cost": (
        "Amortized hardware+energy cost of final training run, frontier models"
    ),
    "epoch-cost-trends-page": "Training compute cost, largest models (trends page)",
    "epoch-2025-training-power": "Power required for frontier training runs",
    "epoch-2024-training-duration": "Training run duration, notable models",
    "hobbhahn-2023-ml-hardware-price-performance": "ML hardware price-performance (FLOP/s per $)",
    "hobbhahn-2022-gpu-price-performance": "GPU price-performance (FLOP/s per $), all GPUs",
    "epoch-chip-price-performance-trends-page": "AI chip price-performance (trends page)",
    "epoch-2024-hardware-energy-efficiency": "ML hardware energy efficiency (peak FLOP/s per W)",
    "ho-2024-algorithmic-progress": (
        "Algorithmic progress, LM pre-training (compute to reach fixed perplexity)"
    ),
    "epoch-algorithmic-efficiency-trends-page": "Algorithmic efficiency (trends page)",
    "pilz-2025-supercomputer-performance": "Leading AI supercomputer performance (16-bit FLOP/s)",
    "pilz-2025-supercomputer-cost": "Leading AI supercomputer hardware cost",
    "pilz-2025-supercomputer-power": "Leading AI supercomputer power requirement",
}


def test_catalog_rates_match_the_reference_table(catalog: Catalog) -> None:
    path = REFERENCE / "trends.csv"
    if not path.exists():
        pytest.skip("shared/reference/trends.csv is not available")
    with path.open(newline="", encoding="utf-8") as handle:
        published = {row["quantity"]: row for row in csv.DictReader(handle)}
    assert set(REFERENCE_ROWS) == set(catalog.trends)
    for trend_id, quantity in REFERENCE_ROWS.items():
        central = float(published[quantity]["rate_central_x_per_year"])
        # The table rounds its derived x/yr figures to two or three digits.
        assert catalog.trends[trend_id].growth_per_year == pytest.approx(central, rel=0.012), (
            trend_id
        )


def test_one_default_per_quantity(catalog: Catalog) -> None:
    for quantity in TrendQuantity:
        assert default_trend(catalog, quantity).quantity is quantity


def test_ho_2024_halving_time_as_printed(catalog: Catalog) -> None:
    # Ho et al. 2024: compute for a fixed perplexity halves every 8 months (95% CI 5-14).
    ho = default_trend(catalog, TrendQuantity.ALGORITHMIC_EFFICIENCY)
    assert ho.id == "ho-2024-algorithmic-progress"
    assert ho.form is RateForm.DOUBLING_MONTHS
    assert ho.growth_per_year == pytest.approx(2**1.5)
    assert ho.growth_per_year_range == pytest.approx((2 ** (12 / 14), 2 ** (12 / 5)))


def test_rate_forms_convert_by_hand() -> None:
    def trend(form: RateForm, central: float) -> Trend:
        return Trend(
            id="t",
            name="t",
            quantity=TrendQuantity.TRAINING_COMPUTE,
            form=form,
            central=central,
            start_year=2010,
            end_year=2020,
            source="hand-made for a test",
            retrieved=dt.date(2026, 1, 1),
        )

    assert trend(RateForm.TIMES_PER_YEAR, 4.7).growth_per_year == 4.7
    assert trend(RateForm.DOUBLING_MONTHS, 6).growth_per_year == pytest.approx(4.0)
    assert trend(RateForm.DOUBLING_YEARS, 2.0).growth_per_year == pytest.approx(2**0.5)
    assert trend(RateForm.OOMS_PER_YEAR, 0.5).growth_per_year == pytest.approx(10**0.5)


def test_2025_algorithms_buy_2_to_the_4_5_more_than_2022s(catalog: Catalog) -> None:
    # Three years at an 8-month doubling: 36 / 8 = 4.5 doublings, 22.6x.
    ho = default_trend(catalog, TrendQuantity.ALGORITHMIC_EFFICIENCY)
    result = effective_compute(1e26, algorithm_year=2025, reference_year=2022, trend=ho)
    assert result.multiplier.central == pytest.approx(2**4.5)
    assert result.effective_flops == pytest.approx(1e26 * 2**4.5)
    # 95% CI of the halving time, 5-14 months: 2^(36/14) to 2^(36/5).
    assert result.effective_flops_low == pytest.approx(1e26 * 2 ** (36 / 14))
    assert result.effective_flops_high == pytest.approx(1e26 * 2 ** (36 / 5))


def test_same_vintage_is_physical_and_older_vintage_is_less(catalog: Catalog) -> None:
    ho = default_trend(catalog, TrendQuantity.ALGORITHMIC_EFFICIENCY)
    assert effective_compute(1e25, 2023, 2023, ho).effective_flops == pytest.approx(1e25)
    older = effective_compute(1e25, 2022, 2025, ho)
    assert older.effective_flops == pytest.approx(1e25 / 2**4.5)
    assert older.effective_flops_low is not None and older.effective_flops_high is not None
    assert older.effective_flops_low <= older.effective_flops <= older.effective_flops_high


def test_price_performance_grows_0_14_orders_a_year(catalog: Catalog) -> None:
    trend = default_trend(catalog, TrendQuantity.HARDWARE_PRICE_PERFORMANCE)
    projected = project_price_performance(1e10, 2023, 2033, trend)
    assert projected.flops_per_s_per_usd == pytest.approx(1e10 * 10**1.4)
    assert projected.usd_per_flops_per_s == pytest.approx(1 / (1e10 * 10**1.4))


def test_h100_price_performance_from_the_catalog(catalog: Catalog) -> None:
    h100 = catalog.accelerator("h100-sxm")
    value = price_performance(h100)
    assert value == pytest.approx(989.4e12 / h100.purchase.usd, rel=1e-3)
    assert 1e10 < value < 1e11  # ~$25-40k for ~1 PFLOP/s dense BF16
    assert 2022 <= purchase_year(h100) <= 2026


def test_wrong_kind_of_trend_and_bad_years_are_errors(catalog: Catalog) -> None:
    compute = default_trend(catalog, TrendQuantity.TRAINING_COMPUTE)
    with pytest.raises(ScenarioError, match="need algorithmic-efficiency"):
        effective_compute(1e25, 2025, 2022, compute)
    with pytest.raises(ScenarioError, match="need hardware-price-performance"):
        project_price_performance(1e10, 2023, 2030, compute)
    with pytest.raises(ScenarioError, match="to_year"):
        growth_between(compute, 2020, float("nan"))
    ho = default_trend(catalog, TrendQuantity.ALGORITHMIC_EFFICIENCY)
    with pytest.raises(ScenarioError, match="physical_flops"):
        effective_compute(-1.0, 2025, 2022, ho)
