"""Every row ``gpuplan validate`` predicts, written as a scenario (``gpuplan validate
--scenario ROW_ID``), gives validate's step time through ``gpuplan plan``: every door gives
the same number (issue 13: a user who describes a real run must be able to reproduce it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cli_run import run_gpuplan
from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import Measurement
from gpuplan.checks.moe_validation import load_moe_measurements, predict_moe_row
from gpuplan.checks.row_scenarios import row_scenario
from gpuplan.checks.validation import ValidationRow, load_measurements, predict_row
from gpuplan.errors import ScenarioError
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario

SEARCHED_ROW = "megascale2024-175b-megatron-256gpu"
"""MegaScale (Jiang et al. 2024) sec. 6.1: TP 8, PP 8, DP 4 (256 / 64) and interleave 6, the
micro-batch, recompute and sequence parallelism not: validate searches them."""

STATED_ROW = "korthikanti2022-22b-selective"
"""Korthikanti et al. 2022 Table 5: the whole plan published."""


@pytest.fixture(scope="module")
def predicted(catalog: Catalog) -> list[tuple[Measurement, ValidationRow]]:
    """Validate's rows, each with its measurement (computed once for the module)."""
    return [(m, row) for m in load_measurements().values() if (row := predict_row(m, catalog))]


def test_every_row_as_a_scenario_gives_validates_step_time(
    catalog: Catalog, predicted: list[tuple[Measurement, ValidationRow]]
) -> None:
    held_out = [m.id for m, _ in predicted if not m.id.startswith("korthikanti")]
    assert len(held_out) >= 100 and len(predicted) - len(held_out) >= 9
    disagree = []
    for m, row in predicted:
        scenario = row_scenario(m.id, catalog).scenario
        # The measured-on clusters have their accelerators' reference rates at these sizes,
        # so the step time alone would not miss one: the cluster is checked by name.
        cluster = catalog.cluster_measured_on(m.id)
        assert scenario.get("cluster") == (cluster.id if cluster else None), m.id
        result = plan(parse_scenario(scenario), catalog)
        # a complete parallelism block: the plan is evaluated as validate evaluated it
        assert any(a.startswith("Parallel plan as given") for a in result.assumptions), m.id
        if row.predicted_step_s is None:
            assert result.step is None, m.id  # validate says infeasible: so does plan
            continue
        assert result.step is not None, (m.id, result.infeasible)
        if result.step.time_s != pytest.approx(row.predicted_step_s, rel=1e-9):
            disagree.append((m.id, result.step.time_s, row.predicted_step_s))
    assert disagree == []


def test_every_moe_row_as_a_scenario_is_the_one_validate_plans(catalog: Catalog) -> None:
    # MoE rows go through the plan door in validate already (checks/moe_validation.py):
    # the printed scenario is that one, so planning it gives the MoE table's step time.
    rows = [(m, r) for m in load_moe_measurements().values()
            if (r := predict_moe_row(m, catalog)) is not None]  # fmt: skip
    assert len(rows) >= 10
    for m, row in rows:
        result = plan(parse_scenario(row_scenario(m.id, catalog).scenario), catalog)
        assert result.step is not None and row.predicted_step_s is not None, m.id
        assert result.step.time_s == pytest.approx(row.predicted_step_s, rel=1e-9), m.id


def test_notes_name_what_the_source_did_not_state(catalog: Catalog) -> None:
    searched = row_scenario(SEARCHED_ROW, catalog)
    fields = {n.split(":")[0] for n in searched.notes if n.startswith("parallelism.")}
    assert {"parallelism.microbatch", "parallelism.recompute"} <= fields
    assert "parallelism.sequence_parallel" in fields and "parallelism.tp" not in fields
    assert all("searched" in n for n in searched.notes if "microbatch" in n)
    block = searched.scenario["parallelism"]
    assert (block["tp"], block["pp"], block["dp"], block["interleave"]) == (8, 8, 4, 6)
    # the run's cluster, where validate uses one
    assert searched.scenario["cluster"] == "bytedance-megascale-ampere"
    stated = row_scenario(STATED_ROW, catalog)
    assert not [n for n in stated.notes if n.startswith("parallelism.")]
    assert stated.scenario["model"] == "megatron-22b"  # a catalog model, by its id


@pytest.mark.parametrize(
    ("row_id", "message"),
    [
        ("korthikanti2022", "did you mean korthikanti2022-"),
        ("no-such-row-at-all", "no such row in any table"),
        ("megatronbridge-2509-llama3-70b-gb200-64-fp8cs", "usable_for_validation: false"),
        ("moezoo2025-qwen3-235b-a2a-pp32", "usable_for_validation: false"),
    ],
)
def test_an_unknown_or_unusable_row_is_one_line(
    catalog: Catalog, row_id: str, message: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        row_scenario(row_id, catalog)
    text = str(caught.value)
    assert "\n" not in text and row_id in text and message in text


def test_the_cli_scenario_runs_through_plan(catalog: Catalog, tmp_path: Path) -> None:
    row = predict_row(load_measurements()[SEARCHED_ROW], catalog)
    assert row is not None and row.predicted_step_s is not None
    out = run_gpuplan("validate", "--scenario", SEARCHED_ROW, timeout_s=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("# validation row") and "# parallelism.microbatch" in out.stdout
    saved = tmp_path / "row.yaml"
    saved.write_text(out.stdout)
    planned = run_gpuplan("plan", str(saved), "--json", timeout_s=120)
    assert planned.returncode == 0, planned.stderr
    step = json.loads(planned.stdout)["step"]["time_s"]
    assert step == pytest.approx(row.predicted_step_s, rel=1e-9)
    as_json = run_gpuplan("validate", "--scenario", SEARCHED_ROW, "--json", timeout_s=120)
    assert json.loads(as_json.stdout) == yaml.safe_load(out.stdout)
    assert "note: parallelism.microbatch" in as_json.stderr
    bad = run_gpuplan("validate", "--scenario", "korthikanti2022", timeout_s=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "did you mean" in bad.stderr
