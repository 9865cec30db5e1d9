"""Published throughputs off the H100, planned with their stack and stated plan."""

from __future__ import annotations

import pytest

from gpuplan.catalog import Catalog
from gpuplan.checks import chip_runs as c
from gpuplan.checks.validation import load_measurements
from gpuplan.report.chip_runs import chip_runs_dict


@pytest.fixture(scope="module")
def rows(catalog: Catalog) -> list[c.ChipRunRow]:
    return c.predict_chip_runs(catalog)


def test_every_run_names_a_row_a_model_and_a_stack(
    rows: list[c.ChipRunRow], catalog: Catalog
) -> None:
    measurements = load_measurements()
    assert [r.run.id for r in rows] == list(c.load_chip_runs())
    for r in rows:
        assert r.run.measurement in measurements
        assert r.run.model in catalog.models
        assert r.run.framework in catalog.frameworks
        assert r.accelerator != "h100-sxm"
    # Every A100/V100/TPU v4 row of the reference data that measurements.yaml cannot
    # validate row by row and whose chip is in the catalog is listed here.
    listed = {r.run.measurement for r in rows}
    for m in measurements.values():
        if m.usable_for_validation or m.hardware in (None, "h100-sxm"):
            continue
        if m.id.startswith(("narayanan2021-t2", "chowdhery2022", "touvron2023")):
            assert m.id in listed or m.id == "chowdhery2022-gopher-280b", m.id


def test_measured_step_times_by_hand(rows: list[c.ChipRunRow]) -> None:
    by_id = {r.run.id: r for r in rows}
    # PaLM: 2048 x 2048 tokens at 38.8 tokens/s/chip on 6,144 chips.
    assert by_id["palm-540b-tpu-v4"].measured_step_s == pytest.approx(2048 * 2048 / (38.8 * 6144))
    # MT-NLG: the published 60.1 s iteration.
    assert by_id["mtnlg-530b-a100"].measured_step_s == 60.1
    # LLaMA-65B: 2048 x 2048 tokens at 380 tokens/s/GPU on 2,048 GPUs.
    assert by_id["llama-65b-a100"].measured_step_s == pytest.approx(2048 * 2048 / (380 * 2048))
    # BloombergGPT: the published 32.5 s step; its 102 TFLOP/s per GPU is the same figure,
    # 8 x 50.6e9 parameters x 2048 x 2048 tokens / 512 GPUs / 32.5 s (6N + the recomputed 2N).
    bbg = by_id["bloomberggpt-50b-a100-40gb"]
    assert bbg.measured_step_s == 32.5
    assert 8 * 50.6e9 * 2048 * 2048 / 512 / bbg.measured_step_s / 1e12 == pytest.approx(
        102, abs=0.1
    )


def test_stated_plan_fields_are_kept(rows: list[c.ChipRunRow]) -> None:
    for r in rows:
        if r.predicted_step_s is None:
            continue
        for key, value in (r.run.parallelism or {}).items():
            if key in ("tp", "pp", "dp"):
                assert f"{key}{value} " in r.plan + " ", (r.run.id, r.plan)


def test_palm_on_its_stack_and_json(rows: list[c.ChipRunRow]) -> None:
    palm = next(r for r in rows if r.run.id == "palm-540b-tpu-v4")
    assert palm.error is not None and abs(palm.error) < 0.10
    data = chip_runs_dict(rows)
    assert len(data["chip_runs"]) == len(rows)
    assert data["chip_runs_median_abs_error"] == c.median_abs_error(rows)


def test_runs_whose_source_names_selene_are_planned_on_it() -> None:
    """RULE CHIP-CLUSTER (docs/model.md): Narayanan et al. 2021 sec. 5 and Smith et al. 2022
    sec. 2 name Selene; the runs whose reports name no cluster keep the reference server."""
    runs, measurements = c.load_chip_runs(), load_measurements()
    on_selene = {
        run_id for run_id, run in runs.items() if run.cluster == "dgx-a100-superpod-selene"
    }
    table_2 = {i for i in runs if i.startswith("narayanan-")}
    assert len(table_2) == 12
    assert on_selene == table_2 | {"mtnlg-530b-a100"}
    for run_id in ("llama-65b-a100", "gpt3-175b-v100", "palm-540b-tpu-v4"):
        assert runs[run_id].cluster is None
    run = runs["narayanan-ptdp-175b-384"]
    assert c.scenario_of(run, measurements[run.measurement])["cluster"] == (
        "dgx-a100-superpod-selene"
    )
