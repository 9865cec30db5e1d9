"""One question, one answer: the same scenario through every door gives the same figures.

Issue 12: MFU had two values (the table 71%, the JSON 35%), ``search`` printed days without
failures and ``plan`` with them, ``search`` took no scenario file, and the report and the web
app could not take the README's scenario. Each door now calls one library function.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gpuplan.catalog import Catalog
from gpuplan.report.html import build_report, report_for_scenario
from gpuplan.studies.sweep import parse_sweep, run_sweep
from gpuplan.web.app import create_app

SCENARIO = (
    "model: llama3-70b\nhardware: h100-sxm\ngpus: 1024\n"
    "training: {tokens: 15.0e12, global_batch: 1024, precision: fp8}\n"
)
KEYS = [
    ("plan", "tp"), ("plan", "pp"), ("plan", "dp"), ("plan", "microbatch"),
    ("step", "time_s"), ("step", "mfu"), ("step", "hfu"), ("step", "mfu_vs_precision_peak"),
    ("run", "days"), ("run", "gpu_hours"), ("run", "goodput"),
    ("cost", "amortized_usd"), ("cost", "cloud_usd"), ("power", "facility_w"),
]  # fmt: skip


def gpuplan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gpuplan", *args], capture_output=True, text=True, check=False
    )


def figures(answer: dict[str, Any]) -> dict[str, Any]:
    return {f"{block}.{key}": answer[block][key] for block, key in KEYS}


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("doors") / "scenario.yaml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def plan_json(scenario_file: Path) -> dict[str, Any]:
    out = gpuplan("plan", str(scenario_file), "--json")
    assert out.returncode == 0, out.stderr
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def test_mfu_has_one_definition(plan_json: dict[str, Any]) -> None:
    step = plan_json["step"]
    # Against the dense BF16 peak (HFU too); no recompute, so MFU = HFU.
    assert step["recompute_s"] == 0 and step["mfu"] == pytest.approx(step["hfu"], rel=1e-9)
    # The FP8 convention divides by the FP8 peak (2x the BF16 peak on an H100).
    assert step["mfu_vs_precision_peak"] == pytest.approx(step["mfu"] / 2, rel=1e-3)


def test_the_terminal_table_prints_the_json_mfu(
    scenario_file: Path, plan_json: dict[str, Any]
) -> None:
    out = gpuplan("plan", str(scenario_file))
    assert f"{plan_json['step']['mfu']:.0%} / {plan_json['step']['hfu']:.0%}" in out.stdout
    assert "MFU of the FP8 peak" in out.stdout


def test_search_takes_the_same_file_and_gives_the_same_figures(
    scenario_file: Path, plan_json: dict[str, Any]
) -> None:
    out = gpuplan("search", str(scenario_file), "--json")
    assert out.returncode == 0, out.stderr
    (result,) = json.loads(out.stdout)["results"]
    assert figures(result) == figures(plan_json)  # days with failures, as plan's


def test_flags_give_the_same_figures_as_the_file(plan_json: dict[str, Any]) -> None:
    out = gpuplan(
        "plan", "--model", "llama3-70b", "--hardware", "h100-sxm", "--gpus", "1024",
        "--tokens", "15e12", "--global-batch", "1024", "--precision", "fp8", "--json",
    )  # fmt: skip
    assert figures(json.loads(out.stdout)) == figures(plan_json)


def test_report_web_and_sweep_give_the_same_figures(
    scenario_file: Path, plan_json: dict[str, Any], catalog: Catalog
) -> None:
    import yaml

    scenario = yaml.safe_load(SCENARIO)
    saved = build_report(plan_json, catalog, with_scaling=False).plan  # report --from-json
    fresh = report_for_scenario(scenario, catalog, with_scaling=False).plan  # report FILE
    for view in (saved, fresh):
        assert view.step.mfu == plan_json["step"]["mfu"]
        assert view.run is not None and view.run.days == plan_json["run"]["days"]
    web = (
        TestClient(create_app(catalog), base_url="http://localhost")
        .post("/api/plan", json=scenario)
        .json()
    )
    assert figures(web) == figures(plan_json)
    sweep = run_sweep(parse_sweep({"base": scenario, "grid": {"gpus": [1024]}}), workers=1)
    (row,) = sweep.table.to_pylist()
    assert {k: row[k] for k in figures(plan_json)} == figures(plan_json)


def test_gpus_lists_ranges_and_counts_are_read_the_same_way() -> None:
    base = ["--model", "llama3-8b", "--hardware", "h100-sxm", "--tokens", "1e11", "--json"]
    listed = json.loads(gpuplan("plan", *base, "--gpus", "8,16,32").stdout)["results"]
    assert [r["scenario"]["gpus"] for r in listed] == [8, 16, 32]  # not 81,632 GPUs
    ranged = json.loads(gpuplan("search", *base, "--gpus", "8..32").stdout)["results"]
    assert [r["scenario"]["gpus"] for r in ranged] == [8, 12, 16, 24, 32]
    single = json.loads(gpuplan("plan", *base, "--gpus", "16").stdout)
    assert single["scenario"]["gpus"] == 16


def test_the_readme_scenario_works_in_every_door(tmp_path: Path, catalog: Catalog) -> None:
    readme = tmp_path / "readme.yaml"
    readme.write_text(
        "model: llama3-405b\nhardware: h100-sxm\ngpus: 16384\n"
        "training: {tokens: 15.6e12, global_batch: 2048, seq_len: 8192}\n"
        "parallelism: {tp: 8, pp: 16}\n"
        "prices: {gpu_usd: {dist: lognormal, p10: 25000, p90: 40000}}\n"
    )
    out = gpuplan("report", str(readme), "--no-scaling", "-o", str(tmp_path / "r.html"))
    assert out.returncode == 0, out.stderr
    assert "at their medians" in (tmp_path / "r.html").read_text()
    import yaml

    web = TestClient(create_app(catalog), base_url="http://localhost").post(
        "/api/plan", json=yaml.safe_load(readme.read_text())
    )
    assert web.status_code == 200, web.text
    assert "cost.gpu_capex_usd" in web.json()["outputs"]  # the spread, as gpuplan plan gives


def test_cli_errors_name_the_flag_file_errors_the_key(tmp_path: Path) -> None:
    bad = gpuplan("plan", "--model", "llama3-8b", "--hardware", "h100-sxm", "--gpus", "8",
                  "--tp", "0")  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.startswith("gpuplan: error: --tp = 0: must be > 0")
    path = tmp_path / "bad.yaml"
    path.write_text("model: llama3-8b\nhardware: h100-sxm\ngpus: 8\nparallelism: {tp: 0}\n")
    bad = gpuplan("plan", str(path))
    assert bad.stderr.startswith("gpuplan: error: parallelism.tp = 0: must be > 0")


def test_mfu_what_if_is_honoured_with_a_batch() -> None:
    # Issue 12: --mfu was silently ignored when a global batch was given.
    base = ["plan", "--model", "llama3-8b", "--hardware", "h100-sxm", "--gpus", "64",
            "--global-batch", "512", "--tokens", "1e12", "--json"]  # fmt: skip
    data = json.loads(gpuplan(*base, "--mfu", "0.3").stdout)
    assert data["step"]["mfu"] == 0.3 and data["fits"] is True
    assert data["step"]["compute_s"] is None  # the breakdown is the model's, not the what-if's
    assert any("given MFU of 30%" in a and "what-if" in a for a in data["assumptions"])
    modelled = json.loads(gpuplan(*base).stdout)
    # Same tokens at 30% instead of the modelled MFU: days scale by the MFU ratio.
    ratio = modelled["step"]["mfu"] / 0.3
    assert data["run"]["compute_days"] == pytest.approx(modelled["run"]["compute_days"] * ratio)


def test_every_command_takes_the_plan_flags(tmp_path: Path) -> None:
    base = ["--model", "llama3-8b", "--hardware", "h100-sxm", "--gpus", "64"]
    fixed = json.loads(gpuplan("plan", *base, "--tp", "2", "--pp", "1", "--json").stdout)
    assert fixed["plan"]["tp"] == 2 and fixed["plan"]["pp"] == 1
    days = json.loads(gpuplan("search", *base, "--days", "10", "--grid", "france", "--json").stdout)
    (result,) = days["results"]
    assert result["run"]["days"] == pytest.approx(10, rel=1e-3)
    assert result["emissions"]["grid"] == "france"
    out = gpuplan(
        "report", *base, "--gpu-usd", "20000", "--no-scaling", "-o", str(tmp_path / "r.html")
    )
    assert out.returncode == 0, out.stderr
    assert "$1.3 million" in (tmp_path / "r.html").read_text()  # 64 x $20,000


def test_an_impossible_fixed_value_names_the_rule_and_the_numbers() -> None:
    # Issue 12: tp = 3 on Llama 3 405B answered "search over 0 plans (pruned: )".
    out = gpuplan("plan", "--model", "llama3-405b", "--hardware", "h100-sxm", "--gpus", "16384",
                  "--tp", "3", "--pp", "200", "--json")  # fmt: skip
    reason = json.loads(out.stdout)["infeasible_reason"]
    assert "parallelism.tp = 3 does not divide heads = 128; valid: 1, 2, 4, 8" in reason
    assert "exceeds layers = 126" in reason  # every broken rule, at once


def test_no_door_points_to_a_design_document_the_project_lacks(catalog: Catalog) -> None:
    schema = TestClient(create_app(catalog), base_url="http://localhost").get("/openapi.json").text
    assert "DESIGN.md" not in schema and "docs/design.md" in schema
    assert (Path(__file__).parents[2] / "docs" / "design.md").exists()
