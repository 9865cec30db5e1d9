"""Memory and step time of many parallel plans at once, with numpy.

The one implementation of plan assembly: :func:`gpuplan.model.step.estimate_step` calls
it with one plan, the search with thousands. Per-layer costs (TP, CP, micro-batch,
recompute, sequence parallelism, EP) are computed once per distinct combination with the
scalar kernel model and broadcast; the per-stage sums (time, bubble, parameters, memory)
by pipeline shape (:mod:`gpuplan.model.pipeline`), the data-parallel and ZeRO
communication and the optimizer are array arithmetic over plans.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gpuplan.catalog.schema import Accelerator, Framework, Model
from gpuplan.model import xp
from gpuplan.model.collectives import Network
from gpuplan.model.data_parallel import (
    accumulation_time,
    data_parallel_times,
    dp_collectives,
    optimizer_time,
)
from gpuplan.model.flops import step_flops
from gpuplan.model.kernels import Device
from gpuplan.model.one_plan import (
    batch_numbers,
    built,
    columns,
    item,
    numbers,
    on_numbers,
    one_plan_stages,
)
from gpuplan.model.padded_stages import heaviest_stages, slowest_stages
from gpuplan.model.partial_recompute import (
    ALL_LAYERS,
    recompute_layers_column,
    recomputed_share,
)
from gpuplan.model.per_layer import RECOMPUTE_ORDER as RECOMPUTE_ORDER  # re-exported
from gpuplan.model.per_layer import layer_activations, per_layer
from gpuplan.model.pipeline import StageInputs, distinct_first, evaluate_stages
from gpuplan.model.pipeline_io import logit_times, stage_sends
from gpuplan.model.stragglers import plan_straggler_times
from gpuplan.scenario.plan import ParallelPlan, Recompute

AXES = ("tp", "cp", "ep", "pp", "dp")

IntArray = np.ndarray
FloatArray = np.ndarray


@dataclass(frozen=True)
class PlanBatch:
    """Parallel plans as columns of equal-length integer arrays (one plan's columns may be
    Python numbers: :mod:`gpuplan.model.one_plan`)."""

    tp: IntArray
    pp: IntArray
    dp: IntArray
    cp: IntArray
    ep: IntArray
    microbatch: IntArray
    interleave: IntArray
    recompute: IntArray
    """Index into RECOMPUTE_ORDER."""
    sequence_parallel: np.ndarray
    zero: IntArray
    recompute_layers: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    """With a full recompute, the layers of each chunk that recompute (-1: every layer)."""

    def __post_init__(self) -> None:
        if isinstance(self.tp, int) and isinstance(self.recompute_layers, int):
            return  # one plan's numbers (model/one_plan.py plan_batch): given
        if np.shape(self.recompute_layers) != np.shape(self.tp):
            object.__setattr__(self, "recompute_layers", np.full_like(self.tp, ALL_LAYERS))

    def __len__(self) -> int:
        return 1 if isinstance(self.tp, int) else int(np.size(self.tp))

    @classmethod
    def from_plans(cls, plans: list[ParallelPlan]) -> PlanBatch:
        table = np.array(  # one array, a row per field (each row a column of plans)
            [(p.tensor_parallel, p.pipeline_parallel, p.data_parallel, p.context_parallel,
              p.expert_parallel, p.microbatch, p.interleave, RECOMPUTE_ORDER.index(p.recompute),
              p.zero) for p in plans],
            dtype=np.int64,
        ).reshape(-1, 9).T.copy()  # fmt: skip
        tp, pp, dp, cp, ep, microbatch, interleave, recompute, zero = table
        return cls(
            tp=tp,
            pp=pp,
            dp=dp,
            cp=cp,
            ep=ep,
            microbatch=microbatch,
            interleave=interleave,
            recompute=recompute,
            sequence_parallel=np.asarray([p.sequence_parallel for p in plans], dtype=bool),
            zero=zero,
            recompute_layers=recompute_layers_column(plans),
        )

    def plan(self, index: int) -> ParallelPlan:
        return ParallelPlan(
            tensor_parallel=int(self.tp[index]),
            pipeline_parallel=int(self.pp[index]),
            data_parallel=int(self.dp[index]),
            context_parallel=int(self.cp[index]),
            expert_parallel=int(self.ep[index]),
            microbatch=int(self.microbatch[index]),
            interleave=int(self.interleave[index]),
            recompute=RECOMPUTE_ORDER[int(self.recompute[index])],
            sequence_parallel=bool(self.sequence_parallel[index]),
            zero=int(self.zero[index]),
            recompute_layers=None if (n := int(self.recompute_layers[index])) < 0 else n,
        )

    def take(self, mask: np.ndarray | slice) -> PlanBatch:
        """The plans where ``mask`` is true (or at the given indices, or in a slice: views)."""
        return PlanBatch(**{k: v[mask] for k, v in self.__dict__.items()})


@dataclass(frozen=True)
class BatchResult:
    """Per-plan arrays: memory of the most loaded GPU and the parts of the step time."""

    weights_bytes: FloatArray
    grads_bytes: FloatArray
    optimizer_bytes: FloatArray
    activations_bytes: FloatArray
    overhead_bytes: float
    memory_stage: IntArray
    compute_s: FloatArray
    recompute_s: FloatArray
    exposed_s: dict[str, FloatArray]
    on_link_s: dict[str, FloatArray]
    bubble_s: FloatArray
    optimizer_s: FloatArray
    overlap_slowdown_s: FloatArray
    tokens_per_step: float
    model_flops_per_step: float
    hardware_flops_per_step: FloatArray
    capacity_bytes: float
    straggler_s: FloatArray  # waiting for the slowest GPU (model/stragglers.py)

    @property
    def memory_bytes(self) -> FloatArray:
        return np.asarray(
            self.weights_bytes
            + self.grads_bytes
            + self.optimizer_bytes
            + self.activations_bytes
            + self.overhead_bytes
        )

    @property
    def fits(self) -> np.ndarray:
        return np.asarray(self.memory_bytes <= self.capacity_bytes)

    @property
    def time_s(self) -> FloatArray:
        total = (
            self.compute_s + self.recompute_s + self.bubble_s + self.optimizer_s
            + self.overlap_slowdown_s + self.straggler_s
        )  # fmt: skip
        for axis in AXES:
            total = total + self.exposed_s[axis]
        return np.asarray(total)


def _stage_inputs(
    model: Model, batch: PlanBatch, seq_len: int, dev: Device, framework: Framework,
    network: Network, *, microbatches: IntArray, tokens: FloatArray, pp_exposed: FloatArray,
    costs: bool = True,
) -> StageInputs:  # fmt: skip
    """What :func:`gpuplan.model.pipeline.evaluate_stages` sums per stage: the layout of each
    plan and the per-micro-batch costs and activations of its layers and logits (without
    ``costs``: the activations alone, the layer costs and logits left out)."""
    columns = [batch.tp, batch.cp, batch.microbatch, batch.recompute, batch.sequence_parallel,
               batch.ep]  # fmt: skip
    one = isinstance(batch.tp, int)  # one plan's Python numbers (model/one_plan.py): a tuple
    keys: Any = (
        tuple(map(int, columns)) if one else np.stack(columns, axis=1).astype(int, copy=False)
    )
    context = (seq_len, dev, framework, network)
    if costs:
        dense, moe, activations = per_layer(model, keys, *context)
        logits = logit_times(model, batch.tp, batch.cp, batch.microbatch, seq_len, dev, framework)
    else:
        dense, moe = {}, {}
        activations = layer_activations(model, keys, *context)
        logits = xp.zeros_like(batch.tp)
    kept = (dense, moe, activations[0], activations[1])
    if xp.any_(batch.recompute_layers >= 0):  # the layers that keep theirs: no recompute
        if one:
            keys = (*keys[:3], RECOMPUTE_ORDER.index(Recompute.NONE), *keys[4:])
        else:
            keys[batch.recompute_layers >= 0, 3] = RECOMPUTE_ORDER.index(Recompute.NONE)
        if costs:
            plain_dense, plain_moe, acts = per_layer(model, keys, *context)
        else:
            plain_dense, plain_moe, acts = {}, {}, layer_activations(model, keys, *context)
        kept = (plain_dense, plain_moe, acts[0], acts[1])
    return built(
        StageInputs,
        tp=batch.tp,
        pp=batch.pp,
        dp=batch.dp,
        cp=batch.cp,
        ep=batch.ep,
        interleave=batch.interleave,
        microbatches=microbatches,
        tokens=tokens,
        full_recompute=batch.recompute == RECOMPUTE_ORDER.index(Recompute.FULL),
        recompute_layers=batch.recompute_layers,
        dense=dense,
        moe=moe,
        act_dense=activations[0],
        act_moe=activations[1],
        act_transient=activations[2],
        kept=kept,
        logits=logits,
        pp_exposed=pp_exposed,
    )


def _axis_times(
    crit: dict[str, np.ndarray], microbatches: IntArray, pp_comm: tuple[FloatArray, FloatArray],
    dp_comm: tuple[FloatArray, FloatArray],
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:  # fmt: skip
    """Per plan and step, the communication the step waits for and that on the link, per
    axis of :data:`AXES`; ``pp_comm`` (per micro-batch) and ``dp_comm`` (per step) are
    (on the link, exposed) pairs."""
    m, pp, dp = microbatches, pp_comm, dp_comm
    exposed = {
        "tp": m * crit["exposed_tp"],
        "cp": m * crit["exposed_cp"],
        "ep": m * crit["exposed_ep"],
        "pp": m * pp[1],
        "dp": dp[1],
    }
    on_link = exposed | {
        "tp": m * crit["link_tp"],
        "cp": m * crit["link_cp"],
        "ep": m * crit["link_ep"],
        "pp": m * pp[0],
        "dp": dp[0],
    }
    return exposed, on_link


def _overlap_slowdown(
    exposed_s: dict[str, FloatArray], on_link_s: dict[str, FloatArray], dev: Device
) -> FloatArray:
    """Communication hidden under compute is not free: the collectives' kernels take SMs
    and HBM bandwidth, so the compute beside them runs 1 + s times slower (systems.yaml:
    overlap_compute_slowdown). Compute worth H / (1 + s) gets done during a hidden window
    of H seconds, which costs H s / (1 + s) extra."""
    hidden_s = sum([on_link_s[axis] - exposed_s[axis] for axis in AXES])  # (a list: one call)
    return xp.floats(hidden_s * dev.overlap_slowdown / (1 + dev.overlap_slowdown))  # type: ignore[no-any-return]


def _zero_groups(batch: PlanBatch) -> tuple[PlanBatch, IntArray]:
    """One plan per group of plans that differ in ZeRO stage only, and each plan's group."""
    if len(batch) == 1:  # one plan (estimate_step): itself
        return batch, np.zeros(1, dtype=np.int64)
    first, back = distinct_first(  # the columns in the search's order: no sort (distinct.py)
        [batch.tp, batch.cp, batch.pp, batch.dp, batch.ep, batch.microbatch, batch.interleave,
         batch.recompute, batch.sequence_parallel, batch.recompute_layers + 1]
    )  # fmt: skip
    return batch.take(first), back


