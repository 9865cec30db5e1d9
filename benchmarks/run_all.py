"""All gpuplan benchmarks (`make bench`): speed of the main entry points, the plan search,
and the accuracy of the performance model against published runs.

Speed targets live here, never in the test suite. Each speed figure is the median of
several runs so that one slow run on a shared machine does not decide it.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import reliability_bench
import search_bench
import startup_bench
import sweep_bench

from gpuplan.accounting.cluster import assess_cluster
from gpuplan.catalog import load_catalog
from gpuplan.checks.validation import check_targets, validate
from gpuplan.fitting.scaling_fit import LossObservations, fit_scaling_law
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario
from gpuplan.studies.seed import plan_seed_clusters


def median_seconds(fn: Callable[[], object], repeats: int = 20) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def scaling_fit_bench(runs: int = 240, bootstrap: int = 200) -> None:
    """``fit_scaling_law`` with the CLI's 200 bootstrap refits on synthetic runs shaped like
    Besiroglu et al. 2024's (E 1.82, A 482, B 2085, alpha 0.348, beta 0.366; 1% noise)."""
    rng = np.random.default_rng(0)
    params, tokens = 10 ** rng.uniform(7, 10.5, runs), 10 ** rng.uniform(9, 12, runs)
    losses = (1.82 + 482 / params**0.348 + 2085 / tokens**0.366) * np.exp(rng.normal(0, 0.01, runs))
    observed = LossObservations(
        tuple(params.tolist()), tuple(tokens.tolist()), tuple(losses.tolist())
    )
    started, cpu = time.perf_counter(), time.process_time()
    fit_scaling_law(observed, bootstrap=bootstrap, seed=0)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"scaling-fit, {runs} runs, {bootstrap} bootstrap refits: {elapsed:.1f} s, "
          f"{cpu:.1f} s CPU (issue 15: 160 s before)")  # fmt: skip


def main() -> None:
    startup_bench.main([])
    print()
    catalog = load_catalog()
    scenario = parse_scenario(
        {
            "model": "llama3-405b",
            "hardware": "h100-sxm",
            "gpus": 16384,
            "training": {"tokens": 15.6e12},
        }
    )
    rows = [
        (
            "plan(llama3-405b, 16,384 H100, published batch, searched)",
            lambda: plan(scenario, catalog),
        ),
        (
            "assess_cluster(100,000 H100, 90 days)",
            lambda: assess_cluster(
                catalog, "h100-sxm", 100_000, 90, grids=("us-average", "france")
            ),
        ),
    ]
    print(f"{'benchmark':48s} {'median':>12s}")
    for name, fn in rows:
        print(f"{name:48s} {median_seconds(fn) * 1e3:9.3f} ms")
    start = time.perf_counter()
    plan_seed_clusters(replace(catalog))  # a new catalog object: not from the study's cache
    elapsed = time.perf_counter() - start
    print(f"{'seed study, 4 clusters (gpuplan demo), once':48s} {elapsed * 1e3:9.0f} ms")
    print()
    search_bench.main()
    print()
    reliability_bench.main()
    print()
    print(f"{'benchmark':58s} {'count':>8s} {'time':>10s} {'rate':>10s}")
    sweep_bench.bench_monte_carlo(1000)
    sweep_bench.bench_sweeps(20_000)
    print()
    scaling_fit_bench()
    print()
    start = time.perf_counter()
    results = validate(catalog)
    elapsed = time.perf_counter() - start
    print(f"validation: {len(results)} published measurements predicted in {elapsed:.2f} s")
    for target in check_targets(results):
        s = target.summary
        verdict = "pass" if target.passed else "MISS " + "; ".join(target.failures)
        print(
            f"  {target.target.id:24s} n={s.rows:3d} mean={s.mean_abs:.1%} "
            f"median={s.median_abs:.1%} p90={s.p90_abs:.1%} max={s.max_abs:.1%}  {verdict}"
        )


if __name__ == "__main__":
    main()
