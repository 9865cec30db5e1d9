"""Load (issue 15): 8 concurrent clients on /api/plan over loopback, a few seconds.

The 64 scenarios are distinct but share 4 plan searches (Llama 3 8B on 64..512 H100 with a
global batch; grid, PUE and GPU price vary), as a user moving the form's sliders sends them.
No request may get a 5xx, and the p99 latency stays under :data:`P99_BOUND_S`: each search
runs once (the server shares them across scenarios), the rest are cache hits of a few ms.
The bound is loose on purpose: this machine's 2 cores are shared with other jobs, and the
first request of each search pays for it (~0.5 s alone, longer while 8 clients wait).
``benchmarks/web_load.py`` measures p50/p99 without a bound.
"""

from __future__ import annotations

import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from server_helpers import request, running

from gpuplan.catalog.loader import Catalog
from gpuplan.web.app import create_app

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from web_load import body, percentile

CLIENTS = 8
REQUESTS = 64
P99_BOUND_S = 5.0


def test_eight_clients_get_no_5xx_and_a_bounded_p99(catalog: Catalog) -> None:
    with running(create_app(catalog)) as url, ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda i: request(url + "/api/plan", body(i)), range(REQUESTS)))
    statuses = [status for status, *_ in results]
    latencies = [seconds for *_, seconds in results]
    assert statuses == [200] * REQUESTS, statuses
    p99 = percentile(latencies, 0.99)
    print(f"p50 {statistics.median(latencies):.3f} s, p99 {p99:.3f} s")
    assert p99 < P99_BOUND_S
