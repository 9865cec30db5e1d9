"""A dense model of a given size, shaped like a published family (catalog model_shapes.yaml).

The rule (stated in the data file, with its source): the width is interpolated between the
family's members linearly in log(width) against log(parameters), the end segments extended
beyond them, and rounded to the family's ``width_multiple``; the FFN width is the width times
the members' FFN ratio (interpolated the same way, held at the end members' ratio beyond
them), rounded up to ``ffn_multiple``; the depth is whatever brings the parameter count (all
parameters, embeddings included, as :func:`gpuplan.catalog.shapes.parameter_count` counts
them) to the size asked for. Head size, KV heads, vocabulary and sequence length are the
family's own.

>>> from gpuplan.catalog import load_catalog
>>> family = load_catalog().shape_family("llama3-dense")
>>> shape = dense_shape(family, 70.55e9, "x")
>>> shape["layers"], shape["hidden"], shape["heads"], shape["ffn_hidden"]
(80, 8192, 64, 28672)
"""

from __future__ import annotations

import math
from typing import Any

from gpuplan import units
from gpuplan.catalog.schema import ShapeFamily
from gpuplan.catalog.shapes import parameter_count
from gpuplan.scenario.schema import InlineModel


def _interpolate(family: ShapeFamily, params: float) -> tuple[float, float]:
    """(width, FFN ratio) at ``params`` along the family's members."""
    points = family.points
    x = math.log(params)
    xs = [math.log(p.params_b * units.GIGA) for p in points]
    i = 0
    while i < len(points) - 2 and x > xs[i + 1]:
        i += 1
    low, high = points[i], points[i + 1]
    t = (x - xs[i]) / (xs[i + 1] - xs[i])
    width = math.exp(math.log(low.hidden) + t * (math.log(high.hidden) - math.log(low.hidden)))
    ratios = (low.ffn_hidden / low.hidden, high.ffn_hidden / high.hidden)
    clamped = min(max(t, 0.0), 1.0)
    return width, ratios[0] + clamped * (ratios[1] - ratios[0])


def inline_model(family: ShapeFamily, name: str, layers: int, hidden: int, ffn: int) -> InlineModel:
    """The family's model with these layers and widths, as a scenario's inline model."""
    return InlineModel(
        name=name,
        layers=layers,
        hidden=hidden,
        heads=hidden // family.head_dim,
        kv_heads=family.kv_heads,
        ffn_hidden=ffn,
        ffn=family.ffn,
        vocab=family.vocab,
        seq_len=family.seq_len,
        position=family.position,
    )


def dense_shape(family: ShapeFamily, params: float, name: str) -> dict[str, Any]:
    """An inline model mapping (a scenario's ``model:``) of about ``params`` parameters."""
    if params <= 0:
        raise ValueError(f"params must be positive, got {params}")
    width, ratio = _interpolate(family, params)
    hidden = max(1, round(width / family.width_multiple)) * family.width_multiple
    ffn = math.ceil(ratio * hidden / family.ffn_multiple) * family.ffn_multiple
    one = parameter_count(inline_model(family, name, 1, hidden, ffn).to_model())
    per_layer = one.total - one.embedding
    layers = max(1, round((params - one.embedding) / per_layer))
    model = inline_model(family, name, layers, hidden, ffn)
    return model.model_dump(mode="json", exclude_none=True)
