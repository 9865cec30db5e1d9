"""Layers and MoE layers per physical stage (model/stage_structure.py ``stage_structure``) against
their definition, layer by layer: virtual stage ``chunk x pp + stage`` holds the layers
``stage_layers`` gives it, in order; a layer is MoE by ``is_moe_layer``."""

from __future__ import annotations

import pytest

from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.shapes import is_moe_layer
from gpuplan.model.rules import stage_layers
from gpuplan.model.stage_structure import stage_structure


def by_definition(model: object, pp: int, v: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    total = model.layers + model.mtp_modules  # type: ignore[attr-defined]
    counts = stage_layers(total, pp * v)
    owner = [stage for virtual, n in enumerate(counts) for stage in [virtual % pp] * n]
    layers = tuple(owner.count(stage) for stage in range(pp))
    moe = tuple(
        sum(1 for index, s in enumerate(owner) if s == stage and is_moe_layer(model, index))  # type: ignore[arg-type]
        for stage in range(pp)
    )
    return layers, moe


@pytest.mark.parametrize("model_id", ["llama3-405b", "deepseek-v3", "mixtral-8x7b", "gpt3-175b"])
def test_stage_structure_is_its_definition(catalog: Catalog, model_id: str) -> None:
    model = catalog.model(model_id)
    for pp in (1, 2, 3, 4, 7, 8, 16):
        for v in (1, 2, 3, 8):
            if pp * v <= model.layers + model.mtp_modules:
                assert stage_structure.__wrapped__(model, pp, v) == by_definition(model, pp, v)


def test_llama3_405b_on_16_stages_by_hand(catalog: Catalog) -> None:
    # 126 layers on 16 x 8 one-layer chunks (Dubey et al. 2024 sec. 3.3.2): 128 chunks, the
    # first and the last one empty, so stages 0 and 15 hold 7 layers, the others 8
    layers, moe = stage_structure.__wrapped__(catalog.model("llama3-405b"), 16, 8)
    assert layers == (7,) + (8,) * 14 + (7,) and moe == (0,) * 16
