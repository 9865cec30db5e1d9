"""Effective compute (physical FLOP times algorithmic progress) and hardware price-performance.

Algorithmic progress: the physical compute needed to reach a fixed language-model
perplexity halved every 8 months (95% CI 5-14) from 2012 to 2023 (Ho et al. 2024, arXiv
2403.05812). A run of ``C`` FLOP with algorithms of year ``y`` is then worth

    C_eff = C * g^(y - y_ref)

FLOP of year-``y_ref`` algorithms, with ``g`` the growth of the multiplier per year
(~2.8x/yr). So a 2025 cluster with 2025 algorithms buys ``g^3`` (~23x) more effective
compute than the same cluster with 2022's; put ``C_eff`` into a scaling law fitted in
``y_ref`` (Chinchilla: 2022) to read off what it buys. Modelling assumption: the
multiplier is one exponential, the same at every scale; Ho et al. find that most of the
gain is compute-dependent and the estimate is uncertain by a factor of ~3 per decade.

Hardware price-performance (peak FLOP/s per US dollar of hardware) grows by 0.14 orders of
magnitude per year for ML GPUs (Hobbhahn, Heim & Aydos 2023, Epoch AI), so

    P(year) = P(year_0) * h^(year - year_0).

Assumption: the trend was measured on list prices and FP32/FP16 peaks; applying it to a
chip's dense BF16 peak over its purchase price keeps the rate, not the level, of the data.

The rates come from the catalog (``trends.yaml``), each with its source; any
:class:`~gpuplan.catalog.schema.Trend` can be passed instead of the default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import Accelerator, Trend, TrendQuantity
from gpuplan.errors import CatalogError, ScenarioError


def default_trend(catalog: Catalog, quantity: TrendQuantity) -> Trend:
    """The catalog's default rate for ``quantity`` (exactly one is marked ``default``)."""
    found = [t for t in catalog.trends.values() if t.quantity is quantity and t.default]
    if len(found) != 1:
        raise CatalogError(
            f"trends.yaml: {quantity.value} needs exactly one default trend "
            f"(found {[t.id for t in found]})"
        )
    return found[0]


@dataclass(frozen=True)
class Growth:
    """A factor ``central`` between two years, and the factor at each end of the rate's range."""

    central: float
    low: float | None
    high: float | None
    years: float
    trend_id: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "central": self.central,
            "low": self.low,
            "high": self.high,
            "years": self.years,
            "trend": self.trend_id,
            "source": self.source,
        }


def growth_between(trend: Trend, from_year: float, to_year: float) -> Growth:
    """The factor by which ``trend``'s quantity grows from ``from_year`` to ``to_year``.

    ``g^(to - from)``; below one when ``to_year`` is earlier. The range uses the ends of the
    trend's printed interval, ordered so that ``low <= central <= high``.
    """
    for name, year in (("from_year", from_year), ("to_year", to_year)):
        if not (math.isfinite(year) and 1900 <= year <= 2200):
            raise ScenarioError(name, f"{year} is not a year between 1900 and 2200")
    years = to_year - from_year
    spread = trend.growth_per_year_range
    ends = sorted(g**years for g in spread) if spread else (None, None)
    return Growth(
        central=trend.growth_per_year**years,
        low=ends[0],
        high=ends[1],
        years=years,
        trend_id=trend.id,
        source=trend.source,
    )


@dataclass(frozen=True)
class EffectiveCompute:
    """Physical compute restated in FLOP of another year's algorithms."""

    physical_flops: float
    algorithm_year: float
    """Vintage of the algorithms the run uses."""
    reference_year: float
    """Vintage whose FLOP the effective compute is counted in."""
    multiplier: Growth
    effective_flops: float
    effective_flops_low: float | None
    effective_flops_high: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "physical_flops": self.physical_flops,
            "algorithm_year": self.algorithm_year,
            "reference_year": self.reference_year,
            "multiplier": self.multiplier.to_dict(),
            "effective_flops": self.effective_flops,
            "effective_flops_low": self.effective_flops_low,
            "effective_flops_high": self.effective_flops_high,
        }


