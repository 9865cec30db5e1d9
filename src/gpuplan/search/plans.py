"""Search: the fastest parallel plan within memory, for one GPU count or a range.

Each field takes the value the user fixed, even outside the free search's set (the rules
judge it), or else its free set: TP divides the heads and pairs with the KV heads; CP a
power of two up to 64 that divides the sequence; PP a power of two, three times one, or a
divisor of the layers (uneven stages are allowed); DP divides the global batch; EP divides
the experts; the micro-batch in MICROBATCHES, interleaving in INTERLEAVES; every recompute
mode, ZeRO stage and sequence-parallel setting. Plans are enumerated in two stages, as
numpy arrays, and pruned by the rule table of :mod:`gpuplan.model.rules` in its order:

1. layouts (TP, CP, PP, DP, EP) by its layout rules, then by a search-only reason: the
   layout uses fewer than ``min_used`` of the GPUs (:data:`UNDER_USED`);
2. schedules (micro-batch, interleaving, recompute, sequence parallelism, ZeRO stage) of
   the surviving layouts, by its schedule rules.

The surviving plans are priced by memory first (:func:`gpuplan.model.batch.evaluate_memory`),
plans that do not fit are pruned (:data:`NO_FIT`), and the rest are evaluated together by
:func:`gpuplan.model.batch.evaluate` (the same arithmetic as a single
:func:`gpuplan.model.performance.estimate`; :mod:`gpuplan.search.evaluated`) and ranked by
step time. Every enumerated plan is either evaluated-and-feasible or pruned for exactly
one reason (the first it breaks): the ``pruned`` keys are rule ids and
:data:`SEARCH_ONLY_REASONS` (a pruned layout counts once, a surviving one per schedule).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import Accelerator, Cluster, Model
from gpuplan.errors import ScenarioError
from gpuplan.model.batch import RECOMPUTE_ORDER, BatchResult, PlanBatch
from gpuplan.model.partial_recompute import largest_chunk
from gpuplan.model.rules import LAYOUT_RULES, SCHEDULE_RULES, Context, divisors, edge_chunks, prune
from gpuplan.model.step import StepEstimate, step_from_batch
from gpuplan.scenario.plan import Recompute
from gpuplan.scenario.resolve import DEFAULT_FRAMEWORK
from gpuplan.search.block_recompute import with_block_recompute
from gpuplan.search.evaluated import Evaluated, Pricing, evaluate_plans
from gpuplan.search.framework_limits import restrict_to_framework
from gpuplan.search.select import pareto_front, smallest

MICROBATCHES = (1, 2, 4, 8, 16, 32)
INTERLEAVES = (1, 2, 3, 4, 6, 8)
MAX_CONTEXT_PARALLEL = 64
FALLBACK_MIN_USED = (0.9, 0.75, 0.5)
LAYOUT = ("tp", "cp", "pp", "dp", "ep")
SCHEDULE = ("microbatch", "interleave", "recompute", "sequence_parallel", "zero")
"""Enumeration order of the fields (the last varies fastest); ties in step time keep it."""

UNDER_USED = "does not use the GPUs"
"""Search-only reason: the layout uses fewer than ``min_used`` of the GPUs."""
NO_FIT = "does not fit in memory"
"""Search-only reason: evaluated, over the accelerator's memory."""
SEARCH_ONLY_REASONS = (UNDER_USED, NO_FIT)


@dataclass(frozen=True)
class SearchOptions:
    """What the search may vary; None leaves a field free, a value fixes it."""

    tp: int | None = None
    pp: int | None = None
    dp: int | None = None
    cp: int | None = None
    ep: int | None = None
    microbatch: int | None = None
    interleave: int | None = None
    recompute: str | None = None
    recompute_layers: int | None = None
    """Layers of each chunk that recompute under a full recompute (None: all)."""
    sequence_parallel: bool | None = None
    zero: int | None = None
    allow_tp_beyond_domain: bool = False
    min_used: float | None = None
    """Fraction of the GPUs a plan must use. None: all of them when some plan can, else at
    least 90%, 75%, then 50% (``FALLBACK_MIN_USED``) while a lower floor's best plan steps
    faster, tried where the kept plan's bubble is over 1 - floor / kept of its step."""
    top: int = 10
    rank_by: Callable[[PlanBatch, BatchResult], np.ndarray] | None = None
    """Seconds to rank plans by (lower first) instead of step time: e.g. wall-clock time per
    step with failures (:class:`gpuplan.reliability.plan_checkpoint.TimeToTrainRank`)."""


