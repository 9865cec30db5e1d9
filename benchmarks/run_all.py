"""gpuplan benchmarks: speed of the library's main entry points (run by `make bench`).

Speed targets live here, never in the test suite. Each benchmark prints the median of
several runs so that one slow run on a shared machine does not decide the figure.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from gpuplan.catalog import load_catalog
from gpuplan.cluster import assess_cluster
from gpuplan.run import plan
from gpuplan.scenario import parse_scenario


def median_seconds(fn: Callable[[], object], repeats: int = 20) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
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
        ("plan(llama3-405b, 16,384 H100)", lambda: plan(scenario, catalog)),
        (
            "assess_cluster(100,000 H100, 90 days)",
            lambda: assess_cluster(
                catalog, "h100-sxm", 100_000, 90, grids=("us-average", "france")
            ),
        ),
    ]
    print(f"{'benchmark':45s} {'median':>12s}")
    for name, fn in rows:
        print(f"{name:45s} {median_seconds(fn) * 1e3:9.3f} ms")


if __name__ == "__main__":
    main()
