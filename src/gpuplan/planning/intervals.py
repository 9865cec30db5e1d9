"""Prediction intervals from the validation's held-out residuals (issue 16, item 2).

A plan's step time is the model's; how far the model has been off on published runs like
this one is the validation's. Each validation row gives a residual ``r = log(measured /
predicted)`` from a model that did not see its source (:mod:`gpuplan.checks.residuals`).
Residuals cluster by source (one lab's framework, cluster and way of measuring shift all its
rows alike), so a new run is treated as a new source, a one-way random-effects model
(the prediction interval of Higgins, Thompson & Spiegelhalter 2009, 'A re-evaluation of
random-effects meta-analysis', J. R. Stat. Soc. A 172(1) 137-159): ``r = mu + b_source +
e``. ``mu`` and the between-source variance ``tau^2`` come from the ``k`` source means, the
within-source variance ``sigma^2`` from the comparable rows' deviations from their source's
mean, and

    P10, P90 = step x exp(mu -/+ t sqrt(tau^2 (1 + 1/k) + sigma^2)),   P50 = step x exp(mu)

with ``t`` the 90th percentile of Student's t with ``k - 1`` degrees of freedom (Higgins et
al. use ``k - 2``, which would leave one degree of freedom for three sources; the rows inside
each source inform ``sigma^2``). Comparable rows are, first tier with at least
:data:`MIN_ROWS` rows:

1. same hardware generation (``generations.yaml``) and framework profile, GPU count within
   :data:`SCALE_FACTOR` x of the plan's;
2. same generation and framework, any scale;
3. same generation;
4. every row (then the plan is outside what was validated and ``warnings`` say so).

tests/validation/test_interval_coverage.py builds each row's interval without its source and checks
that the P10-P90 range covers at least 80% of the published step times.

Run length, GPU-hours and cloud cost scale with the step time when the scenario gives the
tokens (the wall-clock time with failures is, to first order, compute time over goodput);
a run given in days keeps its days, GPU-hours and cost, and the interval moves its tokens
instead. Input uncertainty (prices, failure rates) is the Monte Carlo's
(:mod:`gpuplan.studies.uncertainty`), which combines both.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gpuplan.accounting.columns import Quantity
from gpuplan.catalog.residuals import (
    Residual,
    generation_of,
    load_generations,
    load_residuals,
    model_kind,
)
from gpuplan.scenario.resolve import ResolvedScenario

MIN_ROWS = 8
"""Fewest residuals an interval's 10th and 90th percentiles are taken from."""
SCALE_FACTOR = 8.0
"""Rows within this factor of the plan's GPU count are of the same scale."""


@dataclass(frozen=True)
class Basis:
    """The residual rows an interval rests on, how they were chosen, and what they miss."""

    rows: tuple[Residual, ...]
    """The comparable rows: the within-source scatter."""
    source_means: Mapping[str, float]
    """Mean residual of every source group: the between-source spread."""
    selection: str
    warnings: tuple[str, ...]

    def log_quantiles(self) -> dict[str, float]:
        """P10, P50, P90 of the log residual of a new run (random effects, Student t)."""
        means = list(self.source_means.values())
        k = len(means)
        mu = statistics.fmean(means)
        tau2 = statistics.variance(means) if k > 1 else 0.0
        by_source = _group(self.rows)
        deviations = [x - statistics.fmean(v) for v in by_source.values() for x in v]
        dof = max(1, len(deviations) - len(by_source))
        sigma2 = sum(d * d for d in deviations) / dof
        spread = student_t_quantile(0.9, max(1, k - 1)) * math.sqrt(tau2 * (1 + 1 / k) + sigma2)
        return {"p10": mu - spread, "p50": mu, "p90": mu + spread}


