"""Bad scenarios and what gpuplan answers: a small valid scenario to spoil one field of, a
video clip to spoil, and the one-line refusal of a scenario that does not parse or plan."""

from __future__ import annotations

from typing import Any

import pytest

from gpuplan.catalog import Catalog
from gpuplan.errors import ScenarioError
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario

SMALL: dict[str, Any] = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64}
VIDEO: dict[str, Any] = {  # Movie Gen's reference clip and VAE (models.yaml)
    "frames": 256,
    "height": 576,
    "width": 1024,
    "vae_temporal": 8,
    "vae_spatial": 8,
    "latent_channels": 16,
    "text_tokens": 868,
    "text_conditioning": "cross-attention",
}


def refused(data: dict[str, Any]) -> str:
    """The one-line message of a scenario that does not parse."""
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data)
    message = str(caught.value)
    assert "\n" not in message
    return message


def refused_by_plan(data: dict[str, Any], catalog: Catalog) -> str:
    """The one-line message of a scenario that parses but cannot be planned."""
    with pytest.raises(ScenarioError) as caught:
        plan(parse_scenario(data), catalog)
    message = str(caught.value)
    assert "\n" not in message
    return message
