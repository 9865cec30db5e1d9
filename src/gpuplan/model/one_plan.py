"""One plan on Python numbers (issue 15): a plan given in full runs the search's formulas,
but numpy's cost per call on a 1-element array (or on the few stage classes of one
pipeline) exceeds the arithmetic, so its values are Python numbers wherever the formulas
take them (:mod:`gpuplan.model.xp`).

:func:`one_plan_stages` gives :func:`gpuplan.model.pipeline.evaluate_stages`'s values of
one plan stage class by stage class, through pipeline's own functions on numbers;
:func:`numbers` turns a 1-plan batch's columns into numbers for the data-parallel
collectives, the optimizer and the rest, and :func:`columns` the result back into
1-element arrays. DualPipe (whose folding pairs stages) keeps the array path.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

import numpy as np

from gpuplan.catalog.schema import Framework, Model
from gpuplan.model.data_parallel import Ranks
from gpuplan.model.kept import by_identity
from gpuplan.model.partial_recompute import recompute_layers_of
from gpuplan.model.per_layer import RECOMPUTE_ORDER
from gpuplan.model.pipeline import (
    HEAVIEST,
    StageInputs,
    Stages,
    _activation_bytes,
    _shards,
    _stage_params,
    _stage_times,
    _state_bytes,
    stage_columns,
)
from gpuplan.model.schedules import bubble
from gpuplan.scenario.plan import ParallelPlan

R = TypeVar("R")
B = TypeVar("B")
T = TypeVar("T")

_ONE = np.zeros(1, dtype=np.int64)
"""The row of the one plan of a :class:`StageInputs` (its ``rows`` of it: numbers)."""


@by_identity(records=1, maxsize=1024)
def stage_classes(
    model: Model, pp: int, v: int, n: int
) -> tuple[tuple[Stages, ...], tuple[float, ...]]:
    """The stage classes of ``pp`` stages with ``v`` chunks each (every stage when the first
    ``n`` >= 0 layers of each chunk recompute), each a :class:`Stages` of Python numbers, and
    their counts (for the bubble): :func:`pipeline._pipeline_stages`' columns as lists
    (:func:`pipeline.stage_columns`), each class the numbers its columns' ``.item()`` give."""
    layers_of, moes, heads, sizes, kept_of = stage_columns(model, pp, v, n >= 0, n)
    kept = [None] * len(heads) if kept_of is None else zip(*kept_of, strict=True)
    return tuple(
        built(Stages, pp=pp, interleave=v, layers=layers, moe_layers=moe,
              dense_layers=layers - moe, index=index, first=index == 0, last=index == pp - 1,
              count=count, kept=held)
        for layers, moe, index, count, held in zip(layers_of, moes, heads, sizes, kept,
                                                   strict=True)
    ), tuple(sizes)  # fmt: skip


def one_plan_stages(
    model: Model, framework: Framework, plans: StageInputs, zero: int
) -> dict[str, Any] | None:
    """:func:`gpuplan.model.pipeline.evaluate_stages` of the one plan of ``plans`` under
    ZeRO stage ``zero``: the values of its slowest stage and the bubble, and the memory of
    its most loaded stage and that stage, as Python numbers; None under DualPipe."""
    if not on_numbers(framework, plans.pp):
        return None
    p = plans if isinstance(plans.pp, int) else plans.rows(_ONE)
    kp: int = p.pp  # type: ignore[assignment]  # (numbers here)
    kv: int = p.interleave  # type: ignore[assignment]
    classes, count = stage_classes(model, kp, kv, int(p.recompute_layers))
    overlap = (framework.tp_comm_overlap, framework.ep_comm_overlap, model.mtp_modules)
    times = [_stage_times(s, p, *overlap) for s in classes]
    stage_time = [t.pop("stage") for t in times]
    slowest = stage_time.index(max(stage_time))  # the first slowest, as np.argmax
    params, states = _class_states(model, framework, classes, p.tp, p.dp, p.cp, p.ep, zero)
    values = times[slowest]  # (a dict of its own: added to, not copied)
    values["bubble"] = bubble(stage_time, slowest, kp, kv, False, count)
    values["dense_params"], values["expert_params"] = params[slowest]
    values["layers"] = classes[slowest].layers
    pairs = zip(classes, states, strict=True)
    memory = [(*state, _activation_bytes(model, s, p)) for s, state in pairs]
    totals = [weights + grads + optimizer + acts for weights, grads, optimizer, acts in memory]
    heaviest = totals.index(max(totals))  # the first most loaded, as np.argmax
    values.update(zip(HEAVIEST, memory[heaviest], strict=True))
    values["memory_stage"] = classes[heaviest].index
    return values


