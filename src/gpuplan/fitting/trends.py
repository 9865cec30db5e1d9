"""Growth of training runs over time: compute, chips, cost and power against date.

A trend is a least-squares line through ``log10(value)`` against the publication date in
decimal years, as Epoch AI fits it (Sevilla et al. 2022, arXiv 2202.05924; Rahman & Owen
2024, "The training compute of notable AI models has been doubling roughly every six
months"). The slope ``s`` (orders of magnitude per year) gives

    growth per year = 10^s,      doubling time = 12 log10(2) / s months.

Confidence intervals come from a percentile bootstrap over runs (resampled with
replacement, refitted; a fixed, reported seed). Epoch AI reports 90% intervals, the
default here. The residual of a run against the line says where it sits: +1 is ten times
more than the trend predicts for its date.

Runs come from the project's catalog (``runs.yaml``, :func:`runs_from_catalog`) or from a
CSV file in Epoch AI's public format (:func:`gpuplan.fitting.epoch.read_epoch_csv`; Notable
AI Models or All ML Systems exports, CC-BY, credit Epoch AI). The catalog's runs were chosen
as notable, so fits to them carry that selection; they hold no power figures. A projection
stays within ``MAX_PROJECTION_YEARS`` of the runs and says how far it extrapolates.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from gpuplan.catalog import Catalog
from gpuplan.defaults import MAX_SAMPLES
from gpuplan.errors import ScenarioError, require_draws
from gpuplan.fitting.intervals import Interval, percentile_interval

MIN_RUNS = 3
MAX_PROJECTION_YEARS = 20
"""How far past the fitted runs a trend is projected: beyond two decades a growth rate of
4x a year gives numbers (1e38 FLOP) no forecast stands behind, and 10^x overflows soon."""
"""A line through two points has no residual; fewer than three runs is an error."""
MIN_SPAN_YEARS = 1.0
"""A growth rate per year is fitted on runs at least a year apart, the rate's own unit (not a
number from the world: less is extrapolation). Three 2025 runs months apart gave 1.3e-21x a
year, its 90% interval 0 to a 97-digit number."""
LOG10_2 = math.log10(2.0)


class Metric(StrEnum):
    """What is fitted against date; each value is a positive quantity in SI units."""

    TRAINING_COMPUTE = "training-compute"
    """Total training compute of the final run, FLOP."""
    ACCELERATOR_COUNT = "accelerator-count"
    """Chips (GPUs, TPUs) used for the run."""
    COST = "cost"
    """Cost of the final training run, US dollars (Epoch: amortized hardware and energy,
    2023 USD)."""
    POWER = "power"
    """Power drawn by the training hardware, W."""

    @property
    def unit(self) -> str:
        return {"training-compute": "FLOP", "accelerator-count": "chips", "cost": "USD"}.get(
            self.value, "W"
        )


@dataclass(frozen=True)
class RunPoint:
    """One training run placed on the timeline; absent quantities are None."""

    name: str
    year: float
    """Publication date as a decimal year (2024-07-02 -> 2024.5)."""
    frontier: bool
    domain: str = ""
    training_flops: float | None = None
    accelerator_count: float | None = None
    cost_usd: float | None = None
    power_w: float | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.year):
            raise ScenarioError(f"run '{self.name}'.year", f"{self.year} is not a year")
        for metric in Metric:
            value = self.value(metric)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ScenarioError(
                    f"run '{self.name}'.{metric.value}", f"{value} must be positive or absent"
                )

    def value(self, metric: Metric) -> float | None:
        return {
            Metric.TRAINING_COMPUTE: self.training_flops,
            Metric.ACCELERATOR_COUNT: self.accelerator_count,
            Metric.COST: self.cost_usd,
            Metric.POWER: self.power_w,
        }[metric]


def power10(log10: float, metric: Metric) -> float:
    """10 ** ``log10``; a ScenarioError naming the metric where that is no float (a file with
    1e300 FLOP beside 1e-300, or 1e30 and 1e10 a day apart: an OverflowError traceback)."""
    try:
        return float(10.0**log10)
    except OverflowError:
        raise ScenarioError(
            metric.value,
            f"the fit reaches 10^{log10:,.0f}, beyond a float: the runs' values or dates "
            "give no plausible trend (check the file's units and dates)",
        ) from None


def _growth(log10_interval: Interval, metric: Metric) -> Interval:
    """The growth factors of an interval of slopes (orders of magnitude a year)."""
    low, high = (power10(x, metric) for x in (log10_interval.low, log10_interval.high))
    return Interval(low, high, log10_interval.level)


def decimal_year(date: dt.date) -> float:
    """2024-01-01 -> 2024.0; 2024-07-02 -> 2024.5 (day of year over days in the year)."""
    days = 366 if calendar.isleap(date.year) else 365  # (date(year + 1) fails for 9999)
    return date.year + (date.toordinal() - dt.date(date.year, 1, 1).toordinal()) / days


# --------------------------------------------------------------------------- sources


def runs_from_catalog(catalog: Catalog) -> tuple[RunPoint, ...]:
    """Every run in ``runs.yaml`` as a point (power is not catalogued)."""
    return tuple(
        RunPoint(
            name=run.name,
            year=decimal_year(run.date),
            frontier=run.frontier,
            domain=run.domain.value,
            training_flops=run.training_flops,
            accelerator_count=run.accelerator_count,
            cost_usd=run.cost_usd,
        )
        for run in catalog.runs.values()
    )


@dataclass(frozen=True)
class Projection:
    """A trend's value in ``year`` with the bootstrap interval of the line there."""

    year: float
    value: float
    interval: Interval
    years_beyond_fit: float = 0.0
    """Years outside the span of the fitted runs (0 inside it): an extrapolation."""

    def to_dict(self) -> dict[str, Any]:
        return {"year": self.year, "value": self.value, "interval": self.interval.to_dict(),
                "years_beyond_fit": self.years_beyond_fit}  # fmt: skip


