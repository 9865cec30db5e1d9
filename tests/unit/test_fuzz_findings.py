"""Inputs a fuzz campaign (issue 15) found answered with a traceback, a silently wrong
number or a misleading message; each is now refused by name or planned correctly."""

from __future__ import annotations

from typing import Any

import pytest

from gpuplan.catalog import Catalog
from gpuplan.errors import ScenarioError
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario

SMALL: dict[str, Any] = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64}


def refused_by_plan(data: dict[str, Any], catalog: Catalog) -> str:
    with pytest.raises(ScenarioError) as caught:
        plan(parse_scenario(data), catalog)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("hardware", "framework", "kernel"),
    [("b200", "llm-foundry-2023", "triton"), ("mi300x", "gpt-neox-2023", "flash1")],
)
def test_an_old_attention_kernel_without_a_rate_on_the_chip_is_refused(
    catalog: Catalog, hardware: str, framework: str, kernel: str
) -> None:
    # was an AssertionError traceback from the kernel model ("no Triton attention rate")
    data = {**SMALL, "hardware": hardware, "framework": framework}
    message = refused_by_plan(data, catalog)
    assert message.startswith(f"framework = '{framework}': its attention kernel '{kernel}'")
    assert hardware in message and "allowed:" in message
