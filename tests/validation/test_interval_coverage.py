"""The prediction intervals against the validation they come from (issue 16, item 2).

- the stored residuals (``validation_residuals.yaml``, read by every plan) are what the
  validation computes today;
- each row's P10-P90 step-time interval, built from the other sources' rows only, covers
  the published step time on at least 80% of the held-out rows.
"""

from __future__ import annotations

import math

from gpuplan.catalog import Catalog
from gpuplan.catalog.residuals import load_residuals
from gpuplan.checks.residuals import FIT_SOURCE, interval_coverage, residual_rows


def test_stored_residuals_match_a_fresh_validation(catalog: Catalog) -> None:
    fresh = {r.id: r for r in residual_rows(catalog)}
    stored = {r.id: r for r in load_residuals()}
    assert set(fresh) == set(stored), "run `gpuplan validate --write-residuals`"
    stale = [i for i in fresh if not math.isclose(fresh[i].log_ratio, stored[i].log_ratio,
                                                  abs_tol=2e-6)]  # fmt: skip
    assert not stale, f"stale residuals {stale[:5]}: run `gpuplan validate --write-residuals`"


def test_every_residual_is_held_out_from_its_source() -> None:
    rows = load_residuals()
    assert len({r.source_group for r in rows}) >= 4
    for row in rows:
        # the fitted source's rows are predicted with the constant refitted elsewhere
        assert (FIT_SOURCE in row.held_out_by) != (row.source_group == FIT_SOURCE), row.id


def test_p10_p90_covers_at_least_80_percent_of_held_out_rows() -> None:
    coverage = interval_coverage(load_residuals())
    # 74 of 79 on 2026-12-06 (94%); median width (P90 - P10) / predicted 34%
    assert coverage.fraction >= 0.80, coverage.by_source()
    assert 0.0 < coverage.median_width < 1.0
    for source, (covered, rows) in coverage.by_source().items():
        assert covered / rows >= 0.5, (source, covered, rows)
