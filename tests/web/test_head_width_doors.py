"""A head wider than the stack's attention kernel runs is a result through every door.

Pythia-1B's heads are 2048 / 8 = 256 wide; FlashAttention 1 (the gpt-neox-2023 profile) runs
heads up to 128 (flash-attn v0.2.2 .. v1.0.9 README). Every door answers ``fits: false`` with
the reason on one line, never a traceback or a usage error.
"""

from __future__ import annotations

import json
import subprocess

from fastapi.testclient import TestClient

from cli_run import run_gpuplan
from gpuplan.catalog import Catalog
from gpuplan.studies.sweep import parse_sweep, run_sweep
from gpuplan.web.app import create_app

FLAGS = ["--model", "pythia-1b", "--hardware", "a100-40gb", "--gpus", "64", "--tokens",
         "3e11", "--framework", "gpt-neox-2023"]  # fmt: skip
SCENARIO = {
    "model": "pythia-1b",
    "hardware": "a100-40gb",
    "gpus": 64,
    "framework": "gpt-neox-2023",
    "training": {"tokens": 3.0e11},
}


def gpuplan(*args: str) -> subprocess.CompletedProcess[str]:
    return run_gpuplan(*args, timeout_s=120)


def assert_the_reason(reason: str) -> None:
    assert "\n" not in reason
    assert "'flash1'" in reason and "up to 128 wide" in reason and "256 wide" in reason
    assert "use framework 'gpt-neox-2022'" in reason


def test_plan_json() -> None:
    out = gpuplan("plan", *FLAGS, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["fits"] is False and data["run"] is None and data["step"]["time_s"] is None
    assert_the_reason(data["infeasible_reason"])


def test_plan_table_says_it_does_not_run() -> None:
    out = gpuplan("plan", *FLAGS)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert "Runs" in out.stdout and "NO" in out.stdout and "'flash1'" in out.stdout


def test_search_json() -> None:
    out = gpuplan("search", *FLAGS, "--json")
    assert out.returncode == 0, out.stderr
    (data,) = json.loads(out.stdout)["results"]
    assert data["fits"] is False
    assert_the_reason(data["infeasible_reason"])


def test_web_api_plan(catalog: Catalog) -> None:
    with TestClient(create_app(catalog), base_url="http://localhost") as client:
        response = client.post("/api/plan", json=SCENARIO)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["fits"] is False
    assert_the_reason(data["infeasible_reason"])


def test_sweep_row() -> None:
    grid = {"base": SCENARIO, "grid": {"framework": ["gpt-neox-2023", "gpt-neox-2022"]}}
    rows = run_sweep(parse_sweep(grid), workers=1).table.to_pylist()
    flash1, unfused = sorted(rows, key=lambda row: row["framework.id"] != "gpt-neox-2023")
    assert flash1["fits"] is False and flash1["step.time_s"] is None
    assert_the_reason(flash1["infeasible_reason"])
    assert unfused["fits"] is True and unfused["infeasible_reason"] is None
