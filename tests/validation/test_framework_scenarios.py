"""A published run written as a scenario, with its software stack named, gives the same step
time as ``gpuplan validate`` (issue 13: the CLI always used the 'modern' profile, and
Korthikanti et al. 2022's Table 5 runs came out 15% off through it, 2.8% in validate)."""

from __future__ import annotations

import pytest

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import Measurement
from gpuplan.checks.row_scenarios import row_scenario
from gpuplan.checks.validation import load_measurements, predict_row
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario
from gpuplan.studies.answer import answer


def korthikanti_rows(catalog: Catalog) -> list[Measurement]:
    return [
        m
        for m in load_measurements().values()
        if m.id.startswith("korthikanti") and predict_row(m, catalog) is not None
    ]


def test_korthikanti_rows_as_scenarios_match_validate(catalog: Catalog) -> None:
    rows = korthikanti_rows(catalog)
    assert len(rows) >= 8
    for m in rows:
        predicted = predict_row(m, catalog)
        assert predicted is not None and predicted.predicted_step_s is not None
        through_scenario = answer(row_scenario(m.id, catalog).scenario, catalog=catalog)
        assert through_scenario["framework"]["id"] == "megatron-2022"
        assert through_scenario["step"]["time_s"] == pytest.approx(
            predicted.predicted_step_s, rel=1e-9
        ), m.id


def test_the_default_stack_is_named_and_another_is_chosen(catalog: Catalog) -> None:
    base = {"model": "gpt3-175b", "hardware": "a100-80gb", "gpus": 1024}
    default = plan(parse_scenario(base), catalog).to_dict()
    old = plan(parse_scenario({**base, "framework": "megatron-2022"}), catalog).to_dict()
    assert default["framework"]["id"] == "modern" and old["framework"]["id"] == "megatron-2022"
    assert any("'megatron-2022' framework profile" in a for a in old["assumptions"])
    # The 2021-22 stack (no flash attention, fewer overlaps) is slower on the same GPUs.
    assert old["step"]["mfu"] < default["step"]["mfu"]


def test_packed_sft_rows_as_scenarios_match_validate(catalog: Catalog) -> None:
    # NeMo 24.07's SFT rows (SQuAD packed to 4,096 tokens): training.packed_sample_tokens
    # in a scenario gives validate's step time; without it attention spans all 4,096
    # tokens and the step is slower.
    rows = [m for m in load_measurements().values() if m.packed_sample_tokens is not None]
    assert len(rows) == 3
    for m in rows:
        predicted = predict_row(m, catalog)
        assert predicted is not None and predicted.predicted_step_s is not None
        scenario = row_scenario(m.id, catalog).scenario
        assert scenario["training"]["packed_sample_tokens"] == m.packed_sample_tokens
        packed = answer(scenario, catalog=catalog)["step"]["time_s"]
        del scenario["training"]["packed_sample_tokens"]
        unpacked = answer(scenario, catalog=catalog)["step"]["time_s"]
        assert packed == pytest.approx(predicted.predicted_step_s, rel=1e-9), m.id
        assert packed < unpacked, m.id
