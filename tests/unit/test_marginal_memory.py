"""A plan given in full is refused for memory only on what the model computes: when the
assumed framework overhead alone takes it past the HBM, it is evaluated and marked marginal
(model/step.py, planning/run.py)."""

from __future__ import annotations

from typing import Any

from gpuplan.catalog.loader import Catalog
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario

GIB = 2**30
# Llama 3 405B on Meta's 8,192-GPU layout (Dubey et al. 2024, Table 4), which was trained.
META_8K: dict[str, Any] = {
    "model": "llama3-405b",
    "hardware": "h100-sxm",
    "gpus": 8192,
    "framework": "meta-llama3-2024",
    "cluster": "meta-roce-24k",
    "training": {"tokens": 1e12, "global_batch": 2048, "seq_len": 8192},
    "parallelism": {"tp": 8, "cp": 1, "pp": 16, "dp": 64, "ep": 1, "zero": 2,
                    "recompute": "none", "interleave": 8, "microbatch": 1,
                    "sequence_parallel": True},
}  # fmt: skip


def test_a_plan_over_the_hbm_only_by_the_assumed_overhead_is_marginal(catalog: Catalog) -> None:
    out = plan(parse_scenario(META_8K), catalog).to_dict()
    memory = out["memory"]
    over = memory["per_gpu_bytes"] - memory["capacity_bytes"]
    overhead = memory["breakdown"]["overhead_bytes"]
    assert out["fits"] is True and out["step"]["time_s"] > 0
    assert 0 < over < overhead  # past the HBM, within the assumed overhead
    assert memory["headroom_bytes"] < 0
    notes = [n for n in out["assumptions"] if n.startswith("Memory is marginal")]
    assert len(notes) == 1 and f"{overhead / GIB:.1f} GiB assumed" in notes[0]


def test_a_plan_over_the_hbm_without_the_overhead_is_refused(catalog: Catalog) -> None:
    # TP 2 instead of 8: each GPU holds four times the weights (405e9 x 2 bytes / (2 x 16)
    # = 25 GB) and activations; far past 80 GB whatever the overhead.
    narrow = {**META_8K, "parallelism": {**META_8K["parallelism"], "tp": 2, "dp": 256}}
    out = plan(parse_scenario(narrow), catalog).to_dict()
    assert out["fits"] is False
    assert "too little even without the overhead" in out["infeasible_reason"]


def test_a_plan_that_fits_has_no_marginal_note(catalog: Catalog) -> None:
    fits = {**META_8K, "gpus": 16384, "parallelism": {**META_8K["parallelism"], "dp": 128}}
    out = plan(parse_scenario(fits), catalog).to_dict()
    assert out["memory"]["headroom_bytes"] > 0
    assert not [n for n in out["assumptions"] if n.startswith("Memory is marginal")]


def test_the_plan_text_says_marginal(catalog: Catalog) -> None:
    from rich.console import Console

    from gpuplan.report.terminal import plan_report

    console = Console(width=200, record=True)
    console.print(plan_report(plan(parse_scenario(META_8K), catalog)))
    text = console.export_text()
    assert "79.7 of 79.6 GiB" in text and "MARGINAL" in text