def _t_central_probability(t: float, dof: int) -> float:
    """P(|T| <= t) for Student's t with ``dof`` degrees of freedom, in closed form
    (Abramowitz & Stegun 1964, 26.7.3 and 26.7.4)."""
    theta = math.atan(t / math.sqrt(dof))
    c2 = math.cos(theta) ** 2
    if dof % 2 == 1:
        term, total = math.cos(theta), 0.0
        for j in range(1, (dof - 1) // 2 + 1):  # cos, (2/3) cos^3, (2 4)/(3 5) cos^5, ...
            total += term
            term *= c2 * (2 * j) / (2 * j + 1)
        return 2 / math.pi * (theta + math.sin(theta) * total)
    term, total = 1.0, 0.0
    for j in range(1, dof // 2 + 1):  # 1, (1/2) cos^2, (1 3)/(2 4) cos^4, ...
        total += term
        term *= c2 * (2 * j - 1) / (2 * j)
    return math.sin(theta) * total


@functools.lru_cache(maxsize=256)  # pure; every plan asks for one of a few (p, dof)
def student_t_quantile(p: float, dof: int) -> float:
    """The ``p`` quantile (p > 0.5) of Student's t, by bisection on the closed-form CDF
    (scipy's import would cost every plan half a second)."""
    low, high = 0.0, 1e6
    for _ in range(200):
        mid = (low + high) / 2
        if (1 + _t_central_probability(mid, dof)) / 2 < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _group(rows: Sequence[Residual]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for row in rows:
        out.setdefault(row.source_group, []).append(row.log_ratio)
    return out


def _tiers(
    rows: Sequence[Residual], generation: str, framework: str, gpus: int
) -> list[tuple[str, list[Residual]]]:
    same_gen = [r for r in rows if generation_of(r.accelerator) == generation]
    same_fw = [r for r in same_gen if r.framework == framework]
    low = max(1.0, gpus / SCALE_FACTOR)
    near = [r for r in same_fw if abs(math.log(r.gpus / gpus)) <= math.log(SCALE_FACTOR)]
    return [
        (f"{generation}, {framework}, {low:,.0f}-{gpus * SCALE_FACTOR:,.0f} GPUs", near),
        (f"{generation}, {framework}", same_fw),
        (f"{generation}, any framework", same_gen),
        ("every validated row", list(rows)),
    ]


def comparable_rows(
    accelerator_id: str,
    framework_id: str,
    gpus: int,
    rows: Sequence[Residual] | None = None,
) -> Basis:
    """The residuals comparable with a plan (first tier with :data:`MIN_ROWS` rows)."""
    rows = load_residuals() if rows is None else rows
    generation = generation_of(accelerator_id)
    selection, chosen = next(
        (s, c) for s, c in _tiers(rows, generation, framework_id, gpus) if len(c) >= MIN_ROWS
    )
    warnings = []
    if not any(generation_of(r.accelerator) == generation for r in rows):
        name = (
            load_generations()[generation].name if generation in load_generations() else generation
        )
        warnings.append(
            f"outside validated hardware: no published step time on {name} ({accelerator_id}) "
            f"was predicted; the interval borrows {len(chosen)} rows of other hardware"
        )
    if not any(r.framework == framework_id for r in rows):
        warnings.append(
            f"framework {framework_id} was never validated; other frameworks' rows used"
        )
    largest = max(r.gpus for r in rows)
    if gpus > largest:
        warnings.append(
            f"beyond the interval's scale: {gpus:,} GPUs is {gpus / largest:,.1f}x the largest "
            f"run its residuals hold ({largest:,} GPUs); larger published runs (partly stated "
            "plans) are compared apart by `gpuplan validate`, not in this interval"
        )
    means = {source: statistics.fmean(v) for source, v in _group(rows).items()}
    return Basis(tuple(chosen), means, f"{selection} ({len(chosen)} rows)", tuple(warnings))


def interval_block(point: Quantity, factors: Mapping[str, float]) -> dict[str, Quantity]:
    """An interval of ``point`` (a float, or a sweep's column of them): each quantile is
    ``point`` times its factor; ``width`` is (P90 - P10) / P50."""
    out = {k: point * f for k, f in factors.items()}
    return {**out, "point": point, "width": (out["p90"] - out["p10"]) / out["p50"]}


def interval_dict(
    r: ResolvedScenario,
    step_time_s: float | None,
    run: Mapping[str, Any] | None,
    cost: Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    """The ``intervals`` block of a plan's JSON; None when there is no step time to bound
    or the step time is a what-if MFU's (not the model's)."""
    if step_time_s is None or r.mfu_is_what_if:
        return None
    basis, log_quantiles = _stored_basis(r.accelerator.id, r.framework.id, r.gpus)
    factors = interval_factors(log_quantiles)
    out: dict[str, Any] = {"step_time_s": interval_block(step_time_s, factors)}
    if run is not None and cost is not None:
        if r.duration_s is None:
            out["days"] = interval_block(run["days"], factors)
            out["gpu_hours"] = interval_block(run["gpu_hours"], factors)
            out["cost_usd"] = interval_block(cost["cloud_usd"], factors)
        else:  # the days are given: a slower step trains fewer tokens in them
            inverse = {
                "p10": 1 / factors["p90"],
                "p50": 1 / factors["p50"],
                "p90": 1 / factors["p10"],
            }
            out["tokens"] = interval_block(run["tokens"], inverse)
    out["basis"] = {
        "selection": basis.selection,
        "rows": [row.id for row in basis.rows],
        "source_means": dict(basis.source_means),
        "log_ratio": dict(log_quantiles),
        "cost_is": "cost.cloud_usd (GPU-hours x cloud price)",
        "combines": "validation residuals only; give ranges to add input uncertainty",
    }
    warnings = [*basis.warnings, *_model_warnings(r)]
    out["validated"] = not warnings
    out["warnings"] = warnings
    return out


def interval_factors(log_quantiles: Mapping[str, float]) -> dict[str, float]:
    """P10, P50, P90 as factors on the point value (each block is point x factor)."""
    return {k: math.exp(q) for k, q in log_quantiles.items()}


def stored_factors(accelerator_id: str, framework_id: str, gpus: int) -> dict[str, float]:
    """:func:`interval_factors` of the stored residuals for a plan (what its blocks use)."""
    return interval_factors(_stored_basis(accelerator_id, framework_id, gpus)[1])


@functools.lru_cache(maxsize=1024)  # the stored residuals are loaded once per process
def _stored_basis(
    accelerator_id: str, framework_id: str, gpus: int
) -> tuple[Basis, Mapping[str, float]]:
    """:func:`comparable_rows` of the stored residuals and its log quantiles, kept: sweeps
    and searches ask for the same few (hardware, framework, GPU count) again and again."""
    basis = comparable_rows(accelerator_id, framework_id, gpus)
    return basis, basis.log_quantiles()


def _model_warnings(r: ResolvedScenario) -> list[str]:
    """A kind of model (dense, mixture of experts, video) no validation row is."""
    return list(_kind_warnings(model_kind(r.model)))


@functools.lru_cache(maxsize=16)
def _kind_warnings(kind: str) -> tuple[str, ...]:
    if any(row.model_kind == kind for row in load_residuals()):
        return ()
    kinds = sorted({row.model_kind for row in load_residuals()})
    return (f"{kind} model: every validated step time is of a {' or '.join(kinds)} model",)