@dataclass(frozen=True)
class SearchResult:
    gpus: int
    enumerated: int
    evaluated: int
    feasible: int
    pruned: dict[str, int]
    best: StepEstimate | None
    top: tuple[StepEstimate, ...]
    pareto: tuple[StepEstimate, ...]
    """Plans no other plan beats on step time, memory headroom and GPUs used at once."""
    elapsed_s: float
    notes: tuple[str, ...] = field(default=())
    min_memory_bytes: float | None = None
    """The smallest memory per GPU of any evaluated plan (the numbers of a 'does not fit')."""
    fastest_step: StepEstimate | None = None
    """With ``rank_by``: the plan of the shortest step time (``best`` is ``rank_by``'s)."""

    @property
    def plans_per_s(self) -> float:
        return self.enumerated / self.elapsed_s if self.elapsed_s > 0 else float("inf")


def _free_values(model: Model, global_batch: int, seq_len: int) -> dict[str, list[int]]:
    """What the free search enumerates for each field."""
    kv = model.kv_heads
    # Powers of two, three times powers of two (GPU counts like 3,072) and the divisors of
    # the layers; stages need not divide the layers (uneven stages are modelled).
    powers = [m * 2**k for m in (1, 3) for k in range(12) if m * 2**k <= model.layers]
    return {
        "tp": [d for d in divisors(model.heads) if kv % d == 0 or d % kv == 0],
        "cp": [2**k for k in range(7) if 2**k <= MAX_CONTEXT_PARALLEL and seq_len % 2**k == 0],
        "pp": sorted(set(powers) | set(divisors(model.layers))),
        "dp": divisors(global_batch),
        "ep": divisors(model.moe.experts) if model.moe is not None else [1],
        "microbatch": list(MICROBATCHES),
        "interleave": list(INTERLEAVES),
        "recompute": list(range(len(RECOMPUTE_ORDER))),
        "sequence_parallel": [0, 1],
        "zero": [0, 1, 2, 3],
    }


def _values(
    model: Model, global_batch: int, seq_len: int, o: SearchOptions
) -> dict[str, list[int]]:
    """Each field's values: the one the user fixed (also outside the free set: the rules
    judge it, and prune it by name when it breaks one), else the free set."""
    modes = [mode.value for mode in RECOMPUTE_ORDER]
    if o.recompute is not None and o.recompute not in modes:
        raise ScenarioError(f"recompute = {o.recompute!r}", f"allowed: {', '.join(modes)}")
    fixed = {
        "tp": o.tp, "cp": o.cp, "pp": o.pp, "dp": o.dp, "ep": o.ep,
        "microbatch": o.microbatch, "interleave": o.interleave,
        "recompute": None if o.recompute is None else modes.index(o.recompute),
        "sequence_parallel": None if o.sequence_parallel is None else int(o.sequence_parallel),
        "zero": o.zero,
    }  # fmt: skip
    free = _free_values(model, global_batch, seq_len)
    return {k: free[k] if (v := fixed[k]) is None else [v] for k in (*LAYOUT, *SCHEDULE)}


def _recompute_layers(model: Model, columns: dict[str, np.ndarray], o: SearchOptions) -> np.ndarray:
    """Per plan, the fixed ``recompute_layers`` where it recomputes fully, at most the layers
    of its largest pipeline chunk (as Megatron's block method recomputes them all); -1 else."""
    full = columns["recompute"] == RECOMPUTE_ORDER.index(Recompute.FULL)
    if o.recompute_layers is None or not full.any():
        return np.full_like(full, -1, dtype=np.int64)
    chunk = largest_chunk(model, columns["pp"], columns["interleave"])
    return np.where(full, np.minimum(o.recompute_layers, chunk), -1)


def _grid(values: list[list[int]]) -> list[np.ndarray]:
    """Every combination of the values, as columns; the last varies fastest."""
    mesh = np.meshgrid(*(np.asarray(v, dtype=np.int64) for v in values), indexing="ij")
    return [m.ravel() for m in mesh]