@dataclass(frozen=True)
class TrendFit:
    """``log10(value) = intercept_log10 + slope_ooms_per_year (year - center_year)``."""

    metric: Metric
    slope_ooms_per_year: float
    intercept_log10: float
    """log10 of the trend's value at ``center_year`` (the mean date of the runs)."""
    center_year: float
    runs: int
    first_year: float
    last_year: float
    frontier_only: bool
    growth_per_year: float
    growth_interval: Interval
    doubling_months: float
    """12 log10(2) / slope; infinite when the slope is not positive."""
    doubling_interval: Interval
    residual_std_ooms: float
    """Standard deviation of the runs about the line, orders of magnitude."""
    bootstrap: int
    seed: int
    slope_samples: tuple[float, ...] = field(repr=False, compare=False)
    intercept_samples: tuple[float, ...] = field(repr=False, compare=False)

    def predict(self, year: float) -> float:
        """The trend's value in ``year`` (the metric's unit)."""
        return float(
            10.0 ** (self.intercept_log10 + self.slope_ooms_per_year * (year - self.center_year))
        )

    def project(self, year: float) -> Projection:
        """The trend's value in ``year``, with the interval of the bootstrap lines there."""
        if not math.isfinite(year):
            raise ScenarioError("project_to", f"{year} is not a year")
        low, high = self.first_year - MAX_PROJECTION_YEARS, self.last_year + MAX_PROJECTION_YEARS
        if not low <= year <= high:
            raise ScenarioError(
                f"project_to = {year:g}",
                f"the runs span {self.first_year:.0f}-{self.last_year:.0f}; a trend is projected "
                f"at most {MAX_PROJECTION_YEARS} years beyond them ({low:.0f}-{high:.0f})",
            )
        slopes = np.asarray(self.slope_samples)
        intercepts = np.asarray(self.intercept_samples)
        log_values = intercepts + slopes * (year - self.center_year)
        log_interval = percentile_interval(log_values, self.growth_interval.level)
        interval = Interval(
            power10(log_interval.low, self.metric), power10(log_interval.high, self.metric),
            log_interval.level,
        )  # fmt: skip
        beyond = max(0.0, year - self.last_year, self.first_year - year)
        return Projection(year, self.predict(year), interval, beyond)

    def residual_ooms(self, year: float, value: float) -> float:
        """Orders of magnitude by which ``value`` at ``year`` lies above (+) the trend."""
        if not (math.isfinite(value) and value > 0):
            raise ScenarioError(self.metric.value, f"{value} must be a positive number")
        return math.log10(value) - math.log10(self.predict(year))

    def residual_of(self, run: RunPoint) -> float:
        """Where ``run`` sits: orders of magnitude above (+) or below (-) the trend."""
        value = run.value(self.metric)
        if value is None:
            raise ScenarioError(f"run '{run.name}'", f"has no {self.metric.value} value")
        return self.residual_ooms(run.year, value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric.value,
            "unit": self.metric.unit,
            "runs": self.runs,
            "first_year": self.first_year,
            "last_year": self.last_year,
            "frontier_only": self.frontier_only,
            "slope_ooms_per_year": self.slope_ooms_per_year,
            "growth_per_year": self.growth_per_year,
            "growth_interval": self.growth_interval.to_dict(),
            "doubling_months": self.doubling_months
            if math.isfinite(self.doubling_months)
            else None,
            "doubling_interval": self.doubling_interval.to_dict(),
            "residual_std_ooms": self.residual_std_ooms,
            "center_year": self.center_year,
            "intercept_log10": self.intercept_log10,
            "bootstrap": self.bootstrap,
            "seed": self.seed,
        }


