"""Block recompute in the search: a full recompute that recomputes the fewest layers of
each pipeline chunk that fit in memory.

A stack with Megatron's ``recompute_method: block`` (frameworks.yaml ``block_recompute``)
recomputes only the first ``n`` layers of each chunk; the rest keep their activations
(:mod:`gpuplan.model.partial_recompute`). Memory falls and time rises with ``n``: of a plan
that fits with every layer recomputing, the variant with the smallest ``n`` that still fits
is the fastest, and it replaces the plan (the same layout and schedule, less recompute).

Only plans that could then rank among the search's best are tried: recomputing fewer layers
saves at most the plan's recompute time, so a plan whose rank scaled by ``(step - recompute)
/ step`` is not below the ``top``-th best rank cannot enter the top (failures and
checkpoints, the rest of a time-to-train rank, do not depend on the recompute). ``n`` is
found by bisection, all plans at once: a plan's activation memory does not grow as ``n``
grows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from gpuplan.model.batch import RECOMPUTE_ORDER, BatchResult, PlanBatch
from gpuplan.model.partial_recompute import largest_chunk
from gpuplan.scenario.plan import Recompute
from gpuplan.search.evaluated import Evaluated, Pricing

Memory = dict[str, np.ndarray]
Rank = Callable[[PlanBatch, BatchResult], np.ndarray]


def with_block_recompute(
    pricing: Pricing, evaluated: Evaluated, rank: Rank | None, top: int
) -> Evaluated:
    """``evaluated`` with each plan that recomputes every layer and could then rank among
    the ``top`` best (by ``rank``, or step time) recomputing the fewest layers per chunk
    that fit instead."""
    fitting, result = evaluated.fitting, evaluated.result
    if result is None:
        return evaluated
    times = result.time_s
    score = times if rank is None else rank(fitting, result)
    full = (fitting.recompute == RECOMPUTE_ORDER.index(Recompute.FULL)) & (
        fitting.recompute_layers < 0
    )
    with np.errstate(invalid="ignore"):  # inf x 1 (no progress) stays inf
        bound = score * (times - result.recompute_s) / times
    kth = min(max(top, 1), score.size) - 1
    tried = np.flatnonzero(full & (bound < np.partition(score, kth)[kth]))
    kept = evaluated if rank is None else replace(evaluated, score=score)  # ranked as is
    if not tried.size:
        return kept
    plans = fitting.take(tried)
    every = np.asarray(largest_chunk(pricing.model, plans.pp, plans.interleave))
    layers = _fewest_layers(pricing, plans, every)
    fewer = np.flatnonzero(layers < every)
    if not fewer.size:
        return kept
    changed = replace(plans.take(fewer), recompute_layers=layers[fewer])
    rows = tried[fewer]
    column = fitting.recompute_layers.copy()
    column[rows] = layers[fewer]
    better = pricing.evaluate(changed, pricing.memory(changed))
    return replace(evaluated, fitting=replace(fitting, recompute_layers=column),
                   result=_splice(result, rows, better))  # fmt: skip


def _fewest_layers(pricing: Pricing, plans: PlanBatch, every: np.ndarray) -> np.ndarray:
    """Per plan (each fits recomputing ``every`` layer of its largest chunk), the fewest
    layers per chunk (at least one) that recompute and fit."""
    low, high = np.ones(len(plans), dtype=np.int64), every.copy()
    while (active := np.flatnonzero(low < high)).size:
        middle = (low[active] + high[active]) // 2
        trial = replace(plans.take(active), recompute_layers=middle)
        ok = pricing.fits(pricing.memory(trial))
        high[active] = np.where(ok, middle, high[active])
        low[active] = np.where(ok, low[active], middle + 1)
    return high


def _splice(result: BatchResult, rows: np.ndarray, other: BatchResult) -> BatchResult:
    """``result`` with plans ``rows`` replaced by the plans of ``other``, in order."""
    values: dict[str, object] = {}
    for name, value in result.__dict__.items():
        new = other.__dict__[name]
        if isinstance(value, dict):
            values[name] = {k: _put(v, rows, new[k]) for k, v in value.items()}
        elif isinstance(value, np.ndarray):
            values[name] = _put(value, rows, new)
        else:  # per step, not per plan: the same for every plan of the batch
            values[name] = value
    return BatchResult(**values)  # type: ignore[arg-type]  # the fields of result, as given


def _put(values: np.ndarray, rows: np.ndarray, new: np.ndarray) -> np.ndarray:
    out = values.copy()
    out[rows] = new
    return out
