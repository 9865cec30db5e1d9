"""The pipeline stages of many plans at once, with numpy: which layers each stage holds,
its time per micro-batch, the bubble, its parameters and its memory.

Plans are grouped by pipeline shape (stages, interleave); within a group every quantity is
an array of plans x stages. A plan's time values are those of its slowest stage, its
memory values those of its most loaded stage. :mod:`gpuplan.model.batch` computes the
per-layer costs these sums are made of and assembles the step from them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from gpuplan.catalog.schema import Framework, Model
from gpuplan.model import xp
from gpuplan.model.distinct import distinct_first as distinct_first  # re-exported
from gpuplan.model.distinct import distinct_rows as distinct_rows  # re-exported
from gpuplan.model.distinct import groups_of
from gpuplan.model.memory import LOGIT_BYTES
from gpuplan.model.partial_recompute import kept_layers, with_kept
from gpuplan.model.per_layer import layer_params
from gpuplan.model.schedules import bubble, dualpipe, in_flight_loads
from gpuplan.model.stage_structure import stage_structure

IntArray = np.ndarray
FloatArray = np.ndarray

SLOWEST = (
    "compute", "recompute", "link_tp", "link_cp", "link_ep", "exposed_tp", "exposed_cp",
    "exposed_ep", "bubble", "dense_params", "expert_params", "layers",
)  # fmt: skip
"""Per-micro-batch values of a plan's slowest stage, and the bubble (:func:`evaluate_stages`)."""
HEAVIEST = ("weights", "grads", "optimizer", "activations")
"""Memory (bytes) of a plan's most loaded stage, from :func:`evaluate_stages`."""


@dataclass(frozen=True)
class StageInputs:
    """Per plan, equal-length arrays: the layout, and what one dense and one MoE layer cost
    per micro-batch on one GPU (:class:`gpuplan.model.layer.LayerCost` fields, seconds)
    and keep in memory (bytes)."""

    tp: IntArray
    pp: IntArray
    dp: IntArray
    cp: IntArray
    ep: IntArray
    interleave: IntArray
    microbatches: IntArray
    """Micro-batches per step through each pipeline."""
    tokens: FloatArray
    """Tokens of one micro-batch on one GPU (its share of the sequence under CP)."""
    full_recompute: np.ndarray
    recompute_layers: IntArray  # with a full recompute, those of each chunk (-1: all)
    dense: dict[str, FloatArray]
    moe: dict[str, FloatArray]
    act_dense: FloatArray
    act_moe: FloatArray
    act_transient: FloatArray
    """One layer's activations without recompute: what a full recompute rebuilds."""
    kept: tuple[dict[str, FloatArray], dict[str, FloatArray], FloatArray, FloatArray]
    """Costs and activation bytes of a dense and a MoE layer that keep their activations."""
    logits: FloatArray
    """Logits and loss of one micro-batch, on the last stage."""
    pp_exposed: FloatArray
    """Sends between stages per micro-batch that the stage waits for."""

    def rows(self, idx: np.ndarray | None = None) -> StageInputs:
        """The plans at ``idx`` (distinct, in order), each array as a column (plans x 1) to
        broadcast over stages; all of them (None, or one pipeline shape): views, not copies;
        one plan (``idx`` of one): Python numbers, which broadcast as well and spare numpy's
        broadcasting of two arrays in every operation. What two fields share (``kept`` holds
        the layer costs when no layer keeps more) is cut once."""
        if idx is not None and idx.size == 1:
            one = int(idx[0])
            take: Any = lambda a: a.item(one)  # noqa: E731
        else:
            every = idx is None or idx.size == self.tp.shape[0]
            at: np.ndarray | slice = slice(None) if every or idx is None else idx
            take = lambda a: a[at, None]  # noqa: E731
        done: dict[int, Any] = {}

        def cut(v: Any) -> Any:
            if (known := done.get(id(v))) is None:
                known = done[id(v)] = (
                    tuple(map(cut, v)) if isinstance(v, tuple)
                    else {f: take(a) for f, a in v.items()} if isinstance(v, dict) else take(v)
                )  # fmt: skip
            return known

        return StageInputs(**{k: cut(v) for k, v in self.__dict__.items()})


