"""Load on the web planner (issue 15): concurrent clients on ``/api/plan``, p50/p99 latency.

Starts ``gpuplan serve`` on a free loopback port (or uses ``--url``), then ``--clients``
threads post ``--requests`` scenarios in all. The scenarios are distinct but share a few plan
searches (Llama 3 8B on 64..512 H100 with a global batch, varied grid, PUE and GPU price):
what a user moving the form's sliders sends. Prints p50, p99 and max latency and the count of
each status code.

Run: ``python benchmarks/web_load.py [--clients 8] [--requests 200]``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

GRIDS = ["us-average", "france", "world", "eu-average", "china"]
COUNTS = [64, 128, 256, 512]


def body(i: int) -> dict[str, Any]:
    """Distinct scenarios sharing four plan searches (one per GPU count)."""
    return {
        "model": "llama3-8b",
        "hardware": "h100-sxm",
        "gpus": COUNTS[i % len(COUNTS)],
        "training": {"global_batch": 512, "seq_len": 8192, "tokens": 1e12},
        "site": {"grid": GRIDS[(i // 4) % len(GRIDS)], "pue": 1.1 + 0.01 * (i % 37)},
        "prices": {"gpu_usd": 20_000 + 100 * i},
    }


def post(url: str, data: dict[str, Any], timeout_s: float = 120.0) -> tuple[int, float]:
    request = urllib.request.Request(
        url + "/api/plan",
        data=json.dumps(data).encode(),
        headers={"Content-Type": "application/json"},
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read()
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status, time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load(url: str, clients: int, requests: int) -> dict[str, Any]:
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda i: post(url, body(i)), range(requests)))
    wall_s = time.perf_counter() - start
    latencies = [seconds for _, seconds in results]
    return {
        "clients": clients,
        "requests": requests,
        "statuses": dict(Counter(status for status, _ in results)),
        "p50_s": statistics.median(latencies),
        "p99_s": percentile(latencies, 0.99),
        "max_s": max(latencies),
        "requests_per_s": requests / wall_s,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    gpuplan = Path(sys.executable).with_name("gpuplan")
    server = subprocess.Popen([str(gpuplan), "serve", "--port", str(port)], env=os.environ)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/check", timeout=60):
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not start within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running planner (default: start one)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    server = None
    url = args.url
    if url is None:
        port = free_port()
        server = start_server(port)
        url = f"http://127.0.0.1:{port}"
    try:
        print(json.dumps(load(url, args.clients, args.requests), indent=2))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
