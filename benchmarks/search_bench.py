"""Speed of the plan search (issues 3 and 15): plans evaluated per second on named scenarios,
the issue-15 targets, and one plan given in full.

Issue 15 targets on the project's 2-core machine, in-process CPU time (median of the runs
below; ``time.process_time`` is steadier than wall time on a shared machine): Llama 3 405B,
8K sequences, 2,048-sequence batches on 16,384 H100 <= 60 ms; the 15 GPU counts of
1024..131072 <= 1 s; one plan given in full <= 0.1 ms. The search keeps per-layer costs
between searches (``gpuplan.model.per_layer``) and evaluated plan batches
(``gpuplan.search.evaluated``): "cold" empties both before each run, "per-layer costs kept"
only the batches, "again" neither.

One plan given in full, four rows. The target is judged as the issue measured its 0.6 ms:
the same plan evaluated again in a running process ("evaluated again": before issue 15 this
file timed exactly that, ``estimate`` called in a loop, 0.86 ms; the code before issue 15,
d701248, reads 0.81 ms on it), here with the plan's own kept result emptied before each run
so the whole evaluation is timed, not a lookup. "again" keeps that result (a repeated
question, as the web app asks it); "distinct plans" times 24 different complete plans in a
row, every cache emptied before the 24 (plans after the first share per-layer costs, as in
a warm process); "first" empties every kept cache before each run: a new model, chip and
framework in a running process. "first" is a stricter reading, reported and not judged: no
cache helps it, and about 900 Python calls spread over setup and physics set its cost.
Run by ``make bench``. Before/after in one run: ``git archive <commit> src | tar -x -C
/tmp/before``, then ``PYTHONPATH=/tmp/before/src .venv/bin/python benchmarks/search_bench.py``
times that commit with this file.
"""

from __future__ import annotations

import importlib
import itertools
import pkgutil
import statistics
import time
from collections.abc import Callable

from gpuplan.catalog import load_catalog
from gpuplan.model import step as step_module
from gpuplan.model.performance import estimate
from gpuplan.scenario.plan import ParallelPlan, Recompute
from gpuplan.search.plans import gpu_range, search, search_range

CASES = (
    ("llama3-405b", "h100-sxm", 16_384, 2048, 8192),
    ("llama3-405b", "h100-sxm", 100_000, 2048, 8192),
    ("llama3-405b", "h100-sxm", 1_000_000, 16384, 8192),
    ("gpt3-175b", "a100-80gb", 1_024, 1536, 2048),
)
FIXED_PLAN = ParallelPlan(tensor_parallel=8, pipeline_parallel=16, data_parallel=128,
                          microbatch=1, interleave=2, recompute=Recompute.FULL,
                          sequence_parallel=True, zero=1)  # fmt: skip
"""A complete plan of Llama 3 405B on 16,384 H100 (TP 8, PP 16, DP 128, as Meta's)."""
DISTINCT_PLANS = tuple(
    ParallelPlan(tensor_parallel=tp, pipeline_parallel=pp, data_parallel=16_384 // (tp * pp),
                 microbatch=mb, interleave=v, recompute=rc, sequence_parallel=True, zero=zero)
    for zero, rc, mb, v, pp, tp in itertools.islice(itertools.product(
        (1, 3), (Recompute.FULL, Recompute.SELECTIVE), (1, 2), (2, 1), (16, 8), (8, 4)), 24)
)  # fmt: skip
"""24 distinct complete plans of Llama 3 405B on 16,384 H100 (each a valid layout)."""


try:  # absent before issue 15: then this file times an older checkout too (cold = warm)
    _LAYER_CACHE: dict[object, object] = importlib.import_module(
        "gpuplan.model.per_layer"
    )._layer_cache
except ModuleNotFoundError:
    _LAYER_CACHE = {}


def _forget(layers: bool = True) -> None:
    """Empty every kept evaluation of the performance model and the search: each function
    cache (``cache_clear``: functools' and :func:`gpuplan.model.kept.by_identity`'s) of a
    ``gpuplan.model`` or ``gpuplan.search`` module, found by walking them, so a cache added
    later is emptied too (one-plan-7: six such caches, among them the stage structure and
    the GEMM tile efficiency, had been left warm by a hand-kept list: the "first" row read
    some 0.1 ms faster than a new scenario's first plan), and the dict caches below;
    without ``layers``, the search's kept per-layer costs (``per_layer._layer_cache``)
    stay. Absent caches (an older checkout) are skipped.

    Per-process constants that depend on no scenario stay: the rules that apply per field
    names (``gpuplan.model.rules._APPLYING``, the rule table keyed only by which plan
    fields are given and whether there is an accelerator) are not a cache of scenario
    work; a fresh process builds each entry once and every later scenario reads it, so the
    "first" row times a new scenario in a running process, not the first ever. The
    catalog stays loaded."""
    if layers:
        _LAYER_CACHE.clear()
    for package in ("gpuplan.model", "gpuplan.search"):
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            module = importlib.import_module(f"{package}.{info.name}")
            for kept in vars(module).values():
                clear = getattr(kept, "cache_clear", None)
                mine = getattr(kept, "__module__", None) == module.__name__
                if callable(clear) and mine and not isinstance(kept, type):
                    clear()
    for module, name in (
        ("gpuplan.model.kept", "_first_seen"),
        ("gpuplan.search.evaluated", "_kept"),
    ):
        kept = getattr(importlib.import_module(module), name, None)
        clear = getattr(kept, "cache_clear", None) or getattr(kept, "clear", None)
        if clear is not None:
            clear()


