"""Sweeps: a grid is its cross product, each row's outputs belong to its inputs, infeasible
and invalid points stay as rows, searches are reused, and local processes and a Dask
cluster give the same table as one process."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from distributed import Client, LocalCluster
from typer.testing import CliRunner

from gpuplan.catalog import Catalog, load_catalog
from gpuplan.cli.app import app
from gpuplan.errors import ScenarioError
from gpuplan.studies.sweep import (
    IN_PROCESS_S,
    SweepMode,
    estimated_work_s,
    parse_sweep,
    run_sweep,
)
from gpuplan.studies.sweep_run import groups_of

BASE: dict[str, Any] = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 1024}
GRID: dict[str, Any] = {
    "gpus": [512, 1024],
    "site.grid": ["us-average", "france", "china"],
    "prices.gpu_usd": [20_000, 30_000],
    "site.pue": [1.1, 1.3],
}


def test_a_grid_writes_one_row_per_combination(tmp_path: Path) -> None:
    spec = parse_sweep({"base": BASE, "grid": GRID})
    assert spec.mode is SweepMode.GRID and spec.size == 2 * 3 * 2 * 2
    out = tmp_path / "results.parquet"
    run_sweep(spec, workers=1).write_parquet(out)
    table = pq.read_table(out)
    assert table.num_rows == spec.size
    assert table.column_names[:6] == ["point", *GRID, "error"]
    rows = table.to_pylist()
    combos = [tuple(row[path] for path in GRID) for row in rows]
    assert combos == list(itertools.product(*GRID.values()))  # row-major, last path fastest
    for row in rows:
        assert row["error"] is None
        # The outputs belong to the row's inputs (hand-derived: capex is GPUs x price).
        assert row["cost.gpu_capex_usd"] == pytest.approx(row["gpus"] * row["prices.gpu_usd"])
        assert row["power.pue"] == row["site.pue"]
        assert row["emissions.grid"] == row["site.grid"]
    meta = json.loads(table.schema.metadata[b"gpuplan"])
    assert meta["mode"] == "grid" and meta["inputs"] == list(GRID) and meta["base"] == BASE


def test_infeasible_and_invalid_points_are_rows() -> None:
    complete = {"tp": 8, "pp": 1, "dp": 8, "cp": 1, "ep": 1, "microbatch": 1, "interleave": 1,
                "recompute": "none", "sequence_parallel": True, "zero": 1}  # fmt: skip
    spec = parse_sweep(
        {
            "base": {**BASE, "training": {"global_batch": 64}, "parallelism": complete},
            "grid": {"model": ["llama3-8b", "llama3-405b"], "gpus": [64, 12]},
        }
    )
    rows = run_sweep(spec, workers=1).table.to_pylist()
    by_input = {(row["model"], row["gpus"]): row for row in rows}
    assert by_input["llama3-8b", 64]["fits"] is True
    too_big = by_input["llama3-405b", 64]
    assert too_big["fits"] is False and "GiB per GPU" in too_big["infeasible_reason"]
    assert too_big["error"] is None and too_big["memory.per_gpu_bytes"] > 80e9
    invalid = by_input["llama3-8b", 12]  # 12 GPUs cannot hold tp = 8: a result, not an error
    assert invalid["fits"] is False and invalid["error"] is None
    assert "= 64 exceeds gpus = 12" in invalid["infeasible_reason"]


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ({"base": BASE, "grid": GRID, "extra": 1}, "extra: unknown key"),
        ({"grid": GRID}, "base: required"),
        ({"base": BASE}, "exactly one of grid: or random:"),
        ({"base": BASE, "grid": GRID, "random": {}}, "exactly one of grid: or random:"),
        ({"base": BASE, "grid": {"site.pue": 1.2}}, "grid.site.pue: must be a non-empty list"),
        ({"base": BASE, "grid": {"site.pue": [1.2, 5]}}, "site.pue = 5"),
        ({"base": BASE, "grid": {"site.puee": [1.2]}}, "site.puee"),
        ({"base": {**BASE, "gpus": {"low": 8, "high": 16}}, "grid": GRID}, "needs random:"),
        ({"base": BASE, "random": {"site.pue": 1.2}}, "random.site.pue: must be a range"),
        ({"base": BASE, "random": {"site.pue": {"low": 2, "high": 1}}}, "site.pue.low = 2"),
        ({"base": BASE, "random": {"site.pue": {"low": 1, "high": 2}, "samples": 0}},
         "samples = 0: must be a whole number >= 1"),
        ({"base": BASE, "random": {"site.pue": {"low": 1, "high": 2}}, "seed": 1.5},
         "seed = 1.5"),
    ],
)  # fmt: skip
def test_bad_sweeps_name_the_field(sweep: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_sweep(sweep)
    assert message in str(caught.value)


def test_a_random_sweep_is_reproducible() -> None:
    random = {
        "prices.gpu_usd": {"dist": "lognormal", "p10": 25_000, "p90": 40_000},
        "gpus": {"low": 256, "high": 2048},
        "samples": 40,
        "seed": 3,
    }
    spec = parse_sweep({"base": BASE, "random": random})
    assert spec.mode is SweepMode.RANDOM and spec.size == 40 and spec.seed == 3
    table = run_sweep(spec, workers=1).table
    assert table.num_rows == 40
    gpus = table.column("gpus").to_pylist()
    assert all(isinstance(g, int) and 256 <= g <= 2048 for g in gpus)
    again = run_sweep(parse_sweep({"base": BASE, "random": random}), workers=1).table
    assert table.equals(again)
    reseeded = parse_sweep({"base": BASE, "random": random}, seed=4)
    assert reseeded.values["gpus"] != spec.values["gpus"]


def test_searches_run_once_per_distinct_key(catalog: Catalog) -> None:
    base = {**BASE, "training": {"global_batch": 512}}
    spec = parse_sweep({"base": base, "grid": {"site.pue": [1.1, 1.2, 1.3], "gpus": [512, 1024]}})
    result = run_sweep(spec, workers=1, catalog=catalog)
    assert result.searches == 2  # one per GPU count; PUE does not enter the search
    days = {row["gpus"]: row["run.days"] for row in result.table.to_pylist()}
    assert days[512] > days[1024]


def _grid_with_searches() -> Any:
    base = {**BASE, "training": {"global_batch": 256}}
    grid = {"gpus": [256, 1], "site.grid": ["us-average", "france"], "site.pue": [1.1, 1.4]}
    return parse_sweep({"base": base, "grid": grid})


def test_a_local_dask_cluster_gives_the_same_table() -> None:
    spec = _grid_with_searches()
    local = run_sweep(spec, workers=1)
    with (
        LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        # A catalog of its own gives the cluster run a cold search cache: the searches are
        # made by the priming tasks and shipped with the chunks.
        remote = run_sweep(spec, client=client, catalog=load_catalog(), chunk_size=3)
    assert remote.backend == "dask" and remote.chunks == 3
    assert remote.searches == 2
    assert remote.table.equals(local.table)
    # Llama 3 8B's states alone (~18 bytes per parameter) overflow one 80 GB GPU.
    assert remote.table.column("fits").to_pylist().count(True) == 4


def test_local_processes_give_the_same_table() -> None:
    spec = parse_sweep({"base": BASE, "grid": {"gpus": [256, 512], "site.pue": [1.1, 1.2]}})
    pooled = run_sweep(spec, workers=2, chunk_size=1)
    assert pooled.backend == "processes" and pooled.chunks == 4
    assert pooled.table.equals(run_sweep(spec, workers=1).table)


def test_sweep_command_writes_parquet(tmp_path: Path) -> None:
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(
        "base: {model: llama3-8b, hardware: h100-sxm, gpus: 1024}\n"
        "grid:\n  site.pue: [1.1, 1.2, 1.3]\n  prices.gpu_usd: [25000, 30000]\n"
    )
    out = tmp_path / "out.parquet"
    args = ["sweep", str(sweep_file), "--out", str(out), "--quiet", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["scenarios"] == 6 and summary["errors"] == 0
    assert summary["backend"] == "in-process"  # too small to be worth starting processes
    assert pq.read_table(out).num_rows == 6


def test_a_sweep_below_the_work_workers_win_back_runs_in_this_process() -> None:
    # 10,000 points of one plan at many sites and prices: one search, then columns.
    grid = {"site.pue": [1.0 + 0.01 * i for i in range(100)],
            "prices.gpu_usd": [20_000.0 + 100 * i for i in range(100)]}  # fmt: skip
    spec = parse_sweep({"base": BASE, "grid": grid})
    result = run_sweep(spec)  # no worker count given
    assert result.backend == "in-process" and result.workers == 1
    assert result.scenarios == 10_000 and result.counts()["errors"] == 0
    # Many distinct searches are worth a pool of processes.
    many = parse_sweep({"base": BASE, "grid": {"gpus": list(range(8, 8 * 200, 8))}})
    order = list(range(many.size))
    assert estimated_work_s(many, order, groups_of(many)) > IN_PROCESS_S
    assert estimated_work_s(spec, list(range(spec.size)), groups_of(spec)) < IN_PROCESS_S