def _enumerate(
    context: Context, options: SearchOptions, pruned: dict[str, int]
) -> tuple[dict[str, np.ndarray], int]:
    """The plans that break no rule, as columns, and how many plans were enumerated."""
    assert options.min_used is not None
    values = _values(context.model, context.global_batch, context.seq_len, options)
    layouts = dict(zip(LAYOUT, _grid([values[k] for k in LAYOUT]), strict=True))
    keep = prune(context, layouts, LAYOUT_RULES, pruned)
    used = layouts["tp"] * layouts["cp"] * layouts["pp"] * layouts["dp"]
    under = keep & (used < options.min_used * context.gpus)
    if under.any():
        pruned[UNDER_USED] = pruned.get(UNDER_USED, 0) + int(np.count_nonzero(under))
        keep &= ~under
    count = int(np.count_nonzero(keep))
    # A layout that survives stage 1 is counted through its schedules, not itself.
    enumerated = keep.size - count
    schedules = dict(zip(SCHEDULE, _grid([values[k] for k in SCHEDULE]), strict=True))
    size = schedules["zero"].size
    # Every surviving layout with every schedule, as a layouts x schedules grid (a row per
    # layout): the rules broadcast over it, and the plans that pass are taken in its order.
    kept = {k: v[keep] for k, v in layouts.items()}
    grid = {k: v[:, None] for k, v in kept.items()} | {k: v[None, :] for k, v in schedules.items()}
    plan = np.flatnonzero(prune(context, grid, SCHEDULE_RULES, pruned))
    layout, schedule = plan // size, plan % size
    columns = {k: v[layout] for k, v in kept.items()} | {
        k: v[schedule] for k, v in schedules.items()
    }
    columns["sequence_parallel"] = columns["sequence_parallel"].astype(bool)
    return columns, enumerated + count * size


def search(
    catalog: Catalog,
    model: Model,
    accelerator: Accelerator,
    gpus: int,
    *,
    global_batch: int,
    seq_len: int,
    fp8: bool = False,
    options: SearchOptions | None = None,
    framework_id: str = DEFAULT_FRAMEWORK,
    cluster: Cluster | None = None,
) -> SearchResult:
    """The best plans for ``model`` on ``gpus`` accelerators, and what was pruned, why."""
    options = options or SearchOptions()
    if gpus < 1:
        raise ScenarioError(f"gpus = {gpus}", "must be >= 1")
    if options.min_used is not None and not 0 < options.min_used <= 1:
        raise ScenarioError(f"min_used = {options.min_used}", "must be in (0, 1]")
    if options.min_used is None:
        result = _search(catalog, model, accelerator, gpus, global_batch, seq_len, fp8,
                         replace(options, min_used=1.0), framework_id, cluster)  # fmt: skip
        elapsed, kept = result.elapsed_s, 1.0
        for floor in FALLBACK_MIN_USED if not result.feasible else ():
            if not _lower_may_win(result, floor, kept):
                break
            lower = _search(catalog, model, accelerator, gpus, global_batch, seq_len, fp8,
                            replace(options, min_used=floor), framework_id, cluster)  # fmt: skip
            elapsed += lower.elapsed_s
            if result.best and (not lower.best or lower.best.time_s >= result.best.time_s):
                break  # nothing below steps faster on the same batch: keep the fuller plan
            kept, result = floor, replace(lower, notes=(*lower.notes, _fallback(gpus, floor)))
        return replace(result, elapsed_s=elapsed)
    return _search(catalog, model, accelerator, gpus, global_batch, seq_len, fp8, options,
                   framework_id, cluster)  # fmt: skip


def _lower_may_win(result: SearchResult, floor: float, kept: float) -> bool:
    """Whether a search down to ``floor`` of the GPUs can beat ``result`` (plans on at least
    ``kept`` of them): none fits yet and some were under-used, or its best plan loses more
    than ``1 - floor / kept`` of its step to the pipeline bubble (what a plan on that share
    of its GPUs with no bubble would need to step faster)."""
    best = result.best
    if best is None:
        return UNDER_USED in result.pruned
    return best.bubble_s > best.time_s * (1 - floor / kept)


def _fallback(gpus: int, floor: float) -> str:
    return (
        f"no plan fits using exactly {gpus:,} GPUs; plans using at least {floor:.0%} of them "
        "were searched (a lower floor only where its best plan steps faster)"
    )


