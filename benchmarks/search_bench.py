"""Speed of the plan search (issue 3): plans evaluated per second on named scenarios.

Target: Llama 3 405B, 8K sequences, 16M-token batches on 16,384 H100 in under 1 s on one
core (median of the runs below). Run by `make bench`.
"""

from __future__ import annotations

import statistics
import time

from gpuplan.catalog import load_catalog
from gpuplan.search.plans import search

CASES = (
    ("llama3-405b", "h100-sxm", 16_384, 2048, 8192),
    ("llama3-405b", "h100-sxm", 100_000, 2048, 8192),
    ("llama3-405b", "h100-sxm", 1_000_000, 16384, 8192),
    ("gpt3-175b", "a100-80gb", 1_024, 1536, 2048),
)


def main(repeats: int = 5) -> None:
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
