"""Speed of sweeps and of the Monte Carlo (issue 4): scenarios and samples per second.

Sweep: the common case, a grid over accelerators, GPU counts, grids (sites), PUE, GPU prices
and electricity prices for Llama 3 70B, with a global batch (one plan search per accelerator
and GPU count, reused) and without one (the default batch, searched the same way). Timed on
one core (``workers=1``, in this process), on 2 local worker processes, and on a local Dask
cluster of 2 single-threaded worker processes (cluster start-up not timed, reported apart).

Monte Carlo: ``run_uncertainty`` on 1,000 samples of a scenario with an uncertain GPU count,
GPU price and PUE, without and with a global batch (GPU counts quantised to 16 values).

Run: ``python benchmarks/sweep_bench.py [--points N] [--one-core]``; ``--points 100000`` is
the size issue 15 asks for, in 10 s on one core (``--one-core`` times only that, CPU time
beside the wall clock). Before/after in one run: ``git archive <commit> src | tar -x -C
/tmp/before``, then ``PYTHONPATH=/tmp/before/src .venv/bin/python benchmarks/sweep_bench.py``.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np

from gpuplan.catalog import load_catalog
from gpuplan.search.cache import SearchCache
from gpuplan.studies.sweep import SweepSpec, parse_sweep, run_sweep
from gpuplan.studies.uncertainty import run_uncertainty

MODEL = {"model": "llama3-70b", "hardware": "h100-sxm", "gpus": 4096}
FIXED = {
    "hardware": ["h100-sxm", "h200", "b200", "mi300x"],
    "gpus": [1024, 2048, 4096, 8192, 16384],
    "site.grid": ["world", "us-average", "eu-average", "france", "china"],
    "site.pue": [1.1, 1.2, 1.3, 1.4, 1.5],
}
"""500 combinations; GPU and electricity prices fill the grid to the requested size."""


def grid_spec(points: int, global_batch: int | None) -> SweepSpec:
    per_price = max(1, math.ceil(points / (500 * 10)))
    grid: dict[str, Any] = {
        **FIXED,
        "prices.gpu_usd": [float(v) for v in np.linspace(20_000, 40_000, 10)],
        "site.power_usd_per_kwh": [float(v) for v in np.linspace(0.03, 0.2, per_price)],
    }
    base: dict[str, Any] = dict(MODEL)
    if global_batch is not None:
        base["training"] = {"global_batch": global_batch}
    return parse_sweep({"base": base, "grid": grid})


def report(name: str, count: int, seconds: float, unit: str, extra: str = "") -> None:
    print(f"{name:58s} {count:>8,d} {seconds:8.2f} s {count / seconds:10,.0f} {unit}/s  {extra}")


def bench_sweeps(points: int, one_core_only: bool = False) -> None:
    specs = {
        "with global batch": grid_spec(points, 1024),
        "no global batch": grid_spec(points, None),
    }
    for label, spec in specs.items():
        cpu = time.process_time()
        result = run_sweep(spec, workers=1)  # the first search-using run: a cold cache
        cpu = time.process_time() - cpu
        counts = ", ".join(f"{v:,} {k}" for k, v in result.counts().items() if v)
        report(
            f"sweep, {label}, 1 core (in-process)",
            result.scenarios,
            result.elapsed_s,
            "scenarios",
            f"{cpu:.2f} s CPU (issue 15 target: 100,000 in 10 s); {result.searches} searches; "
            f"{counts}",
        )
        if one_core_only:
            continue
        pooled = run_sweep(spec, workers=2)
        speedup = result.elapsed_s / pooled.elapsed_s
        report(
            f"sweep, {label}, 2 local processes",
            pooled.scenarios,
            pooled.elapsed_s,
            "scenarios",
            f"{pooled.chunks} chunks, {speedup:.2f}x one core",
        )
        assert pooled.table.equals(result.table)

    if one_core_only:
        return
    from distributed import Client, LocalCluster  # here: spawned workers re-import this file

    started = time.perf_counter()
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        startup = time.perf_counter() - started
        for label, spec in specs.items():
            remote = run_sweep(spec, client=client)
            report(
                f"sweep, {label}, Dask LocalCluster 2 workers",
                remote.scenarios,
                remote.elapsed_s,
                "scenarios",
                f"{remote.chunks} chunks; cluster start {startup:.1f} s",
            )


def bench_monte_carlo(samples: int) -> None:
    catalog = load_catalog()
    uncertain: dict[str, Any] = {
        **MODEL,
        "gpus": {"low": 2000, "high": 4000},
        "prices": {"gpu_usd": {"dist": "lognormal", "p10": 25_000, "p90": 40_000}},
        "site": {"pue": {"dist": "triangular", "low": 1.1, "mode": 1.2, "high": 1.5}},
    }
    for label, data in (
        ("no global batch (default batch), <= 16 searches", uncertain),
        ("global batch 1024, <= 16 searches", {**uncertain, "training": {"global_batch": 1024}}),
    ):
        started, cpu = time.perf_counter(), time.process_time()
        result = run_uncertainty(data, samples=samples, catalog=catalog, cache=SearchCache())
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        report(
            f"Monte Carlo, {label}",
            result.samples,
            elapsed,
            "samples",
            f"{result.feasible_samples:,} fit; {cpu:.2f} s CPU (issue 15 target: 1 s)",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20_000, help="scenarios per sweep")
    parser.add_argument("--samples", type=int, default=1000, help="Monte Carlo samples")
    parser.add_argument(
        "--one-core",
        action="store_true",
        help="only the sweeps on one core (issue 15's target), no Monte Carlo, pool or Dask",
    )
    args = parser.parse_args()
    print(f"{'benchmark':58s} {'count':>8s} {'time':>10s} {'rate':>10s}")
    if not args.one_core:
        bench_monte_carlo(args.samples)
    bench_sweeps(args.points, one_core_only=args.one_core)


if __name__ == "__main__":
    main()
