"""`gpuplan demo`, the main job: every seed cluster planned by gpuplan's own performance model
and search (the seed study), the same numbers in the table, the JSON and the HTML report; a
flat MFU only as an explicit, labelled `--mfu` what-if."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest
from typer.testing import CliRunner

from cli_run import run_gpuplan
from gpuplan import parse_scenario, plan
from gpuplan.catalog import Catalog
from gpuplan.cli.app import app
from gpuplan.studies.seed import headline_cluster, plan_seed_clusters, seed_scenarios

REL = 1e-12


def gpuplan(*args: str) -> subprocess.CompletedProcess[str]:
    return run_gpuplan(*args, timeout_s=300)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """`gpuplan demo --json --html FILE`: its JSON and the page it wrote, from one process."""
    page = tmp_path_factory.mktemp("demo") / "seed.html"
    out = gpuplan("demo", "--json", "--html", str(page))
    assert out.returncode == 0, out.stderr
    assert "HTML report:" in out.stderr
    return json.loads(out.stdout), page.read_text("utf-8")


def in_process(*args: str) -> str:
    """The command run in this process (its plans come from this process's seed-study cache)."""
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def what_if() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(in_process("demo", "--mfu", "0.4", "--json"))
    return data


def by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in data["clusters"]}


def figures_in(page: str) -> dict[str, Any]:
    found = re.findall(
        r'<script type="application/json" id="(chart-[a-z]+)-data">(.*?)</script>', page, re.S
    )
    return {chart_id: json.loads(text) for chart_id, text in found}


def test_demo_json_holds_every_cluster_planned(demo_run: tuple[dict[str, Any], str]) -> None:
    data, _ = demo_run
    assert data["days"] == 90 and data["mfu_what_if"] is None
    clusters = by_id(data)
    assert list(clusters) == ["stability-video-700", "veo3-tpu-2000", "veo3-tpu-4000", "xai-100k"]
    for c in clusters.values():
        assert c["fits"] is True and c["mfu_is_what_if"] is False
        # Numbers read from the plan result's one JSON form.
        result = c["result"]
        assert c["mfu"] == result["step"]["mfu"] and 0.2 < c["mfu"] < 0.7
        assert c["model_flops"] == result["run"]["model_flops"]
        assert c["goodput"] == result["run"]["goodput"] and c["days"] == pytest.approx(90)
        assert c["plan"]["tp"] is not None and result["search"]["feasible"] > 0
        assert c["model"]["params"] == result["model"]["params"]
        assert any(a.startswith("Seed study: the model is the compute-optimal") for a in
                   result["assumptions"])  # fmt: skip
        assert any("Model shape: Llama 3" in a for a in result["assumptions"])
        assert any(a.startswith("Global batch (seed study)") for a in result["assumptions"])
    small, big = clusters["stability-video-700"], clusters["xai-100k"]
    assert big["gpu_capex_usd"] == 3.0e9
    # 143x the GPUs, but failures cost the big cluster a third of its time (goodput).
    assert 50 * small["model_flops"] < big["model_flops"] < 143 * small["model_flops"]
    assert big["goodput"] < small["goodput"] <= 1
    # The model and the batch grow with the cluster.
    assert big["model"]["params"] > 5 * small["model"]["params"]
    assert big["global_batch"] > small["global_batch"]
    assert {c["id"] for c in data["claims"]} >= {"C6", "C7", "C8"}


def test_demo_json_and_html_report_agree_on_the_100k_cluster(
    demo_run: tuple[dict[str, Any], str],
) -> None:
    data, page = demo_run
    big = by_id(data)["xai-100k"]
    figures = figures_in(page)
    # The report's plan is the demo's 100,000-H100 plan ...
    marker = [t for t in figures["chart-loss"]["data"] if t["name"].startswith("this plan")]
    loss_marker = marker[0]
    assert loss_marker["x"] == [pytest.approx(big["model_flops"], rel=REL)]
    assert loss_marker["y"] == [pytest.approx(big["predicted_loss"], rel=REL)]
    scaling = next(t for t in figures["chart-scaling"]["data"] if t["name"].startswith("this plan"))
    assert scaling["x"] == [100_000]
    assert loss_marker["name"] == f"this plan: {big['model']['id']}"
    for text in (f"{big['mfu'] * 100:.0f}%", f"{big['goodput'] * 100:.0f}%", "90.0 days"):
        assert text in page
    # ... and the trend chart's clusters are the demo's clusters, number for number.
    trend = figures["chart-trend"]["data"]
    clusters = next(t for t in trend if t["name"].startswith("seed clusters"))
    assert "modelled MFU" in clusters["name"]
    for label, flops, (mfu, params, goodput, days) in zip(
        clusters["text"], clusters["y"], clusters["customdata"], strict=True
    ):
        c = next(c for c in data["clusters"] if c["label"] == label)
        assert flops == pytest.approx(c["model_flops"], rel=REL)
        assert mfu == pytest.approx(c["mfu"], rel=REL)
        assert goodput == pytest.approx(c["goodput"], rel=REL)
        assert days == pytest.approx(c["days"], rel=REL)
        assert params == pytest.approx(c["model"]["params"], rel=REL)


