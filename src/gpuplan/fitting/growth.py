"""Growth rates per year, each labelled with what it rests on: one definition for every output.

Two kinds of rate describe the same quantity and both are right for their use:

- **published**: a figure from the literature, kept in ``trends.yaml`` with its source,
  window and interval (e.g. frontier training compute 4-5x/yr, Sevilla & Roldan 2024);
- **fit**: gpuplan's own least-squares line through a sample of runs
  (:func:`gpuplan.fitting.trends.fit_trend`, the ``gpuplan trends`` command).

Each is tied to a **basis**, the runs it describes: frontier runs (top 10 by training
compute when published, Epoch AI's definition) or all notable runs. :func:`published_growth`
is the one place that says which published figure belongs to a (metric, basis); the claim
checks and ``gpuplan trends`` both call it, and every output names the kind, basis, window
and source of the rate it prints (:meth:`GrowthRate.label`).

The claim checks use the published rate: it rests on Epoch AI's whole database and names
its publication. The fit to the catalog's runs is a check of the catalog, printed beside it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import Trend
from gpuplan.errors import CatalogError
from gpuplan.fitting.trends import Metric, TrendFit, fit_trend, runs_from_catalog


class Basis(StrEnum):
    """Which runs a rate describes."""

    FRONTIER = "frontier"
    """Top 10 by training compute when published (Epoch AI's definition)."""
    NOTABLE = "notable"
    """All notable runs (Epoch AI's Notable AI Models; every run in the catalog)."""

    @classmethod
    def of(cls, frontier_only: bool) -> Basis:
        return cls.FRONTIER if frontier_only else cls.NOTABLE


class RateKind(StrEnum):
    PUBLISHED = "published"
    """A figure from a publication (trends.yaml)."""
    FIT = "fit"
    """gpuplan's least-squares fit to a sample of runs."""


COMPUTE_BASIS = Basis.FRONTIER
"""The basis of the training-compute growth that gpuplan uses (``gpuplan check`` C5, C9)."""

PUBLISHED_TRENDS: Mapping[tuple[Metric, Basis], str] = {
    (Metric.TRAINING_COMPUTE, Basis.FRONTIER): "epoch-compute-frontier-2024",
    (Metric.TRAINING_COMPUTE, Basis.NOTABLE): "epoch-compute-notable-2024",
    (Metric.COST, Basis.FRONTIER): "cottier-2024-amortized-cost",
    (Metric.COST, Basis.NOTABLE): "cottier-2024-amortized-cost",
    (Metric.POWER, Basis.FRONTIER): "epoch-2025-training-power",
    (Metric.POWER, Basis.NOTABLE): "epoch-2025-training-power",
}
"""The published figure (trends.yaml id) for each (metric, basis); none for chip counts."""


@dataclass(frozen=True)
class GrowthRate:
    """Growth per year of ``metric`` for ``basis`` runs, published or fitted, with its window."""

    metric: Metric
    basis: Basis
    kind: RateKind
    growth_per_year: float
    low: float | None
    high: float | None
    interval_level: float | None
    """Confidence level of [low, high]; None when the source prints a range, not a CI."""
    start_year: float
    end_year: float
    source: str
    """The publication, or for a fit the sample of runs it was fitted to."""
    trend_id: str | None = None
    """trends.yaml id of a published rate."""
    runs: int | None = None
    """Runs in a fit."""
    default: bool = False
    """A published rate that trends.yaml marks as gpuplan's default for the quantity."""

    @property
    def window(self) -> str:
        """'2010-2024': the years of the data the rate rests on."""
        return f"{math.floor(self.start_year)}-{math.floor(self.end_year)}"

    def spread(self) -> str:
        """'90% CI 4.3-5.2', 'range 4-5' or ''."""
        if self.low is None or self.high is None:
            return ""
        what = f"{self.interval_level:.0%} CI" if self.interval_level else "range"
        return f"{what} {self.low:.3g}-{self.high:.3g}"

    @property
    def citation(self) -> str:
        """The source without its URL: 'Sevilla & Roldan 2024, Epoch AI '...''."""
        return re.sub(r",?\s*https?://\S+", "", self.source).strip()

    def label(self) -> str:
        """What the rate is, in one line: kind, value, basis, window and source."""
        spread = f" ({self.spread()})" if self.spread() else ""
        value = f"{self.growth_per_year:.3g}x/yr{spread}"
        if self.kind is RateKind.FIT:
            return (
                f"gpuplan fit: {value} over {self.runs} {self.basis.value} runs dated "
                f"{self.window}, {self.source}"
            )
        return (
            f"published: {value} for {self.basis.value} runs {self.window}, "
            f"{self.citation} (trends.yaml: {self.trend_id})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric.value,
            "basis": self.basis.value,
            "kind": self.kind.value,
            "growth_per_year": self.growth_per_year,
            "low": self.low,
            "high": self.high,
            "interval_level": self.interval_level,
            "start_year": self.start_year,
            "end_year": self.end_year,
            "window": self.window,
            "runs": self.runs,
            "trend_id": self.trend_id,
            "default": self.default,
            "source": self.source,
            "label": self.label(),
        }


def published_growth(catalog: Catalog, metric: Metric, basis: Basis) -> GrowthRate | None:
    """The published growth per year of ``metric`` for ``basis`` runs; None if none is kept.

    The one definition of a published rate: ``published_growth(catalog,
    Metric.TRAINING_COMPUTE, Basis.FRONTIER)`` is the training-compute growth that the claim
    checks use and that ``gpuplan trends`` prints beside its fit.
    """
    trend_id = PUBLISHED_TRENDS.get((metric, basis))
    if trend_id is None:
        return None
    trend: Trend | None = catalog.trends.get(trend_id)
    if trend is None:
        raise CatalogError(f"trends.yaml: no trend '{trend_id}' ({metric.value}, {basis.value})")
    spread = trend.growth_per_year_range
    return GrowthRate(
        metric=metric,
        basis=basis,
        kind=RateKind.PUBLISHED,
        growth_per_year=trend.growth_per_year,
        low=spread[0] if spread else None,
        high=spread[1] if spread else None,
        interval_level=trend.interval_level,
        start_year=trend.start_year,
        end_year=trend.end_year,
        source=trend.source,
        trend_id=trend.id,
        default=trend.default,
    )


def fitted_growth(fit: TrendFit, sample: str) -> GrowthRate:
    """``fit`` as a labelled rate; ``sample`` names the runs (e.g. 'gpuplan catalog')."""
    return GrowthRate(
        metric=fit.metric,
        basis=Basis.of(fit.frontier_only),
        kind=RateKind.FIT,
        growth_per_year=fit.growth_per_year,
        low=fit.growth_interval.low,
        high=fit.growth_interval.high,
        interval_level=fit.growth_interval.level,
        start_year=fit.first_year,
        end_year=fit.last_year,
        source=sample,
        runs=fit.runs,
    )


CATALOG_SAMPLE = "gpuplan catalog (runs.yaml)"


def catalog_growth(catalog: Catalog, metric: Metric, basis: Basis) -> GrowthRate:
    """The fit that ``gpuplan trends`` prints with its defaults (runs since 2010, seed 0)."""
    fit = fit_trend(runs_from_catalog(catalog), metric, frontier_only=basis is Basis.FRONTIER)
    return fitted_growth(fit, CATALOG_SAMPLE)


def compared(fit: GrowthRate, published: GrowthRate) -> str:
    """One line that sets a fit beside the published rate and says why they can differ."""
    return (
        f"this fit: {fit.growth_per_year:.3g}x/yr over {fit.runs} {fit.basis.value} runs of "
        f"{fit.window}; {published.label()}; they differ in sample and window"
    )
