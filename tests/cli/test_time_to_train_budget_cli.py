"""The doors of issue 16's items 1 and 3: search --compare-objectives, the shortest run of a
GPU range, and budget questions in plan (text and JSON)."""

from __future__ import annotations

import json
import subprocess

from cli_run import run_gpuplan


def gpuplan(*args: str) -> subprocess.CompletedProcess[str]:
    return run_gpuplan(*args, timeout_s=300)


def test_compare_objectives_shows_both_plans_and_run_lengths() -> None:
    out = gpuplan("search", "--model", "llama3-405b", "--hardware", "h100-sxm", "--gpus",
                  "16384", "--compare-objectives", "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    (c,) = json.loads(out.stdout)["comparisons"]
    fast, step = c["time_to_train"], c["step_time"]
    assert fast["days"] <= step["days"] and step["step_time_s"] <= fast["step_time_s"]
    assert c["days_saved"] == step["days"] - fast["days"]
    text = gpuplan("search", "--model", "llama3-405b", "--hardware", "h100-sxm", "--gpus",
                   "16384", "--compare-objectives")  # fmt: skip
    assert "for time to train" in text.stdout and "for step time" in text.stdout


def test_a_gpu_range_marks_the_shortest_run() -> None:
    out = gpuplan("search", "--model", "llama3-405b", "--hardware", "h100-sxm", "--gpus",
                  "131072,163840", "--json", "--quiet")  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    days = [r["run"]["days"] for r in data["results"]]
    assert data["shortest_run"]["gpus"] == 131072 and days[0] < days[1]
    assert data["shortest_run"]["note"].startswith("Fewer GPUs finish sooner")


def test_plan_answers_a_dollar_budget() -> None:
    out = gpuplan("plan", "--hardware", "h100-sxm", "--budget-usd", "2e7", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["fits"] and data["run"]["days"] <= 90 + 1e-6
    assert data["cost"]["cloud_usd"] <= 2e7 * (1 + 1e-6)
    assert data["budget"]["asked"]["usd"] == 2e7 and data["budget"]["candidates"]
    assert data["scaling"]["predicted_loss"] > 0 and data["model"]["params"] > 0
    assert data["run"]["tokens"] > 0
