"""Input uncertainty and model error combined (gpuplan.studies.combined)."""

from __future__ import annotations

import math

import pytest

from gpuplan.studies.combined import combined_intervals


def row(point: float, low: float, high: float) -> dict[str, float]:
    return {
        "intervals.step_time_s.point": point,
        "intervals.step_time_s.p10": point * low,
        "intervals.step_time_s.p50": point * math.sqrt(low * high),
        "intervals.step_time_s.p90": point * high,
        "intervals.days.point": 10 * point,
    }


def test_model_error_alone_reproduces_the_interval() -> None:
    # Every sample the same point: the combined P10/P90 are the residual interval's.
    block = combined_intervals([row(2.0, 0.8, 1.25)] * 20_000, seed=1)
    assert block is not None
    assert block["step_time_s"]["p10"] == pytest.approx(1.6, rel=0.01)
    assert block["step_time_s"]["p90"] == pytest.approx(2.5, rel=0.01)
    assert block["days"]["p50"] == pytest.approx(20.0, rel=0.01)


def test_input_spread_and_model_error_both_widen() -> None:
    inputs_only = [row(p, 1.0, 1.0) for p in (1.0, 1.5, 2.0, 2.5, 3.0) * 2000]
    both = [row(p, 0.8, 1.25) for p in (1.0, 1.5, 2.0, 2.5, 3.0) * 2000]
    a, b = combined_intervals(inputs_only, 3), combined_intervals(both, 3)
    assert a is not None and b is not None
    assert b["days"]["width"] > a["days"]["width"]
    assert (
        b["days"]["width"] > combined_intervals([row(2.0, 0.8, 1.25)] * 10_000, 3)["days"]["width"]
    )  # type: ignore[index]


def test_no_intervals_gives_none() -> None:
    assert combined_intervals([{"run.days": 3.0}], seed=1) is None