def cpu_median(
    fn: Callable[[], object], repeats: int, forget: Callable[[], None] | None = None
) -> float:
    """Median CPU seconds of ``fn``, calling ``forget`` (if any) before each run."""
    times = []
    for _ in range(repeats):
        if forget is not None:
            forget()
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def issue_15(repeats: int = 7) -> None:
    catalog = load_catalog()
    model, h100 = catalog.model("llama3-405b"), catalog.accelerator("h100-sxm")
    counts = gpu_range(1024, 131072)

    def one_search() -> object:
        return search(catalog, model, h100, 16_384, global_batch=2048, seq_len=8192)

    def the_range() -> object:
        return search_range(catalog, model, h100, counts, global_batch=2048, seq_len=8192)

    def one_plan() -> object:
        return estimate(catalog, model, h100, FIXED_PLAN, seq_len=8192, global_batch=2048)

    def its_result_forgotten() -> None:  # the plan's own kept evaluation (absent before 15)
        getattr(getattr(step_module, "_one_plan", None), "cache_clear", lambda: None)()

    def distinct_plans() -> object:
        return [estimate(catalog, model, h100, plan, seq_len=8192, global_batch=2048)
                for plan in DISTINCT_PLANS]  # fmt: skip

    one_search()
    cold, warm = _forget, lambda: _forget(layers=False)
    rows = (
        ("405B on 16,384 H100, searched, cold", cpu_median(one_search, repeats, cold), 0.060),
        ("405B on 16,384 H100, searched, per-layer costs kept", cpu_median(one_search, repeats,
         warm), 0.060),
        ("405B on 16,384 H100, searched again (batch kept)", cpu_median(one_search, repeats),
         0.060),
        (f"405B, {len(counts)} counts 1024..131072, cold", cpu_median(the_range, 3, cold), 1.0),
        (f"405B, {len(counts)} counts, per-layer costs kept", cpu_median(the_range, 3, warm),
         1.0),
        ("405B on 16,384 H100, one plan given in full, evaluated again",
         cpu_median(one_plan, 200, its_result_forgotten), 0.0001),
        ("405B on 16,384 H100, one plan given in full, again", cpu_median(one_plan, 200),
         0.0001),
        (f"405B, {len(DISTINCT_PLANS)} distinct plans in full, each (cold at start)",
         cpu_median(distinct_plans, 15, cold) / len(DISTINCT_PLANS), 0.0001),
        ("405B on 16,384 H100, one plan given in full, first (stricter)",
         cpu_median(one_plan, 50, cold), None),
    )  # fmt: skip
    print(f"{'issue 15 search targets (CPU, median)':62s} {'ms':>9s} {'target ms':>10s}")
    for name, seconds, target in rows:
        if target is None:
            print(f"{name:62s} {seconds * 1e3:9.3f} {'reported':>10s}")
            continue
        flag = "" if seconds <= target else "  MISS"
        print(f"{name:62s} {seconds * 1e3:9.3f} {target * 1e3:10.1f}{flag}")


def main(repeats: int = 5) -> None:
    issue_15()
    print()
    catalog = load_catalog()
    print(f"{'scenario':48s} {'median s':>9s} {'plans':>9s} {'plans/s':>10s}  best plan")
    for model_id, hardware, gpus, batch, seq in CASES:
        model, accelerator = catalog.model(model_id), catalog.accelerator(hardware)
        times, result = [], None
        for _ in range(repeats):
            start = time.perf_counter()
            result = search(catalog, model, accelerator, gpus, global_batch=batch, seq_len=seq)
            times.append(time.perf_counter() - start)
        assert result is not None
        median = statistics.median(times)
        best = result.best.plan.as_dict() if result.best else "none fits"
        name = f"{model_id} on {gpus:,} {hardware}, batch {batch}x{seq}"
        rate = result.enumerated / median
        print(f"{name:48s} {median:9.3f} {result.enumerated:9,d} {rate:10,.0f}  {best}")


if __name__ == "__main__":
    main()
