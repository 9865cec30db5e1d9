"""Fitting a Chinchilla-form law: synthetic runs from known constants are recovered."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import check_grad

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import ScalingLaw, ScalingLawForm
from gpuplan.errors import ScenarioError
from gpuplan.fitting.huber_fit import huber as _huber
from gpuplan.fitting.huber_fit import objective as _objective
from gpuplan.fitting.huber_fit import one_blas_thread
from gpuplan.fitting.scaling_fit import (
    InitGrid,
    LossObservations,
    compute_for_loss,
    fit_scaling_law,
    loss_per_decade,
    read_loss_csv,
)
from gpuplan.fitting.scaling_laws import compute_optimal, loss

# Besiroglu et al. 2024 (arXiv 2404.10102), Table 1: the replication's constants.
TRUE = {"e": 1.8172, "a": 482.01, "b": 2085.43, "alpha": 0.3478, "beta": 0.3658}
# A few starts near the answer's order of magnitude: keeps the test fast.
SMALL_GRID = InitGrid(
    alpha=(0.5,), beta=(0.5,), log_e=(0.0, 0.5), log_a=(5.0, 10.0), log_b=(5.0, 10.0)
)


def synthetic_runs(noise: float, seed: int = 1) -> LossObservations:
    """Chinchilla-like grid: 9 sizes from 40M to 16B parameters, 7 token counts 5e9-5e11."""
    params, tokens = (
        x.ravel() for x in np.meshgrid(np.geomspace(4e7, 1.6e10, 9), np.geomspace(5e9, 5e11, 7))
    )
    clean = TRUE["e"] + TRUE["a"] / params ** TRUE["alpha"] + TRUE["b"] / tokens ** TRUE["beta"]
    noisy = clean * np.exp(np.random.default_rng(seed).normal(0.0, noise, clean.size))
    return LossObservations(*(tuple(float(v) for v in x) for x in (params, tokens, noisy)))


def law(**constants: float) -> ScalingLaw:
    return ScalingLaw(
        id="test",
        name="test law",
        form=ScalingLawForm.CHINCHILLA,
        params_counted="all",
        data_domain="synthetic",
        source="hand-made for a test",
        retrieved=dt.date(2026, 1, 1),
        **constants,
    )


def test_noiseless_runs_give_back_the_constants() -> None:
    fit = fit_scaling_law(synthetic_runs(noise=0.0), bootstrap=0, grid=SMALL_GRID)
    for name, value in TRUE.items():
        assert getattr(fit, name) == pytest.approx(value, rel=1e-3), name


def test_true_constants_lie_inside_the_bootstrap_intervals() -> None:
    fit = fit_scaling_law(
        synthetic_runs(noise=0.005), bootstrap=60, seed=0, level=0.9, grid=SMALL_GRID
    )
    for name, value in TRUE.items():
        interval = getattr(fit, f"{name}_interval")
        assert value in interval, (name, value, interval)
        assert interval.low <= getattr(fit, name) <= interval.high
    # Compute-optimal exponents a = beta / (alpha + beta), b = 1 - a (Hoffmann eq. 4).
    a_true = TRUE["beta"] / (TRUE["alpha"] + TRUE["beta"])
    assert a_true in fit.params_exponent_interval
    assert 1 - a_true in fit.tokens_exponent_interval
    assert fit.params_exponent + fit.tokens_exponent == pytest.approx(1.0)
    assert (fit.bootstrap, fit.seed, fit.runs) == (60, 0, 63)


def test_same_seed_same_intervals() -> None:
    runs = synthetic_runs(noise=0.005)
    first = fit_scaling_law(runs, bootstrap=5, seed=7, grid=SMALL_GRID)
    second = fit_scaling_law(runs, bootstrap=5, seed=7, grid=SMALL_GRID)
    assert first.alpha_interval == second.alpha_interval


def test_default_grid_is_hoffmann_appendix_d2() -> None:
    # alpha, beta in {0, .5, ..., 2}; e in {-1, -.5, ..., 1}; a, b in {0, 5, ..., 25}.
    assert InitGrid().points().shape == (5 * 5 * 5 * 6 * 6, 5)


def test_huber_by_hand() -> None:
    value, slope = _huber(np.array([0.5e-3, -3e-3]), 1e-3)
    assert value == pytest.approx([0.5 * 0.5e-3**2, 1e-3 * (3e-3 - 0.5e-3)])
    assert slope == pytest.approx([0.5e-3, -1e-3])


def test_objective_gradient_matches_finite_differences() -> None:
    runs = synthetic_runs(noise=0.01)
    log_n, log_d, log_l = runs.logs()
    theta = np.array([6.0, 7.5, 0.6, 0.33, 0.37])

    def value(t: np.ndarray) -> float:
        return _objective(t, log_n, log_d, log_l, 1.0)[0]

    def gradient(t: np.ndarray) -> np.ndarray:
        return _objective(t, log_n, log_d, log_l, 1.0)[1]

    assert check_grad(value, gradient, theta) < 1e-5 * np.linalg.norm(gradient(theta)) + 1e-9


def test_fit_becomes_a_catalog_law() -> None:
    fit = fit_scaling_law(synthetic_runs(noise=0.0), bootstrap=0, grid=SMALL_GRID)
    fitted = fit.law(retrieved=dt.date(2026, 1, 1))
    assert loss(fitted, 1e9, 2e10) == pytest.approx(
        TRUE["e"] + TRUE["a"] / 1e9 ** TRUE["alpha"] + TRUE["b"] / 2e10 ** TRUE["beta"], rel=1e-4
    )
    assert set(fit.to_dict()["intervals"]) == {
        "e", "a", "b", "alpha", "beta", "params_exponent", "tokens_exponent"
    }  # fmt: skip


# --------------------------------------------------------------------------- CSV


def test_csv_round_trip(tmp_path: Path) -> None:
    runs = synthetic_runs(noise=0.0)
    lines = ["name, n ,D,Loss"] + [
        f"run{i},{n!r},{d!r},{ell!r}"
        for i, (n, d, ell) in enumerate(zip(runs.params, runs.tokens, runs.losses, strict=True))
    ]
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(lines) + "\n\n")
    assert read_loss_csv(path) == runs


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("N,D\n1e9,2e10\n", "missing column(s) loss"),
        ("N,D,loss\n1e9,2e10,2.5\n1e9,abc,2.4\n", "line 3, column D: 'abc' is not a number"),
        ("N,D,loss\n1e9,2e10,\n", "line 2, column loss: is empty"),
        ("N,D,loss\n-1e9,2e10,2.5\n", "line 2, column N: -1e9 must be a positive"),
        ("N,D,loss\n1e9,2e10,2.5\n", "1 runs; fitting five constants needs 6+"),
        ("", "the file is empty"),
    ],
)
def test_csv_errors_name_the_line_and_column(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "runs.csv"
    path.write_text(body)
    with pytest.raises(ScenarioError) as caught:
        read_loss_csv(path)
    assert message in str(caught.value)


def test_one_model_size_cannot_fix_alpha() -> None:
    with pytest.raises(ScenarioError, match="at least two values"):
        LossObservations((1e9,) * 6, (1e10, 2e10, 4e10, 8e10, 1.6e11, 3.2e11), (2.0,) * 6)


# --------------------------------------------------------------------------- what compute buys

# A law chosen so the frontier is easy by hand: alpha = beta = 1/2, A = B = 1 give
# G = 1, N_opt = D_opt = (C / 6)^(1/2) and L*(C) = 1 + 2 (C / 6)^(-1/4).
HAND = {"e": 1.0, "a": 1.0, "b": 1.0, "alpha": 0.5, "beta": 0.5}


def test_compute_for_loss_by_hand() -> None:
    # 1 + 2 (C/6)^(-1/4) = 1 + 2e-5  =>  (C/6)^(1/4) = 1e5  =>  C = 6e20.
    assert compute_for_loss(law(**HAND), 1.0 + 2e-5) == pytest.approx(6e20, rel=1e-9)


def test_loss_per_decade_by_hand() -> None:
    # L*(6e20) - L*(6e21) = 2e-5 (1 - 10^(-1/4)).
    assert loss_per_decade(law(**HAND), 6e20) == pytest.approx(2e-5 * (1 - 10**-0.25))


@pytest.mark.parametrize("law_id", ["besiroglu-2024", "hoffmann-2022", "kaplan-2020"])
@pytest.mark.parametrize("budget", [1e21, 3.8e25, 2e29])
def test_compute_for_loss_inverts_the_frontier(
    catalog: Catalog, law_id: str, budget: float
) -> None:
    chosen = catalog.scaling_law(law_id)
    target = compute_optimal(chosen, budget).loss
    assert compute_for_loss(chosen, target) == pytest.approx(budget, rel=1e-6)


def test_no_compute_reaches_the_irreducible_loss(catalog: Catalog) -> None:
    besiroglu = catalog.scaling_law("besiroglu-2024")
    for target in (besiroglu.e, besiroglu.e - 0.1):
        with pytest.raises(ScenarioError, match=r"irreducible loss E = 1\.817"):
            compute_for_loss(besiroglu, target)


@given(
    alpha=st.floats(0.1, 0.8),
    beta=st.floats(0.1, 0.8),
    log10_compute=st.floats(18, 27),
)
def test_each_decade_buys_the_same_share_of_the_reducible_loss(
    alpha: float, beta: float, log10_compute: float
) -> None:
    chosen = law(e=1.7, a=400.0, b=400.0, alpha=alpha, beta=beta)
    compute = 10.0**log10_compute
    gamma = alpha * beta / (alpha + beta)
    reducible = compute_optimal(chosen, compute).loss - chosen.e
    bought = loss_per_decade(chosen, compute)
    assert bought > 0
    assert bought == pytest.approx(reducible * (1 - 10**-gamma), rel=1e-6, abs=1e-13)
    assert loss_per_decade(chosen, 10 * compute) < bought
    assert math.isclose(compute_for_loss(chosen, chosen.e + reducible), compute, rel_tol=1e-6)


def test_bootstrap_reports_progress_and_blas_threads_come_back() -> None:
    seen: list[tuple[int, int]] = []
    fit_scaling_law(synthetic_runs(noise=0.005), bootstrap=4, seed=1, grid=SMALL_GRID,
                    progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    from gpuplan.fitting import huber_fit

    lib = huber_fit._scipy_openblas()
    if lib is not None:  # scipy's bundled OpenBLAS: one thread inside, the pool after
        before = lib.scipy_openblas_get_num_threads()
        with one_blas_thread():
            assert lib.scipy_openblas_get_num_threads() == 1
        assert lib.scipy_openblas_get_num_threads() == before
