"""The HTML report: every chart there with data, plotly.js inline, assumptions and sources.

The figures are read back from the file (the JSON each chart is drawn from), and checked
against the plan's own numbers: parts that sum to the total, the capacity line at the
accelerator's HBM, the scaling curve passing through the plan.
"""

from __future__ import annotations

import html as html_lib
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from gpuplan import parse_scenario, plan
from gpuplan.catalog import Catalog
from gpuplan.errors import ScenarioError
from gpuplan.report import curves
from gpuplan.report import humanize as hz
from gpuplan.report.data import load_plan_file, read_plan
from gpuplan.report.figures import CHART_IDS
from gpuplan.report.html import (
    build_report,
    plotly_js,
    render_report,
    write_seed_report,
)
from gpuplan.studies.seed import headline_cluster, seed_scenarios

SCENARIO = {
    "model": "llama3-8b",
    "hardware": "h100-sxm",
    "gpus": 64,
    "training": {"global_batch": 256, "seq_len": 8192, "tokens": 1e12},
}
GiB = 2**30


@pytest.fixture(scope="module")
def plan_json() -> dict[str, Any]:
    return plan(parse_scenario(SCENARIO)).to_dict()


@pytest.fixture(scope="module")
def page(plan_json: dict[str, Any]) -> str:
    return render_report(build_report(plan_json))


def figures_in(page: str) -> dict[str, Any]:
    found = re.findall(
        r'<script type="application/json" id="(chart-[a-z]+)-data">(.*?)</script>', page, re.S
    )
    return {chart_id: json.loads(text) for chart_id, text in found}


def trace(figure: dict[str, Any], name_start: str) -> dict[str, Any]:
    return next(t for t in figure["data"] if t["name"].startswith(name_start))


def test_every_chart_has_a_div_and_data(page: str) -> None:
    figures = figures_in(page)
    assert set(figures) == set(CHART_IDS)
    for chart_id, figure in figures.items():
        assert page.count(f'<div id="{chart_id}"') == 1, chart_id
        assert figure["data"], chart_id
        values = [
            v
            for t in figure["data"]
            for v in (*t.get("x", []), *t.get("y", []))
            if isinstance(v, int | float)
        ]
        assert values and all(math.isfinite(v) for v in values), chart_id


def test_plotly_is_inline_once_and_nothing_is_fetched(page: str) -> None:
    assert page.count(plotly_js()) == 1
    assert len(plotly_js()) > 1_000_000
    assert not re.search(r"<script[^>]+src=", page)
    assert 'src="http' not in page and "<link" not in page


def test_step_parts_sum_to_the_step_time(page: str, plan_json: dict[str, Any]) -> None:
    figure = figures_in(page)["chart-step"]
    parts = sum(t["x"][0] for t in figure["data"])
    assert parts == pytest.approx(plan_json["step"]["time_s"], rel=1e-9)
    names = {t["name"] for t in figure["data"]}
    assert "compute" in names and any(n.startswith("exposed comm") for n in names)


def test_memory_stack_and_capacity_line(page: str, plan_json: dict[str, Any]) -> None:
    figure = figures_in(page)["chart-memory"]
    bars = [t for t in figure["data"] if t["type"] == "bar"]
    assert sum(t["y"][0] for t in bars) == pytest.approx(
        plan_json["memory"]["per_gpu_bytes"] / GiB, rel=1e-9
    )
    capacity = trace(figure, "HBM capacity")
    assert capacity["y"] == pytest.approx([plan_json["memory"]["capacity_bytes"] / GiB] * 2)


def test_scaling_curve_passes_through_the_plan(page: str, plan_json: dict[str, Any]) -> None:
    figure = figures_in(page)["chart-scaling"]
    days = trace(figure, "days to train")
    assert min(days["x"]) <= 64 // 16 and max(days["x"]) >= 64 * 8
    at_plan = days["y"][days["x"].index(64)]
    assert at_plan == pytest.approx(plan_json["run"]["days"], rel=1e-9)
    # Up to the plan's count, more GPUs train the same tokens sooner.
    below = [d for g, d in zip(days["x"], days["y"], strict=True) if g <= 64]
    assert below == sorted(below, reverse=True)


def test_loss_frontier_and_plan_marker(page: str, plan_json: dict[str, Any]) -> None:
    figure = figures_in(page)["chart-loss"]
    frontier = trace(figure, "compute-optimal frontier")
    assert frontier["x"][0] == pytest.approx(1e20) and frontier["x"][-1] == pytest.approx(1e28)
    assert frontier["y"] == sorted(frontier["y"], reverse=True)
    marker = trace(figure, "this plan")
    assert marker["x"] == [plan_json["run"]["model_flops"]]
    assert marker["y"] == [plan_json["scaling"]["predicted_loss"]]
    # No model trained on this compute beats the compute-optimal one.
    optimal = trace(figure, "compute-optimal at the same compute")["y"][0]
    assert optimal <= plan_json["scaling"]["predicted_loss"] + 1e-12


def test_trend_has_every_run_and_seed_cluster(page: str, catalog: Catalog) -> None:
    figure = figures_in(page)["chart-trend"]
    runs = [t for t in figure["data"] if t["name"].startswith("published")]
    expected = [r for r in catalog.runs.values() if r.training_flops is not None]
    assert sum(len(t["y"]) for t in runs) == len(expected)
    clusters = trace(figure, "seed clusters")
    assert len(clusters["y"]) == len(catalog.seed_clusters)
    by_label = dict(zip(clusters["text"], clusters["y"], strict=True))
    # 100,000 H100 train more in 90 days than 700 of them, but less than in proportion:
    # failures cost a large cluster more of its time.
    ratio = by_label["100,000 H100"] / by_label["700 H100"]
    assert 0.3 * 100_000 / 700 < ratio < 100_000 / 700


