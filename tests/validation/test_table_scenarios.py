"""Every row of validate's other tables (published runs off the H100 and at scale, video rows,
whole runs), written as a scenario (``gpuplan validate --scenario ID``), gives that table's
number through ``gpuplan plan``: every door gives the same number (issue 13). No row is
refused: the scenario language states each of them (the one batch ramp, PaLM 540B's, as
stages)."""

from __future__ import annotations

from typing import Any

import pytest

from cli_run import run_gpuplan
from gpuplan import units
from gpuplan.catalog import Catalog
from gpuplan.checks.chip_runs import ChipRunRow, predict_chip_runs, predict_scale_runs
from gpuplan.checks.row_scenarios import row_scenario
from gpuplan.checks.table_scenarios import tables_holding
from gpuplan.checks.totals import TotalsRow, predict_totals
from gpuplan.checks.video import VideoRow, predict_video_rows
from gpuplan.errors import ScenarioError
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario

RAMP = "palm-540b"
"""Chowdhery et al. 2022 sec. 5: batch 512, then 1024, then 2048 sequences: three stages."""


def _planned(row_id: str, catalog: Catalog) -> dict[str, Any]:
    return plan(parse_scenario(row_scenario(row_id, catalog).scenario), catalog).to_dict()


@pytest.fixture(scope="module")
def chip_rows(catalog: Catalog) -> list[ChipRunRow]:
    return predict_chip_runs(catalog) + predict_scale_runs(catalog)


@pytest.fixture(scope="module")
def video_rows(catalog: Catalog) -> list[VideoRow]:
    return predict_video_rows(catalog)


@pytest.fixture(scope="module")
def totals_rows(catalog: Catalog) -> list[TotalsRow]:
    return predict_totals(catalog)


def test_every_published_run_gives_its_tables_step_time(
    catalog: Catalog, chip_rows: list[ChipRunRow]
) -> None:
    assert len(chip_rows) >= 21  # 17 off the H100, 4 at scale
    disagree = []
    for row in chip_rows:
        result = _planned(row.run.id, catalog)
        step = result["step"]
        if row.predicted_step_s is None:
            # the table predicts that no plan fits: nor does plan, for the same reason
            assert not result["fits"] and result["infeasible_reason"] in row.plan, row.run.id
            continue
        assert result["fits"], row.run.id
        if step["time_s"] != pytest.approx(row.predicted_step_s, rel=1e-9):
            disagree.append((row.run.id, step["time_s"], row.predicted_step_s))
    assert disagree == []
    assert sum(r.predicted_step_s is not None for r in chip_rows) >= 18


def test_every_video_row_gives_its_tables_throughput(
    catalog: Catalog, video_rows: list[VideoRow]
) -> None:
    assert len(video_rows) >= 19
    disagree = []
    for row in video_rows:
        result = _planned(row.row.id, catalog)
        assert row.predicted is not None and result["step"] is not None, row.row.id
        step = result["step"]
        # what each metric reads (checks/video.py): tokens, model FLOPs, or clips, a clip
        # being the model's sequence
        got = {
            "tok/s/GPU": step["tokens_per_s_per_gpu"],
            "TFLOP/s/GPU": step["model_tflops_per_gpu"],
            "clips/s/GPU": step["tokens_per_s_per_gpu"] / result["model"]["seq_len"],
        }[row.metric]
        if got != pytest.approx(row.predicted, rel=1e-9):
            disagree.append((row.row.id, got, row.predicted))
    assert disagree == []


def test_every_whole_run_gives_its_tables_gpu_hours(
    catalog: Catalog, totals_rows: list[TotalsRow]
) -> None:
    assert len(totals_rows) >= 20
    disagree = []
    for row in totals_rows:
        scenario = row_scenario(row.run.id, catalog).scenario
        run, gpus = plan(parse_scenario(scenario), catalog).to_dict()["run"], scenario["gpus"]
        assert run is not None and row.predicted_gpu_hours is not None, row.run.id
        # GPU-hours with failures; the totals printed from throughput alone are compared
        # with the failure-free compute time (published_basis: throughput), so for those
        # the table's figure is gpus x compute_days
        wall = row.run.published_basis == "wall"
        got = run["gpu_hours"] if wall else gpus * run["compute_days"] * units.DAY_S / 3600
        if got != pytest.approx(row.predicted_gpu_hours, rel=1e-9):
            disagree.append((row.run.id, got, row.predicted_gpu_hours))
        if wall:  # failures included: the wall-clock days are the plan's days
            assert row.predicted_days == pytest.approx(run["days"], rel=1e-9), row.run.id
        else:
            assert run["gpu_hours"] > got, row.run.id  # failures cost something
    assert disagree == []


def test_the_notes_name_the_plan_fields_a_run_leaves_out(catalog: Catalog) -> None:
    # Dubey et al. 2024 Table 4 states Llama 3 405B's whole plan on 8,192 GPUs
    whole = row_scenario("llama3-405b-8k-gpus", catalog)
    assert "parallelism: the run states the whole plan" in whole.notes
    assert whole.scenario["parallelism"]["tp"] == 8
    partial = row_scenario("gpt3-175b-v100", catalog)
    (note,) = [n for n in partial.notes if n.startswith("parallelism:")]
    assert "leaves out" in note and "searched" in note


def test_a_batch_ramp_is_stated_as_stages(catalog: Catalog) -> None:
    row = row_scenario(RAMP, catalog)
    stages = row.scenario["stages"]
    assert [s["global_batch"] for s in stages] == [512, 1024, 2048]
    # 50k steps x 512 sequences, 65k x 1024, the rest at 2048 (780B tokens in all)
    assert stages[0]["samples"] == 50_000 * 512 and stages[1]["samples"] == 65_000 * 1024
    assert sum(s["samples"] for s in stages) * 2048 == pytest.approx(7.8e11, rel=1e-3)
    assert "tokens" not in row.scenario["training"]
    assert row.table == "whole runs (run_totals.yaml)"


def test_an_id_two_tables_share_is_refused_naming_both() -> None:
    tables = {"table A (a.yaml)": {"x": 1, "y": 2}, "table B (b.yaml)": {"x": 3}}
    assert tables_holding("y", tables) == ["table A (a.yaml)"]
    with pytest.raises(ScenarioError) as caught:
        tables_holding("x", tables)
    text = str(caught.value)
    assert "\n" not in text and "table A (a.yaml) and table B (b.yaml)" in text


def test_the_cli_prints_a_video_row(catalog: Catalog) -> None:
    out = run_gpuplan("validate", "--scenario", "nemo-dit7b-8k-tp2", timeout_s=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("# validation row nemo-dit7b-8k-tp2 of the video rows")