def effective_compute(
    physical_flops: float, algorithm_year: float, reference_year: float, trend: Trend
) -> EffectiveCompute:
    """``physical_flops`` with ``algorithm_year`` algorithms, in ``reference_year`` FLOP.

    ``trend`` is an algorithmic-efficiency rate (default: Ho et al. 2024, via
    :func:`default_trend`). Example: 1e26 FLOP with 2025 algorithms is worth
    1e26 * 2.83^3 = 2.3e27 FLOP of 2022 algorithms.
    """
    if trend.quantity is not TrendQuantity.ALGORITHMIC_EFFICIENCY:
        raise ScenarioError(
            "trend", f"'{trend.id}' is a {trend.quantity.value} trend; need algorithmic-efficiency"
        )
    if not (math.isfinite(physical_flops) and physical_flops > 0):
        raise ScenarioError("physical_flops", f"{physical_flops} must be a positive number")
    multiplier = growth_between(trend, reference_year, algorithm_year)
    return EffectiveCompute(
        physical_flops=physical_flops,
        algorithm_year=algorithm_year,
        reference_year=reference_year,
        multiplier=multiplier,
        effective_flops=physical_flops * multiplier.central,
        effective_flops_low=None if multiplier.low is None else physical_flops * multiplier.low,
        effective_flops_high=None if multiplier.high is None else physical_flops * multiplier.high,
    )


def price_performance(accelerator: Accelerator) -> float:
    """Dense BF16 peak FLOP/s per US dollar of the chip's catalogued purchase price."""
    return accelerator.peak_bf16_flops_per_s / accelerator.purchase.usd


def purchase_year(accelerator: Accelerator) -> float:
    """Decimal year of the catalogued purchase price (``2023-06`` -> 2023.375)."""
    parts = [int(p) for p in accelerator.purchase.date.split("-")]
    return parts[0] + (parts[1] - 1) / 12.0


@dataclass(frozen=True)
class PriceProjection:
    """FLOP/s per dollar in ``year``, projected from a value known in ``base_year``."""

    base_flops_per_s_per_usd: float
    base_year: float
    year: float
    growth: Growth
    flops_per_s_per_usd: float

    @property
    def usd_per_flops_per_s(self) -> float:
        return 1.0 / self.flops_per_s_per_usd

    def to_dict(self) -> dict[str, Any]:
        return {
            "base_flops_per_s_per_usd": self.base_flops_per_s_per_usd,
            "base_year": self.base_year,
            "year": self.year,
            "growth": self.growth.to_dict(),
            "flops_per_s_per_usd": self.flops_per_s_per_usd,
        }


def project_price_performance(
    base_flops_per_s_per_usd: float, base_year: float, year: float, trend: Trend
) -> PriceProjection:
    """Hardware FLOP/s per dollar in ``year`` if ``trend`` continues from ``base_year``.

    ``trend`` is a hardware-price-performance rate (default: 0.14 OOM/yr, Hobbhahn et al.
    2023). Start from :func:`price_performance` of a catalog chip to anchor the level.
    """
    if trend.quantity is not TrendQuantity.HARDWARE_PRICE_PERFORMANCE:
        raise ScenarioError(
            "trend",
            f"'{trend.id}' is a {trend.quantity.value} trend; need hardware-price-performance",
        )
    if not (math.isfinite(base_flops_per_s_per_usd) and base_flops_per_s_per_usd > 0):
        raise ScenarioError(
            "base_flops_per_s_per_usd", f"{base_flops_per_s_per_usd} must be a positive number"
        )
    growth = growth_between(trend, base_year, year)
    return PriceProjection(
        base_flops_per_s_per_usd=base_flops_per_s_per_usd,
        base_year=base_year,
        year=year,
        growth=growth,
        flops_per_s_per_usd=base_flops_per_s_per_usd * growth.central,
    )