@by_identity(records=3, maxsize=4096)
def _class_states(
    model: Model, framework: Framework, classes: tuple[Stages, ...], tp: int, dp: int,
    cp: int, ep: int, zero: int,
) -> tuple[list[tuple[Any, Any]], list[tuple[Any, Any, Any]]]:  # fmt: skip
    """Per stage class of ``classes`` (:func:`stage_classes`), the dense and expert
    parameters on one GPU and the weights, gradients and optimizer states under ZeRO stage
    ``zero``, through pipeline's own functions (``_stage_params``: ``_params`` of a
    pipeline without DualPipe's folding); kept per model, framework and classes (by
    identity) and all the plan fields they read: plans that differ in micro-batch or
    recompute share them."""
    ranks, fold = Ranks(tp, dp, cp, ep), framework.moe_parallel_folding
    params = [_stage_params(model, s, ranks, fold) for s in classes]  # type: ignore[arg-type]
    states = [_state_bytes(s, zero, *_shards(ranks, *pair, fold), framework)  # type: ignore[arg-type]
              for s, pair in zip(classes, params, strict=True)]  # fmt: skip
    return params, states


def on_numbers(framework: Framework, pp: Any) -> bool:
    """Whether one plan of ``pp`` stages runs its stages on Python numbers
    (:func:`one_plan_stages`): all but DualPipe's, whose folding pairs stages."""
    return framework.pipeline_schedule != "dualpipe" or item(pp) <= 1


def built(cls: type[T], **fields: Any) -> T:
    """``cls(**fields)`` for a frozen dataclass whose ``__post_init__`` (if any) changes
    nothing of these, given every field by name, in order, without its ``__init__`` (which
    sets each field through ``object.__setattr__``: 2 us of a plan's ~100 for a
    StepEstimate; issue 15). ``test_one_plan_floats`` checks that each class built so has
    exactly its fields and equals the one its ``__init__`` builds."""
    made = object.__new__(cls)
    made.__dict__.update(fields)
    return made


def plan_batch(cls: type[B], plan: ParallelPlan) -> B:
    """``plan`` as a batch (``cls``: :class:`gpuplan.model.batch.PlanBatch`) of one plan's
    Python numbers: the columns of ``PlanBatch.from_plans([plan])``, each ``.item()``."""
    return built(
        cls,
        tp=plan.tensor_parallel, pp=plan.pipeline_parallel, dp=plan.data_parallel,
        cp=plan.context_parallel, ep=plan.expert_parallel, microbatch=plan.microbatch,
        interleave=plan.interleave, recompute=RECOMPUTE_ORDER.index(plan.recompute),
        sequence_parallel=plan.sequence_parallel, zero=plan.zero,
        recompute_layers=recompute_layers_of(plan),
    )  # fmt: skip


def batch_numbers(batch: B) -> B:
    """A 1-plan batch with its columns as Python numbers (``.item()``; numbers stay)."""
    if isinstance(batch.tp, int):  # type: ignore[attr-defined]
        return batch
    return replace(batch, **{k: item(v) for k, v in batch.__dict__.items()})  # type: ignore[type-var]


def numbers(batch: Any, crit: dict[str, Any], m: Any, pp_comm: tuple[Any, Any]) -> tuple[Any, ...]:
    """The 1-element arrays of one plan's batch columns, stage values, micro-batches and
    sends as Python numbers (``.item()``; numbers stay: a batch of numbers, whose stages
    ran on numbers, :func:`one_plan_stages`, is returned as it is)."""
    if isinstance(batch.tp, int):
        return batch, crit, m, pp_comm
    return (
        batch_numbers(batch),
        {name: item(values) for name, values in crit.items()},
        item(m),
        (item(pp_comm[0]), item(pp_comm[1])),
    )


def item(value: Any) -> Any:
    """A 1-element array's number (``.item()``); anything else itself."""
    return value.item() if isinstance(value, np.ndarray) else value


def columns(result: R, scalar_fields: tuple[str, ...]) -> R:
    """``result`` (a batch result) with Python numbers (one plan) as 1-element arrays, but
    for its ``scalar_fields``."""
    compute_s = result.compute_s  # type: ignore[attr-defined]
    if isinstance(compute_s, np.ndarray) and compute_s.ndim == 1:
        return result
    values: dict[str, Any] = {
        name: {k: np.array([v]) for k, v in value.items()} if isinstance(value, dict)
        else value if name in scalar_fields else np.array([value])
        for name, value in result.__dict__.items()
    }  # fmt: skip
    return replace(result, **values)  # type: ignore[type-var]
