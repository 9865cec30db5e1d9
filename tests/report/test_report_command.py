"""``gpuplan report`` as a user runs it: real processes, real exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from cli_run import run_gpuplan
from gpuplan.report.figures import CHART_IDS

SCENARIO = {
    "model": "llama3-8b",
    "hardware": "h100-sxm",
    "gpus": 64,
    "training": {"global_batch": 256, "seq_len": 8192, "tokens": 1e12},
}


def gpuplan(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_gpuplan(*args, timeout_s=300, cwd=cwd)


def test_report_from_a_scenario_file(tmp_path: Path) -> None:
    scenario = tmp_path / "run.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO))
    out = tmp_path / "out" / "report.html"
    done = gpuplan("report", str(scenario), "--out", str(out), "--no-scaling")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    page = out.read_text("utf-8")
    for chart_id in CHART_IDS:
        assert f'id="{chart_id}"' in page
    assert "llama3-8b on 64 × h100-sxm" in page


def test_report_from_saved_json_matches_the_plan(tmp_path: Path) -> None:
    planned = gpuplan(
        "plan", "--model", "llama3-8b", "--hardware", "h100-sxm", "--gpus", "64",
        "--global-batch", "256", "--tokens", "1e12", "--json",
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    saved = tmp_path / "plan.json"
    saved.write_text(planned.stdout)
    done = gpuplan("report", "--from-json", str(saved), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["charts"] == list(CHART_IDS)
    path = tmp_path / "gpuplan-report.html"  # the default --out, relative to the cwd
    assert summary["path"] == str(path) and summary["bytes"] == path.stat().st_size
    days = json.loads(planned.stdout)["run"]["days"]
    assert f"{days:,.1f} days" in path.read_text("utf-8")


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    bad_scenario = tmp_path / "bad.yaml"
    bad_scenario.write_text(yaml.safe_dump({**SCENARIO, "gpus": -1}))
    not_a_plan = tmp_path / "scenario.json"
    not_a_plan.write_text(json.dumps(SCENARIO))
    for args, words in (
        (["report"], "give a scenario (a YAML file or flags) or --from-json"),
        (["report", str(bad_scenario), "--from-json", str(broken)], "not both"),
        (["report", "--from-json", str(broken)], "not valid JSON"),
        (["report", "--from-json", str(tmp_path / "missing.json")], "cannot read"),
        (["report", "--from-json", str(not_a_plan)], "scenario.json: scenario: required"),
        (["report", str(bad_scenario)], "gpus = -1"),
    ):
        done = gpuplan(*args, "--out", str(tmp_path / "never.html"))
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("gpuplan: error: ")
        assert words in done.stderr, done.stderr
    assert not (tmp_path / "never.html").exists()


def test_serve_help_names_the_local_default() -> None:
    done = gpuplan("serve", "--help")
    assert done.returncode == 0
    assert "127.0.0.1" in done.stdout and "--port" in done.stdout