def _search(
    catalog: Catalog,
    model: Model,
    accelerator: Accelerator,
    gpus: int,
    global_batch: int,
    seq_len: int,
    fp8: bool,
    options: SearchOptions,
    framework_id: str,
    cluster: Cluster | None = None,
) -> SearchResult:
    started = time.perf_counter()
    pruned: dict[str, int] = {}
    framework = catalog.framework(framework_id)
    context = Context(model, gpus, global_batch, seq_len, accelerator,
                      options.allow_tp_beyond_domain, framework.moe_parallel_folding,
                      framework.pipeline_schedule == "dualpipe",
                      edge_chunks(framework))  # fmt: skip
    columns, enumerated = _enumerate(context, options, pruned)
    columns = restrict_to_framework(catalog.framework(framework_id), columns, pruned)
    if not columns["tp"].size:
        return SearchResult(
            gpus, enumerated, 0, 0, pruned, None, (), (), time.perf_counter() - started,
            ("no plan survives the rules; see the pruned counts",),
        )  # fmt: skip
    batch = PlanBatch(**columns, recompute_layers=_recompute_layers(model, columns, options))
    pricing = Pricing.of(catalog, context, fp8, framework_id, cluster)
    evaluated = evaluate_plans(pricing, batch)
    # A recompute left free may be a block recompute of the fewest layers that fit, where the
    # stack offers it; a "full" the user fixed recomputes every layer, as it says.
    if framework.block_recompute and options.recompute is None is options.recompute_layers:
        evaluated = with_block_recompute(pricing, evaluated, options.rank_by, options.top)
    feasible = len(evaluated.fitting)
    if feasible < len(batch):
        pruned[NO_FIT] = len(batch) - feasible
    top: tuple[StepEstimate, ...] = ()
    pareto: tuple[StepEstimate, ...] = ()
    fastest = None
    if evaluated.result is not None:
        top, pareto, fastest = _rank(evaluated, evaluated.result, options, accelerator)
    return SearchResult(
        gpus=gpus,
        enumerated=enumerated,
        evaluated=len(batch),
        feasible=feasible,
        pruned=pruned,
        best=top[0] if top else None,
        top=top,
        pareto=pareto,
        elapsed_s=time.perf_counter() - started,
        min_memory_bytes=float(evaluated.memory_bytes.min()),
        fastest_step=fastest,
    )


def _rank(
    evaluated: Evaluated, result: BatchResult, options: SearchOptions, accelerator: Accelerator
) -> tuple[tuple[StepEstimate, ...], tuple[StepEstimate, ...], StepEstimate | None]:
    """Of the plans that fit (``result`` their evaluation), the ``options.top`` best, the
    Pareto front and, when ranked by ``options.rank_by``, the plan of the shortest step."""
    times, fitting, score = result.time_s, evaluated.fitting, evaluated.score
    if options.rank_by is None:
        order = smallest(times, options.top)
    else:  # by rank (kept from the block recompute's), ties (no progress: inf) by step time
        score = options.rank_by(fitting, result) if score is None else score
        order = smallest(score, options.top, then=times)
    peak = accelerator.peak_bf16_flops_per_s

    def step(index: int) -> StepEstimate:
        estimate = step_from_batch(result, index, fitting.plan(index), peak, accelerator)
        assert isinstance(estimate, StepEstimate), "only feasible plans are converted"
        return estimate

    top = tuple(step(int(i)) for i in order)
    used = fitting.tp * fitting.pp * fitting.dp * fitting.cp
    pareto = tuple(step(i) for i in pareto_front(times, result.memory_bytes, used))
    return top, pareto, step(int(np.argmin(times))) if options.rank_by else None


def search_range(
    catalog: Catalog,
    model: Model,
    accelerator: Accelerator,
    gpu_counts: list[int],
    *,
    global_batch: int,
    seq_len: int,
    fp8: bool = False,
    options: SearchOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[SearchResult]:
    """One search per GPU count (the scaling curve)."""
    results = []
    for count in gpu_counts:
        results.append(search(catalog, model, accelerator, count, global_batch=global_batch,
                              seq_len=seq_len, fp8=fp8, options=options))  # fmt: skip
        if progress is not None:
            progress(count)
    return results


def gpu_range(low: int, high: int) -> list[int]:
    """GPU counts from ``low`` to ``high``: powers of two and 1.5x steps between them."""
    if low < 1 or high < low:
        raise ScenarioError(f"gpus = {low}..{high}", "needs 1 <= low <= high")
    counts = {low, high}
    power = 1
    while power <= high:
        for value in (power, power * 3 // 2):
            if low <= value <= high:
                counts.add(value)
        power *= 2
    return sorted(counts)