def test_assumptions_sources_and_claims_are_listed(page: str, plan_json: dict[str, Any]) -> None:
    text = html_lib.unescape(page)
    for assumption in plan_json["assumptions"]:
        assert assumption in text
    for source in plan_json["sources"]:
        assert source["used_for"] in text and source["source"] in text
    for claim_id in ("C1", "C5", "C10"):
        assert f"<td>{claim_id}</td>" in page
    assert page.count('class="badge v-') >= 10


def test_rerendered_from_json_without_recomputing(
    plan_json: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = tmp_path / "plan.json"
    edited = json.loads(json.dumps(plan_json))
    edited["step"]["compute_s"] = 123.0  # a number the model would never give back
    saved.write_text(json.dumps(edited))

    def no_planning(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the report recomputed the plan")

    monkeypatch.setattr(curves, "plan", no_planning)
    page = render_report(build_report(load_plan_file(saved), with_scaling=False))
    step = figures_in(page)["chart-step"]
    assert trace(step, "compute")["x"] == [123.0]
    assert "no scaling curve" in json.dumps(figures_in(page)["chart-scaling"])


def test_mfu_what_if_plan_still_renders(catalog: Catalog) -> None:
    what_if = {**SCENARIO, "training": {"tokens": 1e12, "mfu": 0.4}}
    result = plan(parse_scenario(what_if)).to_dict()
    assert result["step"]["mfu"] == 0.4 and result["fits"] is True
    page = render_report(build_report(result, catalog))
    figures = figures_in(page)
    days = trace(figures["chart-scaling"], "days to train")
    # At a fixed MFU, time is inversely proportional to GPUs; failures take some of it back.
    speedup, more_gpus = days["y"][0] / days["y"][-1], days["x"][-1] / days["x"][0]
    assert 0.5 * more_gpus < speedup <= more_gpus * (1 + 1e-9)


def test_plan_that_does_not_fit_still_renders() -> None:
    too_few = {"model": "llama3-405b", "hardware": "h100-sxm", "gpus": 8}
    result = plan(parse_scenario({**too_few, "training": {"global_batch": 64}})).to_dict()
    assert result["fits"] is False
    page = render_report(build_report(result, scaling_counts=[8, 16]), inline_plotly=False)
    assert html_lib.escape(result["infeasible_reason"]) in page
    figures = figures_in(page)
    assert set(figures) == set(CHART_IDS)
    scaling = json.dumps(figures["chart-scaling"]["layout"]["annotations"])
    assert "no parallel plan fits anywhere from 8 to 16 GPUs" in scaling


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"fits": True}, "scenario"),
        ([], "plan"),
        ({"scenario": {}, "fits": True, "memory": {}, "model": {"id": "x", "params": 1}}, "memory"),
    ],
)
def test_bad_plan_json_names_the_key(data: Any, field: str) -> None:
    with pytest.raises(ScenarioError, match=field):
        read_plan(data)


def test_seed_report(tmp_path: Path, catalog: Catalog) -> None:
    path = write_seed_report(tmp_path / "seed.html", catalog)
    page = path.read_text("utf-8")
    assert "100,000 × h100-sxm" in page
    figures = figures_in(page)
    assert set(figures) == set(CHART_IDS)
    assert trace(figures["chart-scaling"], "this plan")["x"] == [100_000]
    # The headline cluster's scenario (the seed study's compute-optimal model, 90 days).
    headline = headline_cluster(catalog)
    assert headline.gpus == 100_000
    scenario = seed_scenarios(catalog)[headline.id]
    assert scenario["training"]["days"] == 90
    assert f"inline:{scenario['model']['name']}" in page
    assert "MFU" in page and "modelled" in page


STAGED = {
    "model": "open-sora-2-11b",
    "hardware": "h100-sxm",
    "gpus": 16,
    "training": {"global_batch": 16},
    "stages": [
        {"name": "256px", "clip": {"frames": 33, "height": 256, "width": 256}, "steps": 200},
        {"name": "512px", "clip": {"frames": 33, "height": 512, "width": 512}, "samples": 800,
         "gpus": 32, "global_batch": 32},
    ],
}  # fmt: skip


def test_staged_run_has_a_stage_table_with_its_totals(catalog: Catalog) -> None:
    """A staged run's report lists each stage (GPUs, clip, clips, GPU-hours) and a totals
    row whose GPU-hours are the stages' sum; a single-stage plan has no such table."""
    result = plan(parse_scenario(STAGED), catalog).to_dict()
    page = render_report(build_report(result, catalog, with_scaling=False), inline_plotly=False)
    section = page[page.index('<section id="stages">') :]
    section = section[: section.index("</section>")]
    rows = re.findall(r"<tr>.*?</tr>|<tr class=\"total\">.*?</tr>", section, re.S)
    assert len(rows) == 1 + 2 + 1  # header, two stages, totals
    low, high = rows[1], rows[2]
    assert "256px" in low and ">16<" in low and "33 × 256×256 px" in low
    assert "512px" in high and ">32<" in high and "33 × 512×512 px" in high
    # 33 frames -> 9 latent frames; 512 / 16 = 32 patches a side
    assert "9,216 tokens" in high
    gpu_hours = [stage["run"]["gpu_hours"] for stage in result["stages"]]
    assert result["run"]["gpu_hours"] == pytest.approx(sum(gpu_hours))
    assert hz.number(sum(gpu_hours)) in rows[3]
    assert all(hz.number(h) in row for h, row in zip(gpu_hours, (low, high), strict=True))
    plain = render_report(build_report(plan(parse_scenario(SCENARIO)).to_dict(), catalog,
                                       with_scaling=False), inline_plotly=False)  # fmt: skip
    assert 'id="stages"' not in plain
