"""Reliability model: hand-derived cases, published interruption counts, Monte Carlo."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import lambertw

from gpuplan import units
from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import FailureMetric, ReliabilityParameterId
from gpuplan.errors import CatalogError
from gpuplan.reliability import (
    FailureLaw,
    IntervalRule,
    ReliabilityRates,
    checkpoint_bytes,
    checkpoint_write_s,
    daly_interval_s,
    estimate_reliability,
    estimate_reliability_from_catalog,
    expected_segment_s,
    goodput,
    goodput_first_order,
    job_mtbi_s,
    node_mtbi_s,
    optimal_interval_s,
    rates_from_catalog,
    simulate_run,
    young_interval_s,
)

LLAMA3_GPUS = 16_384
LLAMA3_DAYS = 54
LLAMA3_UNEXPECTED = 419  # Dubey et al. 2024, sec. 3.3.4
LLAMA3_TOTAL = 466  # 419 unexpected + 47 planned
LLAMA3_RATE_PER_GPU_HOUR = LLAMA3_UNEXPECTED / (LLAMA3_GPUS * LLAMA3_DAYS * 24)
PARAMS_405B = 405e9


def per_hour(rate_per_gpu_hour: float) -> float:
    return rate_per_gpu_hour / units.HOUR_S


def rates(
    rate_per_gpu_hour: float = LLAMA3_RATE_PER_GPU_HOUR,
    relaunch_s: float = 600.0,
    storage_write_bytes_per_s: float | None = 2e12,
) -> ReliabilityRates:
    return ReliabilityRates(
        failures_per_gpu_s=per_hour(rate_per_gpu_hour),
        checkpoint_bytes_per_param=14.0,
        write_bytes_per_s_per_gpu=0.15e9,
        storage_write_bytes_per_s=storage_write_bytes_per_s,
        relaunch_s=relaunch_s,
    )


# --------------------------------------------------------------------------- catalog


def test_default_failure_rate_is_the_llama3_figure(catalog: Catalog) -> None:
    defaults = [r for r in catalog.failure_rates.values() if r.default]
    assert [r.id for r in defaults] == ["llama3-405b"]
    assert defaults[0].failures_per_gpu_hour == pytest.approx(LLAMA3_RATE_PER_GPU_HOUR, rel=1e-12)
    assert defaults[0].failures_per_gpu_hour == pytest.approx(1.9733e-5, rel=1e-4)


def test_catalog_records_convert_as_published(catalog: Catalog) -> None:
    rsc1 = catalog.failure_rates["kokolis-rsc1"]
    assert rsc1.metric is FailureMetric.NODE_FAILURE_RATE
    assert rsc1.failures_per_gpu_hour == pytest.approx(6.5e-3 / (8 * 24))
    jobs = catalog.failure_rates["kokolis-rsc1-1024-gpu-jobs"]
    assert jobs.failures_per_gpu_hour == pytest.approx(1 / (7.9 * 1024))
    for record in catalog.failure_rates.values():
        assert len(record.source) >= 10 and record.retrieved.year >= 2024
        assert 1e-6 < record.failures_per_gpu_hour < 1e-3, record.id
    assert set(ReliabilityParameterId) == set(catalog.reliability_parameters)


def test_rates_from_catalog_are_si_and_list_their_assumptions(catalog: Catalog) -> None:
    r = rates_from_catalog(catalog)
    assert r.failures_per_gpu_s == pytest.approx(LLAMA3_RATE_PER_GPU_HOUR / 3600)
    assert r.checkpoint_bytes_per_param == 14
    assert r.write_bytes_per_s_per_gpu == pytest.approx(0.15e9)
    assert r.storage_write_bytes_per_s == pytest.approx(2e12)  # Tectonic, 2 TB/s sustained
    assert r.relaunch_s == 600
    assert any("restart_relaunch_s" in a for a in r.assumptions)
    assert any("llama3-405b" in a for a in r.assumptions)
    rsc2 = rates_from_catalog(catalog, "kokolis-rsc2")
    assert rsc2.failures_per_gpu_s == pytest.approx(2.34e-3 / (8 * 24) / 3600)


def test_unknown_failure_rate_names_the_near_ids(catalog: Catalog) -> None:
    with pytest.raises(CatalogError, match=r"unknown failure rate 'kokolis-rsc3'.*kokolis-rsc"):
        rates_from_catalog(catalog, "kokolis-rsc3")


# --------------------------------------------------------------------------- formulas by hand


def test_mtbi_of_llama3_is_three_hours() -> None:
    # 1 / (419 / (16,384 x 54 x 24) x 16,384) = 54 x 24 / 419 = 3.0931 h
    mtbi = job_mtbi_s(per_hour(LLAMA3_RATE_PER_GPU_HOUR), LLAMA3_GPUS)
    assert mtbi == pytest.approx(54 * 24 / 419 * 3600)
    assert mtbi / 3600 == pytest.approx(3.0931, abs=1e-4)


def test_node_form_reproduces_kokolis_projections() -> None:
    # Kokolis et al. 2024 project 1.8 h at 16,384 GPUs and 0.23 h at 131,072 from r_f = 6.5.
    r_f = 6.5e-3 / units.DAY_S  # failures per node-second
    assert node_mtbi_s(r_f, 16_384) / 3600 == pytest.approx(1.8, rel=0.01)
    assert node_mtbi_s(r_f, 131_072) / 3600 == pytest.approx(0.23, rel=0.03)
    assert node_mtbi_s(r_f, 16_384) == pytest.approx(job_mtbi_s(r_f / 8, 16_384))
    assert node_mtbi_s(r_f, 9) == pytest.approx(node_mtbi_s(r_f, 16))  # whole nodes


def test_young_interval_by_hand() -> None:
    # delta = 60 s, M = 1 h: sqrt(2 x 60 x 3600) = sqrt(432,000) = 657.27 s
    assert young_interval_s(60.0, 3600.0) == pytest.approx(657.2671, abs=1e-3)


@pytest.mark.parametrize(("mtbi_min", "expected_min"), [(24 * 60, 117), (6 * 60, 57), (15, 9.1)])
def test_daly_interval_matches_his_worked_examples(mtbi_min: float, expected_min: float) -> None:
    # Daly 2006, Figs. 3-5: delta = 5 min, R = 10 min; tau_opt = 117, 57 and 9.1 min.
    tau = daly_interval_s(5 * 60.0, mtbi_min * 60.0) / 60
    assert tau == pytest.approx(expected_min, abs=0.1 if expected_min < 10 else 0.5)


def test_daly_interval_is_mtbi_past_twice_mtbi() -> None:
    assert daly_interval_s(500.0, 200.0) == 200.0


@pytest.mark.parametrize("ratio", [1e-6, 1e-3, 0.1, 1.0, 5.0])
def test_optimal_interval_is_the_lambert_w_closed_form(ratio: float) -> None:
    mtbi = 3600.0
    closed = mtbi * (1 + lambertw(-math.exp(-1 - ratio), 0).real)
    assert optimal_interval_s(ratio * mtbi, mtbi) == pytest.approx(closed, rel=1e-6)


def test_interval_formulas_agree_when_checkpoints_are_cheap() -> None:
    young, daly, best = (
        f(3.0, 11_000.0) for f in (young_interval_s, daly_interval_s, optimal_interval_s)
    )
    assert daly == pytest.approx(best, rel=1e-5)
    assert young == pytest.approx(best, rel=0.01)


def test_exact_goodput_tends_to_the_first_order_formula() -> None:
    # delta, tau, R << M: the two differ by O((tau/M)^2) and delta/(2M).
    exact = goodput(300.0, 3.0, 600.0, 1e6)
    first = goodput_first_order(300.0, 3.0, 600.0, 1e6)
    assert exact == pytest.approx(first, rel=1e-4)
    # No failures in the limit: only the checkpoint costs.
    assert goodput(300.0, 3.0, 600.0, 1e15) == pytest.approx(300 / 303, rel=1e-9)


def test_expected_segment_by_hand() -> None:
    # M = 1 h, R = 0, L = 1 h: M (e - 1) = 1.71828 h
    assert expected_segment_s(3600.0, 0.0, 3600.0) == pytest.approx(3600 * (math.e - 1))
    assert expected_segment_s(1e6, 0.0, 1.0) == math.inf  # overflows: never finishes


def test_checkpoint_size_and_write_time_of_llama3_405b() -> None:
    size = checkpoint_bytes(PARAMS_405B, 14)
    assert size == pytest.approx(5.67e12)  # 405e9 x (2 + 12) B
    # 16,384 x 0.15 GB/s = 2.46 TB/s > 2 TB/s: the storage caps it; 5.67 TB / 2 TB/s.
    assert checkpoint_write_s(size, 16_384, 0.15e9, 2e12) == pytest.approx(2.835)
    # 1,024 x 0.15 GB/s = 154 GB/s, under the cap: 36.9 s.
    assert checkpoint_write_s(size, 1_024, 0.15e9, 2e12) == pytest.approx(5.67e12 / 153.6e9)
    assert checkpoint_write_s(size, 16_384, 0.15e9) == pytest.approx(5.67e12 / (16_384 * 0.15e9))


# --------------------------------------------------------------------------- the estimate


def test_llama3_405b_interruptions_in_the_range_meta_reports() -> None:
    """54 days of 16,384 H100: Meta counted 419 unexpected (466 total) interruptions.

    The default rate is derived from that count, so run as 54 days of *compute* the model
    must give a bit more than 419 (wall time exceeds compute by 1/goodput) and, read as a
    Poisson count, stay within two standard deviations (2 sqrt(419) = 41) of 419 and below
    the 466 total. The RSC rates (Kokolis et al. 2024) are independent of that count.
    """
    est = estimate_reliability(PARAMS_405B, LLAMA3_GPUS, LLAMA3_DAYS * units.DAY_S, rates())
    assert LLAMA3_UNEXPECTED <= est.interruptions <= LLAMA3_UNEXPECTED + 2 * math.sqrt(419)
    assert est.interruptions <= LLAMA3_TOTAL
    assert est.interruptions_per_day == pytest.approx(419 / 54)
    # Read the 54 days as wall time: exactly the count the rate came from.
    compute = LLAMA3_DAYS * units.DAY_S * est.goodput
    wall = estimate_reliability(PARAMS_405B, LLAMA3_GPUS, compute, rates())
    assert wall.interruptions == pytest.approx(419, rel=0.002)
    # Independent cluster rates bracket Meta's count: RSC-2 259, RSC-1 719 in 54 days.
    low = 2.34e-3 * 2048 * 54
    high = 6.5e-3 * 2048 * 54
    assert low < LLAMA3_UNEXPECTED < high
    # Meta reports > 90% effective training time; the model, with a 10-min relaunch, 92.6%.
    assert 0.90 < est.goodput < 0.95


def test_breakdown_adds_up_and_uses_the_rule() -> None:
    est = estimate_reliability(70e9, 4096, 20 * units.DAY_S, rates(), rule=IntervalRule.YOUNG)
    assert est.checkpoint_interval_s == est.young_interval_s
    assert est.interval_rule is IntervalRule.YOUNG
    parts = est.compute_time_s + est.checkpointing_s + est.failure_loss_s
    assert parts == pytest.approx(est.wall_time_s, rel=1e-12)
    assert est.lost_gpu_hours == pytest.approx(4096 * (est.wall_time_s - est.compute_time_s) / 3600)
    assert est.restart_s == pytest.approx(600 + est.checkpoint_write_s)
    fixed = estimate_reliability(70e9, 4096, 20 * units.DAY_S, rates(), interval_s=3600.0)
    assert fixed.interval_rule is None and fixed.goodput < est.goodput
    assert any("synchronous" in a for a in est.assumptions)


def test_catalog_helper_fills_the_defaults(catalog: Catalog) -> None:
    est = estimate_reliability_from_catalog(PARAMS_405B, LLAMA3_GPUS, 54 * units.DAY_S, catalog)
    assert est == estimate_reliability(
        PARAMS_405B, LLAMA3_GPUS, 54 * units.DAY_S, rates_from_catalog(catalog)
    )
    assert est.mtbi_s / 3600 == pytest.approx(3.0931, abs=1e-4)


def test_loss_grows_with_scale() -> None:
    gpu_days = LLAMA3_GPUS * LLAMA3_DAYS * units.DAY_S
    sizes = (16_384, 100_000, 1_000_000)
    runs = [estimate_reliability(PARAMS_405B, n, gpu_days / n, rates()) for n in sizes]
    goodputs = [r.goodput for r in runs]
    assert goodputs == sorted(goodputs, reverse=True)
    assert runs[1].goodput == pytest.approx(0.68, abs=0.01)
    assert runs[2].goodput < 0.05  # 10-minute restarts, an interruption every 3 minutes


# --------------------------------------------------------------------------- Monte Carlo


def test_monte_carlo_agrees_with_the_analytical_goodput() -> None:
    est = estimate_reliability(PARAMS_405B, LLAMA3_GPUS, LLAMA3_DAYS * units.DAY_S, rates())
    sim = simulate_run(est, runs=10_000)
    assert sim.goodput == pytest.approx(est.goodput, rel=0.01)
    assert sim.interruptions.mean == pytest.approx(est.interruptions, rel=0.01)
    assert sim.wall_time_s.p10 <= sim.wall_time_s.p50 <= sim.wall_time_s.p90
    assert sim.wall_time_s.p10 >= est.compute_time_s
    assert sim.lost_gpu_hours.mean == pytest.approx(est.lost_gpu_hours, rel=0.02)


def test_monte_carlo_agrees_when_failures_hit_restarts() -> None:
    # M = 5 min, R = 10 min: most restarts fail; the exact formula counts that.
    est = estimate_reliability(1e9, 1000, 3 * 3600.0, rates(rate_per_gpu_hour=0.012))
    assert est.mtbi_s == pytest.approx(300.0)
    sim = simulate_run(est, runs=10_000)
    assert sim.goodput == pytest.approx(est.goodput, rel=0.01)


def test_weibull_shape_one_is_exponential() -> None:
    est = estimate_reliability(PARAMS_405B, 100_000, 2 * units.DAY_S, rates())
    exp = simulate_run(est, runs=10_000)
    wei = simulate_run(est, runs=10_000, law=FailureLaw.WEIBULL, weibull_shape=1.0, seed=7)
    assert wei.goodput == pytest.approx(exp.goodput, rel=0.01)
    bunched = simulate_run(est, runs=10_000, law=FailureLaw.WEIBULL, weibull_shape=0.7)
    assert bunched.law is FailureLaw.WEIBULL and bunched.weibull_shape == 0.7
    spread = bunched.wall_time_s.p90 - bunched.wall_time_s.p10
    assert spread > exp.wall_time_s.p90 - exp.wall_time_s.p10


def test_monte_carlo_is_reproducible_from_its_seed() -> None:
    est = estimate_reliability(PARAMS_405B, 100_000, 2 * units.DAY_S, rates())
    one, two = simulate_run(est, runs=500, seed=3), simulate_run(est, runs=500, seed=3)
    assert one == two and one.seed == 3
    assert simulate_run(est, runs=500, seed=4) != one


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: rates(rate_per_gpu_hour=-1e-5), "failures_per_gpu_s"),
        (lambda: rates(rate_per_gpu_hour=0.0), "failures_per_gpu_s"),
        (lambda: rates(relaunch_s=-1.0), "relaunch_s"),
        (lambda: rates(storage_write_bytes_per_s=0.0), "storage_write_bytes_per_s"),
        (lambda: estimate_reliability(1e9, 0, 3600.0, rates()), "gpus"),
        (lambda: estimate_reliability(1e9, 8, -1.0, rates()), "compute_time_s"),
        (lambda: estimate_reliability(math.nan, 8, 3600.0, rates()), "params"),
        (lambda: estimate_reliability(1e9, 8, 3600.0, rates(), interval_s=0.0), "interval_s"),
        (lambda: job_mtbi_s(1e-9, 2.5), "gpus"),
        (lambda: young_interval_s(-3.0, 100.0), "checkpoint_s"),
    ],
)
def test_bad_input_names_the_argument_and_the_range(make: Callable[[], object], name: str) -> None:
    with pytest.raises(ValueError, match=rf"^{name} = .*allowed: "):
        make()


@pytest.mark.parametrize(("shape", "runs"), [(0.0, 100), (-1.0, 100), (1.0, 0)])
def test_bad_simulation_input(shape: float, runs: int) -> None:
    est = estimate_reliability(1e9, 8, 3600.0, rates())
    name = "runs" if runs < 1 else "weibull_shape"
    with pytest.raises(ValueError, match=rf"^{name} = .*allowed: "):
        simulate_run(est, runs=runs, law=FailureLaw.WEIBULL, weibull_shape=shape)


def test_simulation_refuses_a_run_that_never_ends() -> None:
    est = estimate_reliability(PARAMS_405B, 1_000_000, units.DAY_S, rates())
    with pytest.raises(ValueError, match="max_events = 10"):
        simulate_run(est, runs=10, max_events=10)


def test_a_run_shorter_than_a_nanosecond_of_an_interval_still_takes_time() -> None:
    # training: {tokens: 1} gave a wall time of 0 and a ZeroDivisionError (issue 15).
    from gpuplan.reliability.analytical import expected_wall_time_s

    wall = expected_wall_time_s(1e-7, 1800.0, 10.0, 600.0, 3600.0)
    assert wall >= 1e-7 + 10.0


def test_restart_grows_with_the_job_from_megascale(catalog: Catalog) -> None:
    """Relaunch = 600 s (assumed fixed part) + 0.003 s per GPU (MegaScale, arXiv 2402.15627
    sec. 3.6: under 30 s of initialisation on more than 10,000 GPUs). At 16,384 GPUs:
    600 + 0.003 x 16,384 = 649.152 s, then the checkpoint is read back."""
    r = rates_from_catalog(catalog)
    assert r.init_s_per_gpu == 0.003
    assert math.isclose(r.relaunch_at(16384), 649.152)
    est = estimate_reliability_from_catalog(405e9, 16384, 54 * 86400.0, catalog)
    assert math.isclose(est.restart_s - est.checkpoint_write_s, 649.152)


@given(st.integers(1, 1_000_000), st.integers(1, 1_000_000))
def test_restart_never_decreases_with_gpus(a: int, b: int) -> None:
    r = rates_from_catalog()
    small, big = sorted((a, b))
    assert r.relaunch_at(big) >= r.relaunch_at(small) > 0
    # the estimate's relaunch (its restart less reading the checkpoint back, which gets
    # faster with more GPUs sharing the read) never falls either
    params, compute = 70e9, 30 * 86400.0
    relaunch = [
        (e := estimate_reliability(params, n, compute, r)).restart_s - e.checkpoint_write_s
        for n in (small, big)
    ]
    assert relaunch[1] >= relaunch[0] - 1e-9
