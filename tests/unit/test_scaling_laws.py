"""Scaling laws: published optima, the closed form against a numerical minimum."""

from __future__ import annotations

import itertools
import math

import pytest
from scipy.optimize import minimize_scalar

from gpuplan.catalog import Catalog
from gpuplan.fitting.scaling_laws import compute_optimal, loss

CHINCHILLA_FLOPS = 5.88e23  # Hoffmann et al. 2022: Chinchilla's (and Gopher's) budget


def test_besiroglu_optimum_is_about_20_tokens_per_parameter(catalog: Catalog) -> None:
    # Besiroglu et al. 2024: their fit gives ~20 tokens/param at Chinchilla's budget,
    # consistent with Chinchilla itself (70B params, 1.4T tokens = 20 tokens/param).
    best = compute_optimal(catalog.scaling_law("besiroglu-2024"), CHINCHILLA_FLOPS)
    assert best.tokens_per_param == pytest.approx(18.4, rel=0.05)  # reference: DERIVED 18.4
    assert best.params == pytest.approx(70e9, rel=0.25)


def test_hoffmann_approach_3_overshoots_20_tokens_per_parameter(catalog: Catalog) -> None:
    # The rounded approach-3 constants put the optimum near 93 tokens/param at 5.88e23
    # (shared/reference/scaling_laws.csv, DERIVED) - the misfit Besiroglu et al. report.
    best = compute_optimal(catalog.scaling_law("hoffmann-2022"), CHINCHILLA_FLOPS)
    assert best.tokens_per_param == pytest.approx(93, rel=0.1)


@pytest.mark.parametrize("law_id", ["besiroglu-2024", "hoffmann-2022", "kaplan-2020"])
@pytest.mark.parametrize("budget", [1e21, 1e24, 1e27])
def test_optimum_beats_its_neighbours(catalog: Catalog, law_id: str, budget: float) -> None:
    law = catalog.scaling_law(law_id)
    best = compute_optimal(law, budget)
    assert best.params * best.tokens * 6 == pytest.approx(budget)
    for factor in (0.5, 2.0):
        n = best.params * factor
        assert loss(law, n, budget / 6 / n) >= best.loss - 1e-12


def test_closed_form_matches_numerical_minimum(catalog: Catalog) -> None:
    law = catalog.scaling_law("besiroglu-2024")
    budget = 1e25
    found = minimize_scalar(
        lambda log_n: loss(law, math.exp(log_n), budget / 6 / math.exp(log_n)),
        bounds=(10, 40),
        method="bounded",
        options={"xatol": 1e-9},
    )
    assert compute_optimal(law, budget).params == pytest.approx(math.exp(found.x), rel=1e-3)


def test_loss_falls_with_compute_but_never_below_the_floor(catalog: Catalog) -> None:
    law = catalog.scaling_law()
    losses = [compute_optimal(law, 10.0**k).loss for k in range(20, 31)]
    assert all(a > b for a, b in itertools.pairwise(losses))
    assert losses[-1] > law.e


def test_bad_inputs_are_refused(catalog: Catalog) -> None:
    law = catalog.scaling_law()
    with pytest.raises(ValueError, match="positive"):
        loss(law, 0, 1e9)
    with pytest.raises(ValueError, match="positive"):
        compute_optimal(law, -1)
