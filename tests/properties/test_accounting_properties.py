"""Properties of the accounting: linearity, conservation, limits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplan.accounting import CostFactors, account_tokens, capex, cluster_power, energy, run_cost
from gpuplan.accounting.cluster import ClusterAccounts, ClusterRun, account_site
from gpuplan.catalog import load_catalog
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario

gpus = st.integers(min_value=1, max_value=1_000_000)
positive = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False)
fraction = st.floats(min_value=0.01, max_value=1.0)
pue = st.floats(min_value=1.0, max_value=3.0)
FACTORS = CostFactors(1.64, 0.19, 11.7, 15, 0.14)


@given(gpus, st.floats(100, 2000), st.floats(1.0, 3.0), fraction, pue)
def test_facility_power_at_least_it_power(
    n: int, tdp: float, ratio: float, f: float, p: float
) -> None:
    power = cluster_power(n, tdp, ratio, f, p)
    assert power.facility_w >= power.it_w > 0
    assert power.peak_facility_w >= power.facility_w
    assert power.peak_it_w >= power.chip_w


@given(gpus, st.floats(1.0, 1e9), st.floats(1.5, 10.0))
def test_energy_is_linear_in_time(n: int, seconds: float, k: float) -> None:
    power = cluster_power(n, 700, 1.8, 0.75, 1.2)
    assert energy(power, seconds * k, 0.4).energy_j == pytest.approx(
        k * energy(power, seconds, 0.4).energy_j
    )


@given(gpus, st.floats(1e3, 1e5), st.floats(1.5, 10.0))
def test_cost_is_linear_in_price(n: int, price: float, k: float) -> None:
    a = capex(n, price, 0.0, FACTORS)
    b = capex(n, price * k, 0.0, FACTORS)
    assert b.hardware_capex_usd == pytest.approx(k * a.hardware_capex_usd)
    ca = run_cost(a, 1e6, 1e3, 1e3, 0.1, 2.0, FACTORS)
    cb = run_cost(b, 1e6, 1e3, 1e3, 0.1 * k, 2.0 * k, FACTORS)
    assert cb.amortized_usd == pytest.approx(k * ca.amortized_usd)
    assert cb.cloud_usd == pytest.approx(k * ca.cloud_usd)


@given(gpus, fraction)
def test_doubling_gpus_halves_time_at_fixed_mfu(n: int, mfu: float) -> None:
    one = account_tokens(1e12, 6e9, n, 1e15, mfu)
    two = account_tokens(1e12, 6e9, 2 * n, 1e15, mfu)
    assert two.compute_time_s == pytest.approx(one.compute_time_s / 2)
    assert two.gpu_hours == pytest.approx(one.gpu_hours)  # work is conserved


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(sorted(load_catalog().accelerators)),
    st.integers(1, 200_000),
    st.floats(0.05, 1.0),
)
def test_plan_is_physical_on_every_accelerator(hardware: str, n: int, mfu: float) -> None:
    result = plan(
        parse_scenario(
            {"model": "llama3-8b", "hardware": hardware, "gpus": n, "training": {"mfu": mfu}}
        )
    )
    out = result.to_dict()
    if not out["fits"]:  # no plan fits: a reason with its numbers, and no run
        assert out["infeasible_reason"] and out["run"] is None and out["step"]["mfu"] is None
        return
    assert out["step"]["mfu"] == mfu
    assert out["step"]["model_tflops_per_gpu"] * 1e12 <= result.resolved.peak_flops_per_s * (
        1 + 1e-12
    )
    assert out["power"]["facility_w"] >= out["power"]["it_w"]
    assert out["cost"]["cluster_capex_usd"] > out["cost"]["gpu_capex_usd"] > 0
    assert out["run"]["model_flops"] >= 6 * 8e9 * out["run"]["tokens"] * 0.9
    assert out["emissions"]["tco2e"] >= 0


SITE = {
    "pue": st.floats(1.0, 3.0),
    "kgco2e_per_kwh": st.floats(0.0, 1.2),
    "power_usd_per_kwh": st.floats(0.0, 2.0),
    "gpu_price_usd": st.floats(1e3, 1e5),
    "cloud_usd_per_gpu_hour": st.floats(0.1, 50.0),
    "household_kwh_per_year": st.floats(500.0, 20_000.0),
}


def _flat(accounts: ClusterAccounts[Any]) -> dict[str, Any]:
    """Every number of the accounts, fields and properties alike."""
    out = {"households": accounts.households, "cloud_usd_per_hour": accounts.cloud_usd_per_hour}
    for name in ("power", "energy", "capex", "cost"):
        part = getattr(accounts, name)
        for attr in dir(type(part)):
            if not attr.startswith("_"):
                out[f"{name}.{attr}"] = getattr(part, attr)
        out |= {f"{name}.{k}": v for k, v in vars(part).items()}
    return out


@settings(max_examples=40)
@given(
    gpus,
    st.floats(0.0, 1e9),
    st.lists(st.fixed_dictionaries(SITE), min_size=1, max_size=5),
)
def test_a_column_of_sites_is_each_site_bit_for_bit(
    n: int, seconds: float, sites: list[dict[str, float]]
) -> None:
    # A sweep accounts many sites at once with columns: each element is the float account.
    run = ClusterRun(n, 700.0, seconds, 1.8, 0.75, FACTORS)
    columns = {k: np.array([s[k] for s in sites], dtype=np.float64) for k in SITE}
    together = _flat(account_site(run, **columns))
    for i, site in enumerate(sites):
        alone = _flat(account_site(run, **site))
        assert together.keys() == alone.keys()
        for key, value in alone.items():
            got = together[key]
            element = got[i] if isinstance(got, np.ndarray) else got  # site-independent: scalar
            assert type(value) is not np.ndarray and element == value, key
