"""Which layers each physical pipeline stage holds: the layer counts and MoE layer counts
per stage of a model split into ``pp`` stages of ``v`` virtual stages (chunks) each, as
Megatron's interleaved layouts assign them (:func:`gpuplan.model.rules.stage_layers`)."""

from __future__ import annotations

import functools

from gpuplan.catalog.schema import Model
from gpuplan.catalog.shapes import is_moe_layer
from gpuplan.model.rules import stage_layers


@functools.lru_cache(maxsize=4096)
def stage_structure(model: Model, pp: int, v: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Layers and MoE layers held by each physical stage (virtual stages folded in); the
    multi-token prediction blocks count as the last layers (MoE when the model is), split
    with the others as Megatron's pipeline layouts and DeepSeek's last stage hold them.
    (Each virtual stage's first layer from a running sum, its MoE layers counted from a
    flag per layer, none asked of a dense model: one pass over the layers, not one per
    chunk.)"""
    counts = stage_layers(model.layers + model.mtp_modules, pp * v)
    starts = [0] * len(counts)
    for virtual in range(1, len(counts)):
        starts[virtual] = starts[virtual - 1] + counts[virtual - 1]
    layers, moe = [0] * pp, [0] * pp
    for stage in range(pp):
        for chunk in range(v):
            layers[stage] += counts[chunk * pp + stage]
    if model.moe is None:  # a dense model: no layer is MoE (is_moe_layer)
        return tuple(layers), tuple(moe)
    moe_flags = [int(is_moe_layer(model, index)) for index in range(sum(counts))]
    for stage in range(pp):
        for chunk in range(v):
            first = starts[chunk * pp + stage]
            moe[stage] += sum(moe_flags[first : first + counts[chunk * pp + stage]])
    return tuple(layers), tuple(moe)
