"""Whole-run overheads beyond failures: planned restarts (Llama 3's maintenance rate) and
compute redone after loss-spike rollbacks (PaLM's rate), as named terms of the estimate."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplan import units
from gpuplan.reliability.analytical import ReliabilityRates, estimate_reliability
from gpuplan.reliability.from_catalog import rates_from_catalog

BASE = ReliabilityRates(
    failures_per_gpu_s=1e-9,
    checkpoint_bytes_per_param=14,
    write_bytes_per_s_per_gpu=1e9,
    storage_write_bytes_per_s=None,
    relaunch_s=600,
)


def test_catalog_rates_by_hand() -> None:
    rates = rates_from_catalog()
    # Llama 3 sec. 3.3.4: 47 planned interruptions in 54 days.
    assert rates.planned_interruptions_per_s * units.DAY_S == pytest.approx(47 / 54, rel=0.01)
    # PaLM sec. 5.1: ~20 rollbacks of ~100 steps in ~255k steps.
    assert rates.redone_fraction == pytest.approx(20 * 100 / 255_000, rel=0.01)


def test_planned_restarts_by_hand() -> None:
    rates = replace(BASE, planned_interruptions_per_s=1 / units.DAY_S)
    est = estimate_reliability(1e9, 8, 40 * units.DAY_S, rates)
    without = estimate_reliability(1e9, 8, 40 * units.DAY_S, BASE)
    # One a day over ~40 days of wall time, each one restart (relaunch + checkpoint read).
    assert est.planned_restarts == pytest.approx(without.wall_time_s / units.DAY_S)
    assert est.planned_restart_s == pytest.approx(est.planned_restarts * est.restart_s)
    assert est.wall_time_s == pytest.approx(without.wall_time_s + est.planned_restart_s)


@settings(max_examples=50, deadline=None)
@given(
    st.floats(1 * units.DAY_S, 200 * units.DAY_S),
    st.floats(0.0, 5.0),
    st.floats(0.0, 0.05),
    st.integers(8, 100_000),
)
def test_overheads_are_monotone(compute_s: float, per_day: float, redone: float, gpus: int) -> None:
    rates = replace(BASE, planned_interruptions_per_s=per_day / units.DAY_S, redone_fraction=redone)
    est = estimate_reliability(1e10, gpus, compute_s, rates)
    longer = estimate_reliability(1e10, gpus, compute_s * 1.5, rates)
    more = estimate_reliability(
        1e10, gpus, compute_s,
        replace(rates, planned_interruptions_per_s=rates.planned_interruptions_per_s * 2 + 1e-9,
                redone_fraction=redone * 2 + 1e-4),
    )  # fmt: skip
    assert est.redone_s == pytest.approx(redone * compute_s)
    assert longer.planned_restarts >= est.planned_restarts
    assert longer.redone_s >= est.redone_s
    assert more.planned_restart_s >= est.planned_restart_s
    assert more.redone_s > est.redone_s
    assert more.wall_time_s > est.wall_time_s
    assert est.wall_time_s >= compute_s * (1 + redone)
