"""Prediction intervals that combine input uncertainty with the model's own error.

The Monte Carlo (:mod:`gpuplan.studies.uncertainty`) draws the inputs (prices, failure
rates, PUE, ...) and plans each sample; every sample's plan carries its interval from the
validation residuals (:mod:`gpuplan.planning.intervals`). Here each sample also draws a model
error ``e`` in log space, normal with the sample's interval as its P10-P90 (the
random-effects interval's quantiles, matched at P10, P50 and P90), and the quantity becomes
``point x exp(e)`` (tokens, for a run given in days, ``point / exp(e)``). The P10/P50/P90 of
these over the samples are the combined interval: both spreads, neither double-counted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gpuplan.studies.rows import Scalar

Z90 = 1.2815515655446004
"""The 90th percentile of the standard normal distribution."""
KEYS = ("step_time_s", "days", "gpu_hours", "cost_usd", "tokens")
STREAM = 16
"""Second seed word of the model-error draws, apart from the inputs' stream."""


def _error_draws(rows: Sequence[Mapping[str, Scalar]], seed: int) -> list[float | None]:
    """One model error per sample (None where the sample has no interval)."""
    z = np.random.default_rng([seed, STREAM]).standard_normal(len(rows))
    out: list[float | None] = []
    for row, zi in zip(rows, z, strict=True):
        low, mid, high = (row.get(f"intervals.step_time_s.{k}") for k in ("p10", "p50", "p90"))
        point = row.get("intervals.step_time_s.point")
        if not all(isinstance(v, float) for v in (low, mid, high, point)):
            out.append(None)
            continue
        assert isinstance(low, float) and isinstance(mid, float) and isinstance(high, float)
        assert isinstance(point, float)
        sd = math.log(high / low) / (2 * Z90)
        out.append(math.log(mid / point) + sd * float(zi))
    return out


def combined_intervals(rows: Sequence[Mapping[str, Scalar]], seed: int) -> dict[str, Any] | None:
    """P10/P50/P90 of step time, days, GPU-hours and cloud cost (tokens for a run given in
    days) over the samples, each with its own model error; None without intervals."""
    errors = _error_draws(rows, seed)
    out: dict[str, Any] = {}
    for key in KEYS:
        values = []
        for row, e in zip(rows, errors, strict=True):
            point = row.get(f"intervals.{key}.point")
            if e is not None and isinstance(point, float):
                values.append(point / math.exp(e) if key == "tokens" else point * math.exp(e))
        if values:
            p10, p50, p90 = (float(v) for v in np.percentile(values, [10, 50, 90]))
            out[key] = {"p10": p10, "p50": p50, "p90": p90, "width": (p90 - p10) / p50}
    if not out:
        return None
    drawn = sum(e is not None for e in errors)
    out["combines"] = (
        f"input distributions ({drawn:,} samples) and the validation residuals (one model "
        "error per sample, normal in log space with that sample's P10-P90)"
    )
    return out
