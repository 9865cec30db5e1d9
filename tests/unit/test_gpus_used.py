"""MFU and HFU are per GPU the plan uses, in every output (one definition): when no layout
uses every GPU of a scenario, ``plan`` reports the MFU ``search`` ranks the plan by, and the
idle GPUs are still paid for (GPU-hours count them all)."""

from __future__ import annotations

from typing import Any

import pytest

from gpuplan.catalog.loader import Catalog
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario

# 992 = 2^5 x 31 A100 (OPT-175B's count): 96 layers and 1,024 sequences admit no layout
# over a factor of 31, so the best plan leaves GPUs idle.
IDLE = {
    "model": "gpt3-175b",
    "hardware": "a100-80gb",
    "gpus": 992,
    "training": {"global_batch": 1024, "seq_len": 2048, "tokens": 1.8e11},
}


@pytest.fixture(scope="module")
def answer(catalog: Catalog) -> dict[str, Any]:
    return plan(parse_scenario(IDLE), catalog).to_dict()


def test_the_plan_leaves_gpus_idle_and_says_how_many(answer: dict[str, Any]) -> None:
    p = answer["plan"]
    used = p["tp"] * p["pp"] * p["dp"] * p["cp"]
    assert used < 992
    assert answer["step"]["gpus_used"] == used


def test_mfu_is_over_the_gpus_used_as_search_ranks_it(answer: dict[str, Any]) -> None:
    step, run = answer["step"], answer["run"]
    top = answer["search"]["top"][0]
    assert top["plan"] == {k: answer["plan"][k] for k in top["plan"]}
    assert step["mfu"] == pytest.approx(top["mfu"], rel=1e-12)
    # by hand: model FLOPs per second over (GPUs used x the A100's 312 TFLOP/s BF16 peak)
    flops_per_s = step["tokens_per_s"] * run["flops_per_token"]
    assert step["mfu"] == pytest.approx(flops_per_s / (step["gpus_used"] * 312e12), rel=1e-9)
    assert step["model_tflops_per_gpu"] == pytest.approx(step["mfu"] * 312, rel=1e-9)
    assert step["hfu"] >= step["mfu"]  # recomputed FLOPs on the same GPUs


def test_hfu_is_over_the_gpus_used_too(catalog: Catalog) -> None:
    # metaseq's FSDP stack recomputes every layer (not the output layer): HFU is about
    # MFU x 4/3 over the same GPUs; were HFU over the GPUs used and MFU over all 992 (as
    # before), HFU/MFU would be about 4/3 x 992/512 = 2.6
    answer = plan(parse_scenario({**IDLE, "framework": "fsdp-metaseq-2022"}), catalog)
    step = answer.to_dict()["step"]
    assert step["gpus_used"] < 992
    assert 1.3 < step["hfu"] / step["mfu"] < 1.4


def test_the_idle_gpus_are_paid_for(answer: dict[str, Any]) -> None:
    run = answer["run"]
    assert run["gpu_hours"] == pytest.approx(992 * run["days"] * 24, rel=1e-9)


def test_the_plan_text_says_how_many_gpus_idle(catalog: Catalog) -> None:
    from rich.console import Console

    from gpuplan.report.terminal import plan_report

    console = Console(width=300, record=True)
    console.print(plan_report(plan(parse_scenario(IDLE), catalog)))
    text = " ".join(console.export_text().split())
    assert "of the 992 GPUs (no layout uses all)" in text
