"""Properties of the reliability model: bounds, monotonicity in scale, optimality."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuplan import units
from gpuplan.reliability import (
    IntervalRule,
    ReliabilityEstimate,
    ReliabilityRates,
    daly_interval_s,
    estimate_reliability,
    goodput,
    goodput_first_order,
    job_mtbi_s,
    optimal_interval_s,
    young_interval_s,
)

# Failure rates from 10x below RSC-2 to 3x above the worst published job figure, clusters up
# to a million GPUs: the MTBI stays above ~40 s, so no expectation overflows a float.
rate_per_gpu_hour = st.floats(1e-6, 3e-4)
gpus = st.integers(1, 1_000_000)
params = st.floats(1e8, 2e12)
compute_s = st.floats(units.HOUR_S, 200 * units.DAY_S)
relaunch_s = st.floats(0.0, 1800.0)
per_gpu_write = st.floats(1e8, 1e10)
storage_cap = st.none() | st.floats(1e12, 1e14)
rules = st.sampled_from(IntervalRule)


@st.composite
def reliability_rates(draw: st.DrawFn) -> ReliabilityRates:
    return ReliabilityRates(
        failures_per_gpu_s=draw(rate_per_gpu_hour) / units.HOUR_S,
        checkpoint_bytes_per_param=draw(st.sampled_from([12.0, 14.0, 16.0])),
        write_bytes_per_s_per_gpu=draw(per_gpu_write),
        storage_write_bytes_per_s=draw(storage_cap),
        relaunch_s=draw(relaunch_s),
    )


def steady_goodput(est: ReliabilityEstimate) -> float:
    """The estimate's goodput without the end effect of a last, shorter interval."""
    return goodput(est.checkpoint_interval_s, est.checkpoint_write_s, est.restart_s, est.mtbi_s)


@given(params, gpus, compute_s, reliability_rates(), rules)
def test_goodput_is_a_fraction_and_wall_time_covers_compute(
    p: float, n: int, t: float, r: ReliabilityRates, rule: IntervalRule
) -> None:
    est = estimate_reliability(p, n, t, r, rule=rule)
    assert 0 < est.goodput <= 1
    assert 0 < steady_goodput(est) <= 1
    assert est.wall_time_s >= est.compute_time_s
    assert est.interruptions > 0 and est.lost_gpu_hours >= 0
    parts = est.compute_time_s + est.checkpointing_s + est.failure_loss_s
    assert parts == pytest.approx(est.wall_time_s, rel=1e-9)


@given(params, st.integers(1, 500_000), st.integers(2, 64), reliability_rates())
def test_goodput_falls_as_the_job_grows(p: float, n: int, k: int, r: ReliabilityRates) -> None:
    small = estimate_reliability(p, n, units.DAY_S, r)
    large = estimate_reliability(p, n * k, units.DAY_S, r)
    assert large.mtbi_s == pytest.approx(small.mtbi_s / k)
    assert steady_goodput(large) <= steady_goodput(small) * (1 + 1e-12)


@given(st.floats(1e-3, 1e4), st.floats(10.0, 1e7), st.floats(0.0, 1e4))
def test_optimal_interval_beats_nearby_intervals(delta: float, m: float, restart: float) -> None:
    best = optimal_interval_s(delta, m)
    assert 0 < best <= m
    top = goodput(best, delta, restart, m)
    for factor in (0.5, 0.9, 0.99, 1.01, 1.1, 2.0):
        assert goodput(best * factor, delta, restart, m) <= top * (1 + 1e-12)
    for other in (young_interval_s(delta, m), daly_interval_s(delta, m)):
        assert goodput(other, delta, restart, m) <= top * (1 + 1e-12)


@given(st.floats(1e-2, 10.0), st.floats(1e4, 1e8))
def test_interval_formulas_converge_for_cheap_checkpoints(delta: float, m: float) -> None:
    # delta / M <= 1e-3: Young is first order, Daly adds the next terms of the same series.
    best = optimal_interval_s(delta, m)
    assert young_interval_s(delta, m) == pytest.approx(best, rel=0.03)
    assert daly_interval_s(delta, m) == pytest.approx(best, rel=1e-3)
    # The first-order goodput drops terms of order (tau/M)^2 and delta/M.
    exact = goodput(best, delta, 0.0, m)
    first = goodput_first_order(best, delta, 0.0, m)
    assert abs(first - exact) <= 2 * ((best / m) ** 2 + delta / m)


@given(rate_per_gpu_hour, gpus)
def test_mtbi_is_inverse_in_rate_and_gpus(rate: float, n: int) -> None:
    mtbi = job_mtbi_s(rate / units.HOUR_S, n)
    assert mtbi == pytest.approx(units.HOUR_S / (rate * n))
    assert job_mtbi_s(2 * rate / units.HOUR_S, n) == pytest.approx(mtbi / 2)
    assert math.isfinite(mtbi) and mtbi > 0
