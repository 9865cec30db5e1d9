"""Scaling-law fits and published growth rates (trends)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from gpuplan.catalog.schema.base import Fraction, Positive, Record


class ScalingLawForm(StrEnum):
    CHINCHILLA = "chinchilla"
    """L(N, D) = E + A / N^alpha + B / D^beta (Hoffmann et al. 2022, eq. 2)."""
    KAPLAN = "kaplan"
    """L(N, D) = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D (Kaplan et al. 2020, eq. 1.5)."""


class ScalingLaw(Record):
    """A fitted loss law L(N, D) over parameters N and training tokens D."""

    id: str
    name: str
    form: ScalingLawForm
    e: Annotated[float, Field(ge=0)] = 0.0
    a: Positive
    b: Positive
    alpha: Positive
    beta: Positive
    params_counted: str
    """Which parameters N counts (all, or non-embedding)."""
    data_domain: str
    default: bool = False

    @field_validator("alpha", "beta")
    @classmethod
    def _exponent_below_one(cls, value: float) -> float:
        if value >= 1:
            raise ValueError(f"exponent {value} must be below 1")
        return value


class TrendQuantity(StrEnum):
    TRAINING_COMPUTE = "training-compute"
    TRAINING_COST = "training-cost"
    TRAINING_POWER = "training-power"
    TRAINING_DURATION = "training-duration"
    HARDWARE_PRICE_PERFORMANCE = "hardware-price-performance"
    """Peak FLOP/s per US dollar of hardware."""
    HARDWARE_ENERGY_EFFICIENCY = "hardware-energy-efficiency"
    """Peak FLOP/s per watt."""
    ALGORITHMIC_EFFICIENCY = "algorithmic-efficiency"
    """Physical compute needed for a fixed result, inverted: the effective-compute multiplier."""
    SUPERCOMPUTER_PERFORMANCE = "supercomputer-performance"
    SUPERCOMPUTER_COST = "supercomputer-cost"
    SUPERCOMPUTER_POWER = "supercomputer-power"


class RateForm(StrEnum):
    """How a source printed a growth rate; the record keeps the figure as printed."""

    TIMES_PER_YEAR = "x-per-year"
    DOUBLING_MONTHS = "doubling-months"
    DOUBLING_YEARS = "doubling-years"
    OOMS_PER_YEAR = "ooms-per-year"
    """Orders of magnitude (powers of ten) per year."""


class Trend(Record):
    """A published growth rate of one quantity over a period (trends.yaml).

    ``central``, ``low`` and ``high`` are the figures as printed, in the form ``form`` says;
    :attr:`growth_per_year` and :attr:`growth_per_year_range` convert them once.
    """

    id: str
    name: str
    quantity: TrendQuantity
    form: RateForm
    central: Positive
    low: Positive | None = None
    high: Positive | None = None
    interval_level: Fraction | None = None
    """Confidence level of [low, high]; None when the source gives a range, not a CI."""
    start_year: Annotated[float, Field(ge=1950, le=2100)]
    end_year: Annotated[float, Field(ge=1950, le=2100)]
    secondary: bool = False
    """True when the figure is quoted from a secondary source."""
    default: bool = False
    """The rate gpuplan uses for this quantity unless told otherwise (one per quantity)."""

    @model_validator(mode="after")
    def _ordered(self) -> Trend:
        if (self.low is None) != (self.high is None):
            raise ValueError(f"{self.id}: give both low and high, or neither")
        if (
            self.low is not None
            and self.high is not None
            and not self.low <= self.central <= self.high
        ):
            raise ValueError(f"{self.id}: need low <= central <= high")
        if self.end_year < self.start_year:
            raise ValueError(f"{self.id}: end_year is before start_year")
        return self

    def _to_growth(self, value: float) -> float:
        if self.form is RateForm.TIMES_PER_YEAR:
            return value
        if self.form is RateForm.OOMS_PER_YEAR:
            return float(10.0**value)
        months = value if self.form is RateForm.DOUBLING_MONTHS else value * 12.0
        return float(2.0 ** (12.0 / months))

    @property
    def growth_per_year(self) -> float:
        """Multiplicative growth per year (x/yr) of the central figure."""
        return self._to_growth(self.central)

    @property
    def growth_per_year_range(self) -> tuple[float, float] | None:
        """(low, high) growth per year; a long doubling time is the low end."""
        if self.low is None or self.high is None:
            return None
        ends = sorted((self._to_growth(self.low), self._to_growth(self.high)))
        return ends[0], ends[1]