def regathering(batch: PlanBatch) -> PlanBatch:
    """``batch`` as the ZeRO-3 regather on recompute sees it (frameworks.yaml): a partial
    recompute of no layer recomputes nothing; of some, it is counted as a full one."""
    none = (batch.recompute_layers == 0) & (
        batch.recompute == RECOMPUTE_ORDER.index(Recompute.FULL)
    )
    plain = xp.where(none, RECOMPUTE_ORDER.index(Recompute.NONE), batch.recompute)
    return replace(batch, recompute=plain) if xp.any_(none) else batch


def _flops(model: Model, batch: PlanBatch, seq_len: int, tokens: float) -> tuple[float, FloatArray]:
    """The model FLOPs of a step of ``tokens`` and, per plan, its hardware FLOPs: the model
    FLOPs and the forward recomputed, by the plans' recompute, of the layers that recompute
    (all but under a partial recompute); one forward count serves both."""
    model_flops, modes = step_flops(model, seq_len, tokens, RECOMPUTE_ORDER)
    per_mode: Any = modes if isinstance(batch.recompute, int) else np.asarray(modes)
    share = recomputed_share(model, batch.pp, batch.interleave, batch.recompute_layers)
    chosen = per_mode[batch.recompute]
    flops: FloatArray = xp.where(share == 1, chosen, per_mode[0] + share * (chosen - per_mode[0]))
    return model_flops, flops


