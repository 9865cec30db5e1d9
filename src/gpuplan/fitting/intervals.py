"""Confidence intervals from bootstrap samples: the one small type both fits return.

Percentile bootstrap (Efron & Tibshirani 1993, ch. 13): the interval at level ``p`` runs
from the ``(1 - p) / 2`` to the ``(1 + p) / 2`` quantile of the refitted values. Hoffmann
et al. 2022 (Table 2) report 10th-90th percentiles (level 0.8); Epoch AI reports 90%
intervals for its trend fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Interval:
    """A two-sided interval ``[low, high]`` at confidence ``level`` (0.9 = 90%)."""

    low: float
    high: float
    level: float

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high

    def to_dict(self) -> dict[str, float | None]:
        """JSON-safe: infinite ends (an unbounded doubling time) become None."""
        return {
            "low": self.low if math.isfinite(self.low) else None,
            "high": self.high if math.isfinite(self.high) else None,
            "level": self.level,
        }


def percentile_interval(samples: npt.ArrayLike, level: float) -> Interval:
    """The percentile-bootstrap interval of ``samples`` at ``level``, ignoring NaNs."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    values = np.asarray(samples, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("no finite bootstrap samples to take an interval from")
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return Interval(float(low), float(high), level)
