"""Search: the fastest parallel plan within memory, for one GPU count or a range.

Plans are enumerated in two stages so that pruning is cheap and counted by reason:

1. layouts (TP, CP, PP, DP, EP): TP divides the heads (and pairs with the KV heads) and
   stays inside the scale-up domain unless allowed; CP divides the sequence; PP is a
   power of two or a divisor of the layers (uneven stages are allowed); DP divides the
   global batch; the layout uses the GPUs (exactly, or at least ``min_used`` of them);
   EP divides the experts and DP x CP;
2. schedules (micro-batch, interleaving, recompute, sequence parallelism, ZeRO stage):
   the micro-batch divides the per-replica batch; PP x interleave stays within the layers.

The surviving plans are evaluated together by :func:`gpuplan.model.batch.evaluate` (the
same arithmetic as a single :func:`gpuplan.model.performance.estimate`), plans that do not fit in
memory are pruned, and the rest are ranked by step time. Every enumerated plan is either
evaluated-and-feasible or pruned for exactly one reason (the first rule it breaks).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import Accelerator, Model
from gpuplan.errors import ScenarioError
from gpuplan.model.batch import RECOMPUTE_ORDER, PlanBatch, evaluate
from gpuplan.model.performance import DEFAULT_FRAMEWORK, device_of, network_of
from gpuplan.model.rules import divisors
from gpuplan.model.step import StepEstimate, step_from_batch

MICROBATCHES = (1, 2, 4, 8, 16, 32)
INTERLEAVES = (1, 2, 3, 4, 6, 8)
MAX_CONTEXT_PARALLEL = 64
FALLBACK_MIN_USED = (0.9, 0.75)


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
    sequence_parallel: bool | None = None
    zero: int | None = None
    allow_tp_beyond_domain: bool = False
    min_used: float | None = None
    """Fraction of the GPUs a plan must use. None: all of them when some plan can, else at
    least 90%, then 75% (``FALLBACK_MIN_USED``): GPU counts like 100,000 factor badly into
    TP x PP x CP x DP."""
    top: int = 10


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

    @property
    def plans_per_s(self) -> float:
        return self.enumerated / self.elapsed_s if self.elapsed_s > 0 else float("inf")


def _tp_candidates(model: Model, accelerator: Accelerator, options: SearchOptions) -> list[int]:
    values = [
        d for d in divisors(model.heads) if model.kv_heads % d == 0 or d % model.kv_heads == 0
    ]
    return [d for d in values if options.tp in (None, d)]


def _pp_candidates(model: Model, options: SearchOptions) -> list[int]:
    # Powers of two, three times powers of two (GPU counts like 3,072) and the divisors of
    # the layers; stages need not divide the layers (uneven stages are modelled).
    powers = [m * 2**k for m in (1, 3) for k in range(12) if m * 2**k <= model.layers]
    values = sorted(set(powers) | set(divisors(model.layers)))
    return [p for p in values if options.pp in (None, p)]


def _cp_candidates(seq_len: int, options: SearchOptions) -> list[int]:
    values = [2**k for k in range(7) if 2**k <= MAX_CONTEXT_PARALLEL and seq_len % 2**k == 0]
    return [c for c in values if options.cp in (None, c)]


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
) -> SearchResult:
    """The best plans for ``model`` on ``gpus`` accelerators, and what was pruned, why."""
    options = options or SearchOptions()
    if gpus < 1:
        raise ScenarioError(f"gpus = {gpus}", "must be >= 1")
    if options.min_used is not None and not 0 < options.min_used <= 1:
        raise ScenarioError(f"min_used = {options.min_used}", "must be in (0, 1]")
    if options.min_used is None:
        result = _search(catalog, model, accelerator, gpus, global_batch, seq_len, fp8,
                         replace(options, min_used=1.0), framework_id)  # fmt: skip
        elapsed = result.elapsed_s
        for floor in FALLBACK_MIN_USED:
            if result.feasible:
                break
            result = _search(catalog, model, accelerator, gpus, global_batch, seq_len, fp8,
                             replace(options, min_used=floor), framework_id)  # fmt: skip
            elapsed += result.elapsed_s
            result = replace(
                result,
                notes=(
                    *result.notes,
                    f"no plan fits using exactly {gpus:,} GPUs; plans using at least "
                    f"{floor:.0%} of them were searched",
                ),
            )
        return replace(result, elapsed_s=elapsed)
    return _search(catalog, model, accelerator, gpus, global_batch, seq_len, fp8, options,
                   framework_id)  # fmt: skip


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
) -> SearchResult:
    assert options.min_used is not None
    started = time.perf_counter()
    pruned: dict[str, int] = {}
    enumerated = 0

    def prune(reason: str, count: int) -> None:
        if count:
            pruned[reason] = pruned.get(reason, 0) + count

    # Stage 1: layouts.
    domain = accelerator.scaleup_domain
    tps = _tp_candidates(model, accelerator, options)
    cps = _cp_candidates(seq_len, options)
    pps = _pp_candidates(model, options)
    dps = [d for d in divisors(global_batch) if options.dp in (None, d)]
    eps = [1]
    if model.moe is not None:
        eps = [e for e in divisors(model.moe.experts) if options.ep in (None, e)]
    layouts = []
    for tp, cp, pp, dp, ep in itertools.product(tps, cps, pps, dps, eps):
        enumerated += 1
        used = tp * cp * pp * dp
        if used > gpus or used < options.min_used * gpus:
            prune("does not use the GPUs (tp x pp x dp x cp)", 1)
        elif tp > domain and not options.allow_tp_beyond_domain:
            prune("tp beyond the scale-up domain", 1)
        elif domain % tp and tp % domain:
            prune("tp groups would straddle scale-up domains", 1)
        elif (dp * cp) % ep:
            prune("ep does not divide dp x cp", 1)
        else:
            layouts.append((tp, cp, pp, dp, ep))

    # Stage 2: schedules, as one grid broadcast over the surviving layouts.
    recomputes = [
        i for i, mode in enumerate(RECOMPUTE_ORDER) if options.recompute in (None, mode.value)
    ]
    zeros = [z for z in range(4) if options.zero in (None, z)]
    microbatches = [b for b in MICROBATCHES if options.microbatch in (None, b)]
    interleaves = [v for v in INTERLEAVES if options.interleave in (None, v)]
    sps = [s for s in (False, True) if options.sequence_parallel in (None, s)]
    grid = np.asarray(list(itertools.product(microbatches, interleaves, recomputes, sps, zeros)))
    lay = np.asarray(layouts, dtype=np.int64).reshape(-1, 5)
    columns: dict[str, np.ndarray] = {}
    if lay.size and grid.size:
        tp_a, cp_a, pp_a, dp_a, ep_a = (np.repeat(lay[:, i], len(grid)) for i in range(5))
        mb_a, v_a, rc_a, sp_a, zero_a = (np.tile(grid[:, i], len(lay)) for i in range(5))
        rules = (
            ("sequence parallelism needs tp > 1", (sp_a == 1) & (tp_a == 1)),
            (
                "micro-batch does not divide the batch per replica",
                (global_batch // dp_a) % mb_a != 0,
            ),
            (
                "interleave needs pp > 1 and pp x interleave <= layers",
                (v_a > 1) & ((pp_a == 1) | (pp_a * v_a > model.layers)),
            ),
        )
        keep: np.ndarray = np.ones(tp_a.size, dtype=np.bool_)
        for reason, broken in rules:
            prune(reason, int((keep & broken).sum()))
            keep = keep & ~broken
        enumerated += int(tp_a.size)
        columns = {
            "tp": tp_a[keep], "pp": pp_a[keep], "dp": dp_a[keep], "cp": cp_a[keep],
            "ep": ep_a[keep],
            "microbatch": mb_a[keep], "interleave": v_a[keep], "recompute": rc_a[keep],
            "sequence_parallel": sp_a[keep].astype(bool), "zero": zero_a[keep],
        }  # fmt: skip
    # A layout that survives stage 1 is counted through its schedules, not itself.
    enumerated -= len(layouts)

    if not columns or not columns["tp"].size:
        return SearchResult(
            gpus, enumerated, 0, 0, pruned, None, (), (), time.perf_counter() - started,
            ("no layout survives the rules above; see the pruned counts",),
        )  # fmt: skip
    batch = PlanBatch(**columns)
    dev = device_of(catalog, accelerator, fp8, framework_id)
    network = network_of(catalog, accelerator)
    framework = catalog.framework(framework_id)
    overhead = catalog.system("framework_memory_overhead_gib").for_accelerator(accelerator.id)
    result = evaluate(
        model,
        accelerator,
        batch,
        seq_len=seq_len,
        global_batch=global_batch,
        dev=dev,
        network=network,
        framework=framework,
        overhead_bytes=overhead * 2**30,
    )
    fits = result.fits
    prune("does not fit in memory", int((~fits).sum()))
    times = np.where(fits, result.time_s, np.inf)
    order = np.argsort(times, kind="stable")
    feasible = int(fits.sum())
    peak = accelerator.peak_bf16_flops_per_s

    def step(index: int) -> StepEstimate:
        estimate = step_from_batch(result, index, batch.plan(index), peak, accelerator)
        assert isinstance(estimate, StepEstimate), "only feasible plans are converted"
        return estimate

    top = tuple(step(int(i)) for i in order[: min(options.top, feasible)])
    pareto_indices = _pareto(
        times[fits], result.memory_bytes[fits],
        (batch.tp * batch.pp * batch.dp * batch.cp)[fits],
    )  # fmt: skip
    feasible_indices = np.flatnonzero(fits)
    pareto = tuple(step(int(feasible_indices[i])) for i in pareto_indices)
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
    )


def _pareto(time_s: np.ndarray, memory_bytes: np.ndarray, gpus_used: np.ndarray) -> list[int]:
    """Indices of the plans no other plan beats on all of: lower step time, lower memory
    (more headroom), more GPUs put to work. At most 50, fastest first.
    """
    if time_s.size == 0:
        return []
    front: list[int] = []
    for used in np.unique(gpus_used):
        members = np.flatnonzero(gpus_used == used)
        order = members[np.lexsort((memory_bytes[members], time_s[members]))]
        best_memory = np.minimum.accumulate(memory_bytes[order])
        keep = np.ones(order.size, dtype=bool)
        keep[1:] = memory_bytes[order][1:] < best_memory[:-1]
        front.extend(int(i) for i in order[keep])
    # Across GPU counts: drop a plan that another beats on all three.
    chosen = np.asarray(front)
    t, m, g = time_s[chosen], memory_bytes[chosen], gpus_used[chosen]
    dominated = (
        (t[None, :] <= t[:, None])
        & (m[None, :] <= m[:, None])
        & (g[None, :] >= g[:, None])
        & ((t[None, :] < t[:, None]) | (m[None, :] < m[:, None]) | (g[None, :] > g[:, None]))
    ).any(axis=1)
    survivors = chosen[~dominated]
    return [int(i) for i in survivors[np.argsort(time_s[survivors], kind="stable")][:50]]


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
        results.append(
            search(
                catalog,
                model,
                accelerator,
                count,
                global_batch=global_batch,
                seq_len=seq_len,
                fp8=fp8,
                options=options,
            )
        )
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