def evaluate_memory(
    model: Model, batch: PlanBatch, *, seq_len: int, global_batch: int, dev: Device,
    network: Network, framework: Framework,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Per plan of ``batch``, the :data:`gpuplan.model.pipeline.HEAVIEST` memory of its most
    loaded stage and that stage (``"memory_stage"``): the values of :func:`evaluate`,
    without the step time (the search prunes by memory before it times the plans)."""
    group, back = _zero_groups(batch)
    tokens = group.microbatch * seq_len / group.cp
    m = global_batch // (group.microbatch * group.dp)
    inputs = _stage_inputs(model, group, seq_len, dev, framework, network, microbatches=m,
                           tokens=tokens, pp_exposed=np.zeros(len(group)), costs=False)  # fmt: skip
    return heaviest_stages(model, framework, inputs, batch.zero, back)


def _stage_values(
    model: Model, framework: Framework, inputs: StageInputs, batch: PlanBatch, back: IntArray,
    memory: dict[str, np.ndarray] | None,
) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """Per plan of ``batch``, the values of its slowest stage (those of its group ``back``
    in ``inputs``) and of its most loaded stage (:func:`evaluate_stages`; the search knows
    the ``memory`` and times the slowest stages of all plans at once), and the groups'
    slowest-stage values; of one plan, stage class by stage class on Python numbers where
    the schedule allows (:func:`gpuplan.model.one_plan.one_plan_stages`)."""
    if len(batch) == 1 and memory is None:
        one = one_plan_stages(model, framework, inputs, item(batch.zero))
        if one is not None:
            return one, one
    slowest, crit = (
        evaluate_stages(model, framework, inputs, batch.zero, back) if memory is None
        else (slowest_stages(model, framework, inputs), dict(memory))
    )  # fmt: skip
    return crit | {name: values[back] for name, values in slowest.items()}, slowest


def evaluate(
    model: Model,
    accelerator: Accelerator,
    batch: PlanBatch,
    *,
    seq_len: int,
    global_batch: int,
    dev: Device,
    network: Network,
    framework: Framework,
    overhead_bytes: float,
    memory: dict[str, np.ndarray] | None = None,
    as_numbers: bool = False,
) -> BatchResult:
    """Memory and step-time parts of every plan of ``batch`` (which must be valid layouts):
    per-layer costs, per-stage sums (:func:`gpuplan.model.pipeline.evaluate_stages`), then
    the data-parallel communication and the optimizer of the slowest stage (of one plan, on
    Python numbers: :mod:`gpuplan.model.one_plan`; ``as_numbers``: so are its fields, not
    1-element arrays). ``memory``: the plans' :func:`evaluate_memory`."""
    if len(batch) == 1 and memory is None and on_numbers(framework, batch.pp):
        batch = batch_numbers(batch)  # one plan: Python numbers throughout (one_plan.py)
    group, back = _zero_groups(batch)
    tokens = group.microbatch * seq_len / group.cp
    m = global_batch // (group.microbatch * group.dp)
    pp_comm = stage_sends(model, group.tp, group.cp, group.dp, group.pp, group.interleave,
                          group.sequence_parallel, tokens, network, framework)  # fmt: skip
    inputs = _stage_inputs(model, group, seq_len, dev, framework, network, microbatches=m,
                           tokens=tokens, pp_exposed=pp_comm[1])  # fmt: skip
    crit, slowest = _stage_values(model, framework, inputs, batch, back, memory)
    if len(batch) == 1:  # one plan: the rest on Python numbers, the same formulas (xp.py)
        batch, crit, m, pp_comm = numbers(batch, crit, m, pp_comm)
        colls = dp_collectives(batch, crit, network, framework)
    else:  # once per group of plans that differ in ZeRO stage only
        m, pp_comm = m[back], (pp_comm[0][back], pp_comm[1][back])
        colls = tuple(c[back] for c in dp_collectives(group, slowest, network, framework))
    dp_comm = data_parallel_times(regathering(batch), crit, m, network, framework, colls, model)
    exposed_s, on_link_s = _axis_times(crit, m, pp_comm, dp_comm)
    tokens_per_step = global_batch * seq_len
    model_flops, hardware_flops = _flops(model, batch, seq_len, tokens_per_step)
    result = built(BatchResult,
        weights_bytes=crit["weights"],
        grads_bytes=crit["grads"],
        optimizer_bytes=crit["optimizer"],
        activations_bytes=crit["activations"],
        overhead_bytes=overhead_bytes,
        memory_stage=crit["memory_stage"],
        compute_s=m * crit["compute"] + accumulation_time(batch, crit, m, dev, framework),
        recompute_s=m * crit["recompute"],
        exposed_s=exposed_s,
        on_link_s=on_link_s,
        bubble_s=crit["bubble"],
        optimizer_s=optimizer_time(batch, crit, dev, framework),
        overlap_slowdown_s=_overlap_slowdown(exposed_s, on_link_s, dev),
        tokens_per_step=tokens_per_step,
        model_flops_per_step=model_flops,
        hardware_flops_per_step=hardware_flops,
        capacity_bytes=accelerator.hbm_bytes,
        straggler_s=plan_straggler_times(m * (crit["compute"] + crit["recompute"]), batch, network),
    )  # fmt: skip
    return result if as_numbers else columns(result, _SCALAR_FIELDS)


_SCALAR_FIELDS = ("overhead_bytes", "tokens_per_step", "model_flops_per_step", "capacity_bytes")
"""The :class:`BatchResult` fields that are numbers, not per-plan arrays."""