def test_demo_mfu_is_the_plan_of_each_cluster_scenario(
    demo_run: tuple[dict[str, Any], str], catalog: Catalog
) -> None:
    data, _ = demo_run
    clusters = by_id(data)
    for cluster_id, scenario in seed_scenarios(catalog).items():
        alone = plan(parse_scenario(scenario), catalog).to_dict()
        shown = clusters[cluster_id]
        assert shown["mfu"] == pytest.approx(alone["step"]["mfu"], rel=REL), cluster_id
        assert shown["model_flops"] == pytest.approx(alone["run"]["model_flops"], rel=REL)
        assert shown["goodput"] == pytest.approx(alone["run"]["goodput"], rel=REL)
        assert shown["plan"] == alone["plan"]
        assert scenario["training"]["precision"] == "bf16" and "mfu" not in scenario["training"]


def test_demo_text_shows_the_plans(catalog: Catalog) -> None:
    out = in_process("demo", "--days", "90")
    for text in ("700 H100", "100,000 H100", "$3.0 billion", "MW", "homes", "MFU (modelled)",
                 "Parallel plan (searched)", "Goodput", "Predicted loss"):  # fmt: skip
        assert text in out, text
    results = plan_seed_clusters(catalog)
    big = results[headline_cluster(catalog).id].to_dict()
    assert f"{big['step']['mfu'] * 100:.0f}%" in out


def test_mfu_what_if_gives_that_mfu_everywhere_and_says_so(
    what_if: dict[str, Any], catalog: Catalog
) -> None:
    assert what_if["mfu_what_if"] == 0.4
    for c in what_if["clusters"]:
        assert c["mfu"] == 0.4 and c["mfu_is_what_if"] is True
        assert c["result"]["scenario"]["training"]["mfu"] == 0.4
        assert any("given MFU of 40%" in a and "what-if" in a for a in c["result"]["assumptions"])
    # 100,000 H100 at 40% of 989.4 TFLOP/s for 90 days, times the goodput: 3.08e26 x goodput.
    # Goodput by hand (Daly 2006): M = 16,384 x 54 x 24 / 419 GPU-h / 100,000 = 1,824 s, a
    # restart R = 600 + 0.003 x 100,000 = 900 s (+ a few s of reading), so about 0.55-0.58.
    big = by_id(what_if)["xai-100k"]
    goodput = big["result"]["run"]["goodput"]
    assert 0.5 < goodput < 0.6
    assert big["model_flops"] == pytest.approx(1e5 * 989.4e12 * 0.4 * 90 * 86400 * goodput)
    text = in_process("demo", "--mfu", "0.4")
    assert "MFU (what-if, --mfu)" in text and "flat 40% MFU (what-if)" in text
    assert "Warning" not in text  # 40% is below every precision's best validated MFU


def test_a_what_if_above_every_measured_mfu_is_warned_in_the_demo_table() -> None:
    # the plans' assumptions warned, the table (the demo's answer) did not
    text = " ".join(in_process("demo", "--mfu", "0.9").split())
    assert "• Warning: training.mfu = 0.9 is above the highest MFU measured" in text
    assert text.count("Warning: training.mfu") == 1  # once, not once per cluster


@pytest.mark.parametrize("value", ["0", "1.5"])
def test_mfu_out_of_range_is_a_usage_error(value: str) -> None:
    out = gpuplan("demo", "--mfu", value)
    assert out.returncode == 2
    assert out.stderr.startswith("gpuplan: error: --mfu")
