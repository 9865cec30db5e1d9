"""Many plans' pipeline stages in one pass over all plans, whatever their pipeline shape.

:func:`gpuplan.model.pipeline.evaluate_stages` works one pipeline shape (stages,
interleave) at a time; a search has a few dozen shapes among tens of thousands of plans, and
most of the time of a shape goes to numpy's per-call overhead. Here the stage classes of
every shape are laid side by side instead, padded to the widest shape with empty stages (no
layers, neither first nor last, counted zero times: no parameters, no activations and no
kernels, so never the most loaded stage, never the slowest, and nothing in the bubble's
sum), and every plan is evaluated at once with pipeline's own functions: the same values.
DualPipe's folded stages keep the per-shape path.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from gpuplan.catalog.schema import Framework, Model
from gpuplan.model.distinct import distinct_rows
from gpuplan.model.pipeline import (
    HEAVIEST,
    StageInputs,
    Stages,
    _activation_bytes,
    _heaviest_stage,
    _params,
    _pipeline_stages,
    _shards,
    _slowest_stage,
    evaluate_stages,
)

IntArray = np.ndarray


def padded_stages(model: Model, shapes: list[list[int]], shape_of: IntArray) -> Stages:
    """The stage classes of each row's pipeline shape (``shapes[shape_of[row]]``, as
    (stages, interleave)), as rows x classes arrays padded with empty stages; the stages and
    the interleave as columns."""
    built = [_pipeline_stages(model, kp, kv) for kp, kv in shapes]
    width = max(stages.layers.shape[1] for stages in built)

    def table(field: str, pad: float) -> np.ndarray:
        rows = [[*getattr(stages, field)[0].tolist(), *[pad] * (width - stages.layers.shape[1])]
                for stages in built]  # fmt: skip
        return np.asarray(np.asarray(rows)[shape_of])

    layers, moe_layers = table("layers", 0.0), table("moe_layers", 0.0)
    pp = np.asarray([kp for kp, _ in shapes])[shape_of, None]
    return Stages(
        pp=cast(int, pp),  # a column: the functions of evaluate_stages broadcast it
        interleave=cast(int, np.asarray([kv for _, kv in shapes])[shape_of, None]),
        layers=layers,
        moe_layers=moe_layers,
        dense_layers=layers - moe_layers,
        index=np.minimum(table("index", -1).astype(np.int64), pp - 1) % pp,
        first=table("first", False).astype(bool),
        last=table("last", False).astype(bool),
        count=table("count", 0.0),
    )


def heaviest_stages(
    model: Model, framework: Framework, plans: StageInputs, zero: IntArray, back: IntArray
) -> dict[str, np.ndarray]:
    """The memory values of :func:`gpuplan.model.pipeline.evaluate_stages` (the
    :data:`~gpuplan.model.pipeline.HEAVIEST` bytes of each plan's most loaded stage, and
    that stage), the same values, without the stage times (``plans`` need no layer costs)."""
    padded = _padded(model, framework, plans)
    if padded is None:
        return evaluate_stages(model, framework, plans, zero, back, times=False)[1]
    s, p = padded
    dense_params, expert_params = _params(model, framework, s, p, False)
    activations = np.broadcast_to(_activation_bytes(model, s, p), dense_params.shape)
    params = _shards(p, dense_params, expert_params, framework.moe_parallel_folding)
    heaviest = {name: np.zeros(back.size) for name in HEAVIEST}
    heaviest["memory_stage"] = np.zeros(back.size, dtype=np.int64)
    _heaviest_stage(s, zero, params, activations, framework, heaviest,
                    np.arange(back.size), back)  # fmt: skip
    return heaviest


def slowest_stages(model: Model, framework: Framework, plans: StageInputs) -> dict[str, np.ndarray]:
    """The slowest-stage values of :func:`gpuplan.model.pipeline.evaluate_stages` (its
    :data:`~gpuplan.model.pipeline.SLOWEST` values and the bubble), the same values, without
    the memory."""
    padded = _padded(model, framework, plans)
    if padded is None:
        every = np.arange(len(plans.tp))
        return evaluate_stages(model, framework, plans, every, every, memory=False)[0]
    return _slowest_stage(model, framework, *padded, False)[0]


def _padded(
    model: Model, framework: Framework, plans: StageInputs
) -> tuple[Stages, StageInputs] | None:
    """Every plan's stages (:func:`padded_stages`) and the plans as columns; None under
    DualPipe with more than one stage (its stages are folded per shape) or with a partial
    recompute (its stages differ by the layers that recompute)."""
    unique, shape_of = distinct_rows(np.stack([plans.pp, plans.interleave], axis=1))
    if framework.pipeline_schedule == "dualpipe" and bool((unique[:, 0] > 1).any()):
        return None
    if bool((plans.recompute_layers >= 0).any()):
        return None
    return padded_stages(model, unique.tolist(), shape_of), plans.rows()
