"""Speed of the reliability Monte Carlo: simulated runs per second (median of several runs).

Cases: Llama 3 405B's 54 days on 16,384 H100 (~450 interruptions a run) and the same
GPU-time on 100,000 GPUs (~620), with the catalog's rates, for both failure laws.
Run: ``python benchmarks/reliability_bench.py [--runs N] [--repeats K]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from gpuplan import units
from gpuplan.reliability import (
    DEFAULT_SEED,
    FailureLaw,
    estimate_reliability_from_catalog,
    simulate_run,
)

PARAMS = 405e9
GPU_SECONDS = 16_384 * 54 * units.DAY_S


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="simulated runs per call")
    parser.add_argument("--repeats", type=int, default=7, help="timed calls; the median counts")
    args = parser.parse_args()
    print(f"seed {DEFAULT_SEED}, {args.runs:,} simulated runs per call, median of {args.repeats}")
    for gpus in (16_384, 100_000):
        estimate = estimate_reliability_from_catalog(PARAMS, gpus, GPU_SECONDS / gpus)
        for law, shape in ((FailureLaw.EXPONENTIAL, 1.0), (FailureLaw.WEIBULL, 0.7)):
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                result = simulate_run(estimate, runs=args.runs, law=law, weibull_shape=shape)
                times.append(time.perf_counter() - start)
            median = statistics.median(times)
            print(
                f"{gpus:>9,} GPUs  {law.value:<11} shape {shape:<3}  "
                f"{result.interruptions.mean:6.0f} interruptions/run  "
                f"{args.runs / median:>10,.0f} runs/s  ({median * 1e3:.0f} ms a call)"
            )


if __name__ == "__main__":
    main()