@dataclass(frozen=True)
class Stages:
    """The distinct physical stages of one pipeline shape, each a column of 1 x classes.

    Stages that hold the same layers (and MoE layers) and neither the embedding nor the
    logits cost the same time and hold the same parameters, so one of each class is
    evaluated: the first of them (``index``), which, of its class, keeps the most
    micro-batches' activations in flight. ``count`` is how many stages the class stands for
    (in the bubble's sum)."""

    pp: int
    interleave: int
    layers: FloatArray
    moe_layers: FloatArray
    dense_layers: FloatArray
    index: IntArray
    first: np.ndarray
    last: np.ndarray
    count: FloatArray
    kept: tuple[FloatArray, FloatArray] | None = None  # kept dense, MoE layers (partial recompute)


@functools.lru_cache(maxsize=4096)
def _stage_classes(model: Model, pp: int, v: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The first stage of each class of identical stages, in stage order, and the class sizes.

    Identical: the same layers and MoE layers, and neither the first (embedding) nor the
    last (logits) stage."""
    layers, moe = stage_structure(model, pp, v)
    first_of: dict[tuple[int, int, bool, bool], int] = {}
    sizes: dict[int, int] = {}
    for stage in range(pp):
        key = (layers[stage], moe[stage], stage == 0, stage == pp - 1)
        head = first_of.setdefault(key, stage)
        sizes[head] = sizes.get(head, 0) + 1
    return tuple(sizes), tuple(sizes.values())


def _pipeline_stages(model: Model, pp: int, v: int, every: bool = False, n: int = -1) -> Stages:
    """The stage classes of ``pp`` GPUs with ``v`` virtual stages (chunks of layers) each;
    ``every``: one class per stage (DualPipe folds stage ``i`` with stage ``p - 1 - i``);
    ``n`` >= 0, with ``every``: the first ``n`` layers of each chunk recompute, no others."""
    layers_of, moes, heads, sizes, kept_of = stage_columns(model, pp, v, every, n)
    kept = None if kept_of is None else tuple(np.asarray(k, dtype=float)[None, :] for k in kept_of)
    layers = np.asarray(layers_of, dtype=float)[None, :]
    moe_layers = np.asarray(moes, dtype=float)[None, :]
    index = np.asarray(heads)[None, :]
    return Stages(pp=pp, interleave=v, layers=layers, moe_layers=moe_layers,
                  dense_layers=layers - moe_layers, index=index, first=index == 0,
                  last=index == pp - 1, count=np.asarray(sizes, dtype=float)[None, :],
                  kept=kept)  # type: ignore[arg-type]  # fmt: skip


def stage_columns(model: Model, pp: int, v: int, every: bool = False, n: int = -1) -> tuple[
    list[float], list[float], list[int], list[float], tuple[list[float], list[float]] | None
]:  # fmt: skip
    """:func:`_pipeline_stages`' columns as lists of Python numbers (one plan's stages,
    :mod:`gpuplan.model.one_plan`): per class, its layers, MoE layers, first stage, count
    and (``n`` >= 0) the dense and MoE layers that keep their activations."""
    counts, moes = stage_structure(model, pp, v)
    heads, sizes = (tuple(range(pp)), (1,) * pp) if every else _stage_classes(model, pp, v)
    table = kept_layers(model, pp, v, n) if n >= 0 else None
    kept = None if table is None else tuple([float(table[i][j]) for i in heads] for j in (0, 1))
    return ([float(counts[i]) for i in heads], [float(moes[i]) for i in heads], list(heads),
            [float(size) for size in sizes], kept)  # type: ignore[return-value]  # fmt: skip


def _stage_times(
    s: Stages, p: StageInputs, tp_comm_overlap: float, ep_comm_overlap: float = 0.0,
    mtp_modules: int = 0,
) -> dict[str, FloatArray]:  # fmt: skip
    """Per plan and stage, one micro-batch: the forward and backward kernels (the last stage
    also runs the logits), the recomputed forward, TP/CP/EP communication on the link and
    exposed, and the stage's time (``"stage"``) with the sends it waits for.

    TP collectives are hidden in the fraction the framework overlaps (frameworks.yaml:
    tp_comm_overlap); the CP ring exchange hides behind the attention core; the framework
    hides the share ``ep_comm_overlap`` of the EP all-to-alls under the other micro-batch's
    or chunk's compute (frameworks.yaml), at most that compute; the rest is exposed.
    """

    dense, moe, kept = p.dense, p.moe, p.kept

    def per_stage(field: str) -> FloatArray:
        value: FloatArray = s.dense_layers * dense[field] + s.moe_layers * moe[field]
        if s.kept is None:  # no layer keeps its activations: the sum itself (with_kept's)
            return value
        return with_kept(value, s.kept, kept[0][field], kept[1][field], dense[field],
                         moe[field])  # fmt: skip

    # Multi-token prediction: one more pass through the output head per module.
    logits = s.last * (1 + mtp_modules) * p.logits
    compute = per_stage("forward_s") + per_stage("backward_s") + logits
    recompute = per_stage("recompute_s")
    link_tp, link_cp, link_ep = per_stage("tp_s"), per_stage("cp_s"), per_stage("ep_s")
    exposed_tp = link_tp * (1 - tp_comm_overlap)
    exposed_cp = per_stage("cp_exposed_s")  # ring beyond the attention, or Ulysses' a2a
    exposed_ep = link_ep - xp.minimum(ep_comm_overlap * link_ep, compute)
    stage_time = compute + recompute + exposed_tp + exposed_cp + exposed_ep
    stage_time = stage_time + p.pp_exposed
    return {
        "compute": compute, "recompute": recompute, "link_tp": link_tp, "link_cp": link_cp,
        "link_ep": link_ep, "exposed_tp": exposed_tp, "exposed_cp": exposed_cp,
        "exposed_ep": exposed_ep, "stage": stage_time,
    }  # fmt: skip


def _stage_params(
    model: Model, s: Stages, p: StageInputs, fold: bool = False
) -> tuple[FloatArray, FloatArray]:
    """Per plan and stage, the dense and the expert parameters on one GPU before ZeRO
    sharding: layers split over TP (experts over EP, and over TP unless ``fold``), the
    embedding on the first stage and the output layer on the last (one matrix when tied and
    the pipeline has one stage).
    """
    attention, mlp = layer_params(model)
    embedding = model.vocab * model.hidden / p.tp
    holds_logits = s.last & ((not model.tied_embeddings) or s.pp > 1)
    projections = s.last * model.mtp_modules * 2 * model.hidden**2  # MTP's 2h -> h
    dense_params = (
        s.layers * (attention + 2 * model.hidden)
        + s.dense_layers * mlp.dense
        + s.moe_layers * mlp.moe_shared
        + projections
    ) / p.tp + embedding * (xp.floats(s.first) + holds_logits)
    expert_params = s.moe_layers * mlp.moe_routed / (p.ep if fold else p.tp * p.ep)
    return dense_params, expert_params


def _shards(
    p: StageInputs, dense_params: FloatArray, expert_params: FloatArray, fold: bool = False
) -> tuple[FloatArray, FloatArray]:
    """Per plan and stage, all parameters on one GPU and its share of them when sharded over
    DP x CP (experts over DP x CP / EP; TP x DP x CP / EP with experts folded over TP)."""
    shard = p.dp * p.cp
    expert_shard = xp.maximum(1, (p.dp * p.cp * (p.tp if fold else 1)) // p.ep)
    return dense_params + expert_params, dense_params / shard + expert_params / expert_shard


def _state_bytes(
    s: Stages, zero: int, all_params: FloatArray, sharded: FloatArray, framework: Framework,
) -> tuple[FloatArray, FloatArray, FloatArray]:  # fmt: skip
    """Per plan and stage, the weights, gradients and optimizer states (bytes) under ZeRO
    stage ``zero``, from :func:`_shards`, at the framework's bytes per weight, gradient and
    optimizer state.

    ZeRO 1 shards the optimizer states over DP x CP (experts over DP x CP / EP), ZeRO 2
    also the gradients, ZeRO 3 also the weights, of which two layers' worth stay gathered
    (at most ``live_params`` parameters where the framework caps them).
    """
    live_params = framework.zero3_live_params
    if zero >= 3:
        live = 2 * all_params / xp.maximum(s.layers, 1)
        gathered = sharded + (live if live_params is None else xp.minimum(live, live_params))
        weights = framework.weight_bytes * xp.minimum(all_params, gathered)
    else:
        weights = framework.weight_bytes * all_params
    grads = framework.grad_bytes * (sharded if zero >= 2 else all_params)
    optimizer = framework.optimizer_state_bytes * (sharded if zero >= 1 else all_params)
    return weights, grads, optimizer


def _activation_bytes(model: Model, s: Stages, p: StageInputs) -> FloatArray:
    """Per plan and stage, the activations (bytes) of the micro-batches in flight.

    Stage ``i`` holds :func:`gpuplan.model.schedules.in_flight_loads` stage-loads (the
    chunks of its warm-up and the one in its forward); a full recompute adds one
    layer's activations, rebuilt transiently; the first stage the embedding dropout's mask
    (its output is the first layer's input, counted there), the last the FP32 logits. Under
    a partial recompute the kept layers keep all theirs."""
    loads = in_flight_loads(s.pp, s.interleave, s.index, p.microbatches)
    per_load = with_kept(s.dense_layers * p.act_dense + s.moe_layers * p.act_moe, s.kept,
                         p.kept[2], p.kept[3], p.act_dense, p.act_moe)  # fmt: skip
    recomputing = s.layers if s.kept is None else s.layers - s.kept[0] - s.kept[1]
    activations = per_load * loads + (p.full_recompute & (recomputing > 0)) * p.act_transient
    activations = activations + s.first * (model.dropout * p.tokens * model.hidden) * loads
    return activations + s.last * (LOGIT_BYTES * p.tokens * model.vocab / p.tp)  # type: ignore[no-any-return]


def evaluate_stages(
    model: Model, framework: Framework, plans: StageInputs, zero: IntArray, back: IntArray,
    times: bool = True, memory: bool = True,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:  # fmt: skip
    """The :data:`SLOWEST` values of the slowest stage and the bubble, per plan of
    ``plans``; and per plan ``i`` of the batch (``plans`` row ``back[i]`` under ZeRO stage
    ``zero[i]``: its stages take the same time whatever the ZeRO stage), the
    :data:`HEAVIEST` memory of its most loaded stage and that stage (``"memory_stage"``).

    With per-micro-batch stage times ``t_i`` and ``v`` virtual stages per GPU the bubble is
    ``(sum(t_i) - max(t_i)) / v`` (Narayanan et al. 2021 sec. 2.2, generalised to uneven
    stages; :func:`gpuplan.model.schedules.bubble`). One stage per class of identical
    stages is evaluated (:class:`Stages`), every stage under DualPipe, whose stages are
    folded by :func:`gpuplan.model.schedules.dualpipe`. Without ``times`` (or ``memory``)
    those values stay zero."""
    slowest = {name: np.zeros(len(plans.tp)) for name in SLOWEST}
    heaviest = {name: np.zeros(back.size) for name in HEAVIEST}
    heaviest["memory_stage"] = np.zeros(back.size, dtype=np.int64)
    shapes = [plans.pp, plans.interleave, plans.recompute_layers + 1]  # 0: every layer
    unique, shape_of = distinct_rows(np.stack(shapes, axis=1))
    local, groups, members = np.zeros(len(plans.tp), dtype=np.int64), *groups_of(shape_of, back)
    for row, (kp, kv, kn) in enumerate(unique.tolist()):
        ridx = groups[row]
        local[ridx] = np.arange(ridx.size)
        at = slice(None) if ridx.size == local.size else ridx  # one shape: every plan
        dual = framework.pipeline_schedule == "dualpipe" and kp > 1
        s, p = _pipeline_stages(model, kp, kv, every=dual or kn > 0, n=kn - 1), plans.rows(ridx)
        if times:
            values, dense_params, expert_params = _slowest_stage(model, framework, s, p, dual)
            for name, stage_values in values.items():
                slowest[name][at] = stage_values
        if not memory:
            continue
        if not times:  # the memory alone: ``plans`` need no layer costs
            dense_params, expert_params = _params(model, framework, s, p, dual)
        activations = _activation_bytes(model, s, p)
        activations = dualpipe(activations, False) if dual else activations
        if activations.shape != dense_params.shape:
            activations = np.broadcast_to(activations, dense_params.shape)
        params = _shards(p, dense_params, expert_params, framework.moe_parallel_folding)
        idx = members[row]
        _heaviest_stage(s, zero[idx], params, activations, framework, heaviest,
                        idx, local[back[idx]])  # fmt: skip
    return slowest, heaviest


def _heaviest_stage(
    s: Stages, zero: IntArray, params: tuple[FloatArray, FloatArray], activations: FloatArray,
    framework: Framework, out: dict[str, np.ndarray], idx: IntArray, at: IntArray,
) -> None:  # fmt: skip
    """Into ``out`` at plans ``idx`` (rows ``at`` of the shape's plans, under ZeRO stages
    ``zero``; ``params`` from :func:`_shards`), the :data:`HEAVIEST` memory of the most
    loaded stage, and that stage."""
    shape = activations.shape
    index = _flat(s.index, shape)
    for level in (zero.item(),) if zero.size == 1 else range(int(zero.max()) + 1):
        chosen = np.zeros(1, dtype=np.int64) if zero.size == 1 else np.flatnonzero(zero == level)
        if not chosen.size:
            continue
        weights, grads, optimizer = _state_bytes(s, level, *params, framework)
        memory = {"weights": weights, "grads": grads, "optimizer": optimizer,
                  "activations": activations}  # fmt: skip
        plans, rows = idx[chosen], at[chosen]
        stage = np.argmax(weights + grads + optimizer + activations, axis=1)[rows]
        flat = rows * shape[1] + stage  # (row, stage) in the rows x stages arrays
        out["memory_stage"][plans] = index[flat]
        for name, values in memory.items():
            out[name][plans] = _flat(values, shape)[flat]


def _flat(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``values`` broadcast to ``shape``, flattened (plans x stages, row by row)."""
    return (values if values.shape == shape else np.broadcast_to(values, shape)).reshape(-1)


def _slowest_stage(
    model: Model, framework: Framework, s: Stages, p: StageInputs, dual: bool
) -> tuple[dict[str, FloatArray], FloatArray, FloatArray]:
    """Per plan of ``p``, the :data:`SLOWEST` values of its slowest stage (the first of
    them: the first slowest class holds the first slowest stage) and the bubble; and the
    dense and expert parameters of every stage (``dual``: DualPipe's folded stages)."""
    per_stage = _stage_times(s, p, framework.tp_comm_overlap, framework.ep_comm_overlap,
                             model.mtp_modules)  # fmt: skip
    if dual:
        per_stage = {k: dualpipe(v, mean=True) for k, v in per_stage.items()}
    stage_time = per_stage.pop("stage")
    slowest = np.argmax(stage_time, axis=1)
    values = {"bubble": bubble(stage_time, slowest, s.pp, s.interleave, dual, s.count)}
    dense_params, expert_params = _params(model, framework, s, p, dual)
    per_stage |= {"dense_params": dense_params, "expert_params": expert_params}
    layers = dualpipe(s.layers, False) if dual else s.layers
    per_stage["layers"] = layers if layers.shape == stage_time.shape else (
        np.broadcast_to(layers, stage_time.shape)
    )  # fmt: skip
    flat = np.arange(stage_time.shape[0]) * stage_time.shape[1] + slowest  # (plan, stage)
    for name, stage_values in per_stage.items():  # plans x stages, row by row
        values[name] = stage_values.take(flat)
    return values, dense_params, expert_params


def _params(
    model: Model, framework: Framework, s: Stages, p: StageInputs, dual: bool
) -> tuple[FloatArray, FloatArray]:
    """:func:`_stage_params` of every stage, DualPipe's folded when ``dual``."""
    params = _stage_params(model, s, p, framework.moe_parallel_folding)
    return (dualpipe(params[0], False), dualpipe(params[1], False)) if dual else params