def _doubling(slope: float) -> float:
    return 12.0 * LOG10_2 / slope if slope > 0 else math.inf


def select(
    points: Iterable[RunPoint],
    metric: Metric,
    *,
    since: float | None = None,
    until: float | None = None,
    frontier_only: bool = False,
) -> tuple[RunPoint, ...]:
    """Runs with a ``metric`` value, dated in ``[since, until)``, frontier ones if asked."""
    return tuple(
        p
        for p in points
        if p.value(metric) is not None
        and (since is None or p.year >= since)
        and (until is None or p.year < until)
        and (p.frontier or not frontier_only)
    )


def _check_span(years: np.ndarray, metric: Metric) -> None:
    """Runs a year apart at least (:data:`MIN_SPAN_YEARS`), and not all of one date."""
    if np.ptp(years) == 0:
        raise ScenarioError(metric.value, "every run has the same date; a trend needs a span")
    if (span := float(np.ptp(years))) < MIN_SPAN_YEARS:
        raise ScenarioError(
            metric.value,
            f"the {len(years)} runs span {span:.2f} years ({years.min():.2f}-{years.max():.2f}); "
            f"a growth rate per year needs runs at least {MIN_SPAN_YEARS:g} year apart (widen "
            "the years)",
        )


def fit_trend(
    points: Iterable[RunPoint],
    metric: Metric = Metric.TRAINING_COMPUTE,
    *,
    since: float | None = 2010.0,
    until: float | None = None,
    frontier_only: bool = False,
    bootstrap: int = 1000,
    seed: int = 0,
    level: float = 0.9,
) -> TrendFit:
    """Least-squares line of log10(``metric``) against date, with bootstrap intervals.

    Runs dated from ``since`` (inclusive) to ``until`` (exclusive; decimal years), only
    Epoch's frontier runs when ``frontier_only``. ``bootstrap`` resamples of the runs with
    ``numpy.random.default_rng(seed)`` give intervals at ``level`` (0.9, as Epoch reports).
    """
    if since is not None and until is not None and until <= since:
        raise ScenarioError("until", f"{until} must be after since = {since}")
    require_draws("bootstrap", bootstrap, 1, MAX_SAMPLES, seed)
    if not 0 < level < 1:
        raise ScenarioError("level", f"{level} must be in (0, 1), e.g. 0.9")
    chosen = select(points, metric, since=since, until=until, frontier_only=frontier_only)
    if len(chosen) < MIN_RUNS:
        scope = f"{'frontier ' if frontier_only else ''}runs with {metric.value}"
        window = f" from {since}" if since is not None else ""
        window += f" before {until}" if until is not None else ""
        raise ScenarioError(
            metric.value,
            f"{len(chosen)} {scope}{window}; a trend needs at least {MIN_RUNS} "
            "(widen the years or include non-frontier runs)",
        )
    years = np.array([p.year for p in chosen])
    logs = np.log10(np.array([p.value(metric) for p in chosen], dtype=float))
    _check_span(years, metric)
    center = float(years.mean())
    x = years - center
    slope = float(x @ (logs - logs.mean()) / (x @ x))
    intercept = float(logs.mean())
    residuals = logs - (intercept + slope * x)

    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(chosen), size=(bootstrap, len(chosen)))
    bx, by = years[pick], logs[pick]
    bx_mean = bx.mean(axis=1, keepdims=True)
    by_mean = by.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # a resample of one date: NaN
        slopes = ((bx - bx_mean) * (by - by_mean)).sum(axis=1) / ((bx - bx_mean) ** 2).sum(axis=1)
    # Each resampled line evaluated at the full data's centre, for projections.
    intercepts = by_mean[:, 0] + slopes * (center - bx_mean[:, 0])
    slope_interval = percentile_interval(slopes, level)
    doubling_interval = Interval(
        _doubling(slope_interval.high), _doubling(slope_interval.low), level
    )
    return TrendFit(
        metric=metric,
        slope_ooms_per_year=slope,
        intercept_log10=intercept,
        center_year=center,
        runs=len(chosen),
        first_year=float(years.min()),
        last_year=float(years.max()),
        frontier_only=frontier_only,
        growth_per_year=power10(slope, metric),
        growth_interval=_growth(slope_interval, metric),
        doubling_months=_doubling(slope),
        doubling_interval=doubling_interval,
        residual_std_ooms=float(residuals.std(ddof=2)) if len(chosen) > 2 else 0.0,
        bootstrap=bootstrap,
        seed=seed,
        slope_samples=tuple(float(s) for s in slopes),
        intercept_samples=tuple(float(i) for i in intercepts),
    )
