"""Pipeline schedules: the bubble of (interleaved) 1F1B and of DeepSeek's DualPipe, and
DualPipe's folding of two stages onto one GPU. Arrays of plans x stages
(:mod:`gpuplan.model.pipeline`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gpuplan.model import xp

FloatArray = np.ndarray
IntArray = np.ndarray


def dualpipe(values: FloatArray, mean: bool) -> FloatArray:
    """DeepSeek's DualPipe (DeepSeek-V3 report sec. 3.2.1): GPU ``i`` holds stage ``i`` of
    one copy of the model and stage ``p - 1 - i`` of a second, fed from the other end, so it
    runs both stages' work on half the micro-batches each (``mean``) and holds both stages'
    parameters and activations (the sum)."""
    folded = values + np.flip(values, axis=-1)
    return np.asarray(folded / 2 if mean else folded)


def bubble(
    stage_time: FloatArray | list[Any], slowest: IntArray | int, kp: int, kv: Any,
    dual: bool, count: Any = 1.0,
) -> Any:  # fmt: skip
    """The pipeline bubble: ``(sum(t_i) - max(t_i)) / v`` for (interleaved) 1F1B
    (Narayanan et al. 2021 sec. 2.2, generalised to uneven stages). DualPipe's bubble is
    ``(p/2 - 1)(F&B + B - 3W)`` against 1F1B's ``(p - 1)(F + B)`` (DeepSeek-V3 report
    Table 2); with F&B = F + B, a weight-gradient half W = B/2 and B = 2F this is
    ``(p/2 - 1) (2/3) t`` for a stage time ``t = F + B``. A column of ``stage_time`` that
    stands for a class of identical stages counts ``count`` (:class:`Stages`) times. One
    plan's stage times may be a list of numbers (``slowest`` an index, ``count`` a sequence):
    the bubble is then a number, its sum in numpy's order (:func:`gpuplan.model.xp.row_sum`)."""
    if isinstance(stage_time, list):  # one plan's numbers (model/one_plan.py)
        weighted = [t * c for t, c in zip(stage_time, count, strict=True)]
        idle = xp.row_sum(weighted) - stage_time[slowest]
    else:
        flat = np.arange(stage_time.shape[0]) * stage_time.shape[1] + slowest  # (plan, stage)
        idle = xp.row_sum(stage_time * count) - stage_time.take(flat)
    if dual:
        return xp.floats(idle * max(0.0, kp / 2 - 1) / (kp - 1) * 2 / 3)
    if isinstance(idle, float):
        return idle / kv
    return np.asarray(idle / np.reshape(kv, -1))  # kv: a number, or a column per plan


def in_flight_loads(pp: Any, interleave: Any, stage: Any, microbatches: Any) -> Any:
    """Micro-batches' activations stage ``stage`` of ``pp`` holds at its peak, in
    stage-loads (all its layers for one micro-batch), with ``interleave`` chunks per stage:
    the chunks of its warm-up and the one in its forward. Plain 1F1B: ``min(m, p - i)``;
    interleaved: ``min(m v, 2 (p - i - 1) + (v - 1) p + 1) / v`` chunk-loads of ``1 / v``
    of the layers (Megatron-LM core/pipeline_parallel/schedules.py,
    num_warmup_microbatches with microbatch_group_size_per_vp_stage = p, its default; on
    the first stage this is Korthikanti et al. 2022 sec. 4.2.3's ``p + (p - 1) / v``), at
    least one. Numbers, or arrays that broadcast."""
    p, v, i, m = pp, interleave, stage, microbatches
    warmup = xp.where(v > 1, 2 * (p - i - 1) + (v - 1) * p, p - i - 1)
    return xp.maximum(xp.minimum(m * v, warmup + 1) / v, 1.0)
