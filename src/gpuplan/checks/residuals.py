"""Held-out residuals of the validation, the ground the prediction intervals stand on.

Every published step time ``gpuplan validate`` predicts gives one residual,
``log(measured / predicted)``, from a model that did not see the row's source:

- rows of every source but :data:`FIT_SOURCE` are predicted with the catalog as it is (its
  one fitted constant, ``training_kernel_efficiency``, rests on :data:`FIT_SOURCE` alone);
- rows of :data:`FIT_SOURCE` are predicted with the constant refitted on
  :data:`REFIT_SOURCE` instead (leave-source-out for the fitted source too).

``gpuplan validate --write-residuals`` stores them in ``catalog/data/validation_residuals.yaml``
(:func:`write_residuals`), so that a plan reads them in milliseconds instead of re-running
the validation; tests/validation/test_interval_coverage.py checks the file against a fresh run.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.residuals import RESIDUALS_FILE, Residual, model_kind
from gpuplan.checks.row_plans import schedule_searched
from gpuplan.checks.validation import (
    FRAMEWORK_PROFILES,
    ValidationRow,
    fit_kernel_efficiency,
    load_measurements,
    predict_row,
    validate,
)
from gpuplan.planning.intervals import comparable_rows

FIT_SOURCE = "korthikanti2022"
"""The source ``training_kernel_efficiency`` is fitted on (systems.yaml)."""
REFIT_SOURCE = "narayanan2021"
"""The source the constant is refitted on to hold :data:`FIT_SOURCE` out."""


def _refitted(catalog: Catalog) -> Catalog:
    value, _ = fit_kernel_efficiency(catalog, REFIT_SOURCE)
    parameter = catalog.system("training_kernel_efficiency")
    systems = dict(catalog.systems)
    systems[parameter.id] = parameter.model_copy(update={"value": value, "by_accelerator": {}})
    return replace(catalog, systems=systems)


def _kind(catalog: Catalog, shape: object) -> str:
    """A measured model's kind: a catalog model's, and dense for an inline shape (which has
    no experts)."""
    return model_kind(catalog.model(shape)) if isinstance(shape, str) else "dense"


def _residual(catalog: Catalog, row: ValidationRow, held_out_by: str) -> Residual | None:
    measurement = load_measurements()[row.id]
    if row.predicted_step_s is None or measurement.hardware is None:
        return None  # predicted infeasible: no step time to compare
    assert measurement.gpus is not None
    return Residual(
        id=row.id,
        source_group=row.source_group,
        accelerator=measurement.hardware,
        framework=FRAMEWORK_PROFILES[measurement.framework],
        gpus=measurement.gpus,
        precision=measurement.precision or "bf16",
        model_kind=_kind(catalog, measurement.model),
        measured_step_s=round(row.measured_step_s, 6),
        predicted_step_s=round(row.predicted_step_s, 6),
        log_ratio=round(math.log(row.measured_step_s / row.predicted_step_s), 6),
        measured_mfu=None
        if row.predicted_mfu is None
        else round(row.predicted_mfu * row.predicted_step_s / row.measured_step_s, 6),
        held_out_by=held_out_by,
        source=row.source,
        retrieved=measurement.retrieved,
    )


def residual_rows(catalog: Catalog) -> list[Residual]:
    """Every predicted validation row's held-out residual (rows predicted infeasible are
    left out: they have no step time; ``gpuplan validate`` counts them as misses). Rows
    whose schedule is not published are left out too: their prediction is the stack's
    searched best plan, a lower bound on the published run's step time rather than a
    prediction of it (as the searched runs of ``checks.chip_runs``, which give no residual
    either); ``gpuplan validate`` still counts them in its held-out targets."""
    refit = _refitted(catalog)
    out = []
    for row in validate(catalog):
        if schedule_searched(load_measurements()[row.id]):
            continue  # the stack's best plan, a bound rather than the published plan's time
        if row.source_group == FIT_SOURCE:
            refit_row = predict_row(load_measurements()[row.id], refit)
            assert refit_row is not None
            residual = _residual(refit, refit_row, f"kernel efficiency refitted on {REFIT_SOURCE}")
        else:
            residual = _residual(catalog, row, f"kernel efficiency fitted on {FIT_SOURCE} only")
        if residual is not None:
            out.append(residual)
    return out


HEADER = """\
# Written by `gpuplan validate --write-residuals` (gpuplan.checks.residuals); do not edit.
# One row per published step time the validation predicts: log(measured / predicted), the
# prediction held out from the row's source (held_out_by). The prediction intervals of
# every plan (gpuplan.planning.intervals) are built from these rows; a test re-runs the
# validation and checks this file is up to date. source: the row's publication.
"""


def residuals_path() -> Path:
    return Path(str(resources.files("gpuplan.catalog").joinpath("data", RESIDUALS_FILE)))


def write_residuals(catalog: Catalog, path: Path | None = None) -> tuple[Path, int]:
    """Recompute the residuals and write them; returns the file and the row count."""
    rows = residual_rows(catalog)
    target = path or residuals_path()
    dumped = [r.model_dump(mode="json", exclude={"notes"}) for r in rows]
    body = {"residuals": [{"id": d.pop("id"), **d} for d in dumped]}
    import yaml  # imported here: reading the residuals is on every plan's path, not writing

    text = HEADER + yaml.safe_dump(body, sort_keys=False, width=100, allow_unicode=True)
    target.write_text(text, "utf-8")
    return target, len(rows)


COVERAGE_TARGET = 0.80
"""Share of held-out published step times the P10-P90 interval must cover (issue 16)."""


@dataclass(frozen=True)
class CoveredRow:
    """One row's interval, built without its own source's rows."""

    id: str
    source_group: str
    log_ratio: float
    low: float
    """P10 / predicted (the interval's low end as a factor on the prediction)."""
    high: float
    """P90 / predicted."""

    @property
    def covered(self) -> bool:
        return self.low <= math.exp(self.log_ratio) <= self.high

    @property
    def width(self) -> float:
        """(P90 - P10) / prediction."""
        return self.high - self.low


@dataclass(frozen=True)
class Coverage:
    rows: tuple[CoveredRow, ...]

    @property
    def fraction(self) -> float:
        return sum(r.covered for r in self.rows) / len(self.rows)

    @property
    def median_width(self) -> float:
        return statistics.median(r.width for r in self.rows)

    @property
    def passed(self) -> bool:
        return self.fraction >= COVERAGE_TARGET

    def by_source(self) -> dict[str, tuple[int, int]]:
        """Source group -> (rows covered, rows)."""
        out: dict[str, tuple[int, int]] = {}
        for r in self.rows:
            covered, total = out.get(r.source_group, (0, 0))
            out[r.source_group] = (covered + r.covered, total + 1)
        return out


def interval_coverage(residuals: Sequence[Residual]) -> Coverage:
    """Each row's P10-P90 step-time interval, built as a plan's is
    (:func:`gpuplan.planning.intervals.comparable_rows`) from the other sources' rows only
    (leave-source-out), and whether it covers the published step time."""
    out = []
    for row in residuals:
        others = [r for r in residuals if r.source_group != row.source_group]
        basis = comparable_rows(row.accelerator, row.framework, row.gpus, others)
        q = basis.log_quantiles()
        out.append(
            CoveredRow(
                row.id, row.source_group, row.log_ratio, math.exp(q["p10"]), math.exp(q["p90"])
            )
        )
    return Coverage(tuple(out))
