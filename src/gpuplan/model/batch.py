"""Memory and step time of many parallel plans at once, with numpy.

This is the one implementation of plan assembly: :func:`gpuplan.model.step.estimate_step`
calls it with a batch of one plan, and the search with thousands. Per-layer costs depend
on few plan fields (TP, CP, micro-batch, recompute, sequence parallelism, EP), so they are
computed once per distinct combination with the scalar kernel model and broadcast; every
thing that depends on the pipeline layout, data parallelism and ZeRO is array arithmetic
over plans x stages (stages padded to the largest pipeline in the batch).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from gpuplan.catalog.schema import Accelerator, Framework, Model
from gpuplan.catalog.shapes import attention_params_per_layer, is_moe_layer, mlp_params_per_layer
from gpuplan.model.collectives import Collective, Network, collective_times, p2p_times
from gpuplan.model.flops import hardware_flops_per_token, training_flops_per_token
from gpuplan.model.kernels import BF16_BYTES, Device, gemm_time, streaming_time
from gpuplan.model.layer import layer_cost
from gpuplan.model.memory import (
    LOGIT_BYTES,
    OPTIMIZER_BYTES,
    WEIGHT_BYTES,
    activation_bytes_per_layer,
)
from gpuplan.model.rules import stage_layers
from gpuplan.scenario.plan import ParallelPlan, Recompute

RECOMPUTE_ORDER = (Recompute.NONE, Recompute.SELECTIVE, Recompute.FULL)
# Per parameter and step: Adam reads master, m, v and the FP32 gradient (16 bytes) and writes
# master, m, v and the BF16 copy (14); gradient-norm clipping reads the gradient again (4)
# and zeroing the buffer for the next step writes it (4).
OPTIMIZER_BYTES_PER_PARAM = 38
AXES = ("tp", "cp", "ep", "pp", "dp")

IntArray = np.ndarray
FloatArray = np.ndarray


@dataclass(frozen=True)
class PlanBatch:
    """Parallel plans as columns of equal-length integer arrays."""

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

    def __len__(self) -> int:
        return int(self.tp.shape[0])

    @classmethod
    def from_plans(cls, plans: list[ParallelPlan]) -> PlanBatch:
        def column(values: list[int]) -> IntArray:
            return np.asarray(values, dtype=np.int64)

        return cls(
            tp=column([p.tensor_parallel for p in plans]),
            pp=column([p.pipeline_parallel for p in plans]),
            dp=column([p.data_parallel for p in plans]),
            cp=column([p.context_parallel for p in plans]),
            ep=column([p.expert_parallel for p in plans]),
            microbatch=column([p.microbatch for p in plans]),
            interleave=column([p.interleave for p in plans]),
            recompute=column([RECOMPUTE_ORDER.index(p.recompute) for p in plans]),
            sequence_parallel=np.asarray([p.sequence_parallel for p in plans], dtype=bool),
            zero=column([p.zero for p in plans]),
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
        )

    def take(self, mask: np.ndarray) -> PlanBatch:
        """The plans where ``mask`` is true (or at the given indices)."""
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
            + self.overlap_slowdown_s
        )  # fmt: skip
        for axis in AXES:
            total = total + self.exposed_s[axis]
        return np.asarray(total)


@functools.cache
def _stage_structure(model: Model, pp: int, v: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Layers and MoE layers held by each physical stage (virtual stages folded in)."""
    counts = stage_layers(model.layers, pp * v)
    layers, moe = [0] * pp, [0] * pp
    for stage in range(pp):
        for chunk in range(v):
            virtual = chunk * pp + stage
            first = sum(counts[:virtual])
            for index in range(first, first + counts[virtual]):
                layers[stage] += 1
                moe[stage] += int(is_moe_layer(model, index))
    return tuple(layers), tuple(moe)


def _per_key(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``keys`` (non-negative integers) and, per plan, the index of its row."""
    code = np.zeros(keys.shape[0], dtype=np.int64)
    for column in keys.T:
        code = code * (int(column.max()) + 1) + column
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    return keys[first], inverse.reshape(-1)


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
) -> BatchResult:
    """Memory and step-time parts of every plan of ``batch`` (which must be valid layouts)."""
    n = len(batch)
    t, pp, dp, cp, ep = batch.tp, batch.pp, batch.dp, batch.cp, batch.ep
    mb, v, zero = batch.microbatch, batch.interleave, batch.zero
    tokens = mb * seq_len / cp
    m = global_batch // (mb * dp)

    # Per-layer costs and activations, once per distinct (tp, cp, mb, recompute, sp, ep).
    layer_keys = np.stack(
        [t, cp, mb, batch.recompute, batch.sequence_parallel.astype(np.int64), ep], axis=1
    )
    unique, where = _per_key(layer_keys)
    fields = ("forward_s", "backward_s", "recompute_s", "attention_s", "tp_s", "cp_s", "ep_s")
    dense = {f: np.empty(len(unique)) for f in fields}
    moe = {f: np.empty(len(unique)) for f in fields}
    act_dense, act_moe, act_transient = (np.empty(len(unique)) for _ in range(3))
    for row, (kt, kc, kb, kr, ks, ke) in enumerate(unique):
        plan = ParallelPlan(
            tensor_parallel=int(kt),
            context_parallel=int(kc),
            microbatch=int(kb),
            recompute=RECOMPUTE_ORDER[int(kr)],
            sequence_parallel=bool(ks),
            expert_parallel=int(ke),
        )
        d = layer_cost(model, plan, seq_len, False, dev, framework.attention, network)
        e = (
            layer_cost(model, plan, seq_len, True, dev, framework.attention, network)
            if model.moe is not None
            else d
        )
        for f in fields:
            dense[f][row] = getattr(d, f)
            moe[f][row] = getattr(e, f)
        act_dense[row] = activation_bytes_per_layer(
            model, plan, seq_len, framework.attention, False, dev.fp8
        )
        act_moe[row] = activation_bytes_per_layer(
            model, plan, seq_len, framework.attention, model.moe is not None, dev.fp8
        )
        act_transient[row] = activation_bytes_per_layer(
            model, replace(plan, recompute=Recompute.NONE), seq_len, framework.attention,
            False, dev.fp8,
        )  # fmt: skip
    dense = {f: a[where] for f, a in dense.items()}
    moe = {f: a[where] for f, a in moe.items()}
    act_dense, act_moe, act_transient = act_dense[where], act_moe[where], act_transient[where]

    # The logits (kept in BF16 under FP8) and the cross-entropy loss over them (memory-bound,
    # frameworks.yaml: loss_bytes_per_logit), once per distinct (tp, cp, mb).
    logits = np.zeros(n)
    if model.vocab:
        bf16_dev = replace(dev, gemm_flops_per_s=dev.bf16_gemm_flops_per_s, fp8=False)
        unique_l, where_l = _per_key(np.stack([t, cp, mb], axis=1))
        values = np.empty(len(unique_l))
        for row, (kt, kc, kb) in enumerate(unique_l):
            rows = kb * seq_len / kc
            shard, h = model.vocab / kt, model.hidden
            values[row] = (
                gemm_time(rows, shard, h, bf16_dev)
                + gemm_time(rows, h, shard, bf16_dev)
                + gemm_time(h, shard, rows, bf16_dev)
                + streaming_time(framework.loss_bytes_per_logit * rows * shard, 9, dev)
            )
        logits = values[where_l]

    # Per-stage arithmetic, one group of plans per pipeline shape (pp, interleave): arrays
    # are plans x stages of that shape. The plan's values are its slowest stage's (time)
    # and its most loaded stage's (memory).
    attention = attention_params_per_layer(model)
    mlp = mlp_params_per_layer(model)
    grad_bytes = framework.grad_bytes
    same_domain = t * cp * dp * 2 <= network.domain
    # Activations sent between stages, scattered over the TP ranks (Narayanan et al. 2021
    # sec. 4.1) and gathered on the far side, once forward and once backward per chunk.
    send = p2p_times(tokens * model.hidden * BF16_BYTES / t, same_domain, network)
    pp_per_mb = np.where(pp > 1, 2 * v * send, 0.0)
    # Interleaved schedules that overlap their sends (frameworks.yaml: overlap_p2p_comm)
    # run them under the other chunks' compute; otherwise each stage waits for them.
    pp_hidden = (v > 1) & framework.overlap_p2p_comm
    pp_exposed_per_mb = np.where(pp_hidden, 0.0, pp_per_mb)
    names = (
        "compute", "recompute", "link_tp", "link_cp", "link_ep", "exposed_tp", "exposed_cp",
        "bubble", "dense_params", "expert_params", "layers", "weights", "grads", "optimizer",
        "activations",
    )  # fmt: skip
    out = {name: np.zeros(n) for name in names}
    memory_stage = np.zeros(n, dtype=np.int64)
    full = batch.recompute == RECOMPUTE_ORDER.index(Recompute.FULL)
    unique_s, where_s = _per_key(np.stack([pp, v], axis=1))
    for row, (kp, kv) in enumerate(unique_s):
        idx = np.flatnonzero(where_s == row)
        counts, moes = _stage_structure(model, int(kp), int(kv))
        layers = np.asarray(counts, dtype=float)[None, :]
        moe_layers = np.asarray(moes, dtype=float)[None, :]
        dense_layers = layers - moe_layers
        stage = np.arange(int(kp))[None, :]
        first, last = stage == 0, stage == int(kp) - 1

        def per_stage(field: str, idx: np.ndarray = idx, d: FloatArray = dense_layers,
                      e: FloatArray = moe_layers) -> FloatArray:  # fmt: skip
            return np.asarray(d * dense[field][idx, None] + e * moe[field][idx, None])

        compute = per_stage("forward_s") + per_stage("backward_s") + last * logits[idx, None]
        recompute = per_stage("recompute_s")
        link_tp, link_cp, link_ep = per_stage("tp_s"), per_stage("cp_s"), per_stage("ep_s")
        exposed_tp = link_tp * (1 - framework.tp_comm_overlap)
        exposed_cp = np.maximum(0.0, link_cp - per_stage("attention_s"))
        stage_time = compute + recompute + exposed_tp + exposed_cp + link_ep
        stage_time = stage_time + pp_exposed_per_mb[idx, None]
        slowest = np.argmax(stage_time, axis=1)
        rows = np.arange(idx.size)
        t_max = stage_time[rows, slowest]
        out["bubble"][idx] = (stage_time.sum(axis=1) - t_max) / kv
        for name, values in (
            ("compute", compute), ("recompute", recompute), ("link_tp", link_tp),
            ("link_cp", link_cp), ("link_ep", link_ep), ("exposed_tp", exposed_tp),
            ("exposed_cp", exposed_cp),
        ):  # fmt: skip
            out[name][idx] = values[rows, slowest]

        # Parameters per stage on one GPU, before ZeRO sharding.
        tg, epg = t[idx, None], ep[idx, None]
        embedding = model.vocab * model.hidden / tg
        holds_logits = last & ((not model.tied_embeddings) or int(kp) > 1)
        dense_params = (
            layers * (attention + 2 * model.hidden)
            + dense_layers * mlp.dense
            + moe_layers * mlp.moe_shared
        ) / tg + embedding * (first.astype(float) + holds_logits)
        expert_params = moe_layers * mlp.moe_routed / (tg * epg)
        out["dense_params"][idx] = dense_params[rows, slowest]
        out["expert_params"][idx] = expert_params[rows, slowest]
        out["layers"][idx] = np.broadcast_to(layers, stage_time.shape)[rows, slowest]

        # Memory of every stage; the most loaded one is the plan's.
        shard = (dp * cp)[idx, None]
        expert_shard = np.maximum(1, (dp * cp) // ep)[idx, None]
        zg = zero[idx, None]
        all_params = dense_params + expert_params
        sharded = dense_params / shard + expert_params / expert_shard
        weights = np.where(
            zg >= 3,
            WEIGHT_BYTES * np.minimum(all_params, sharded + 2 * all_params / np.maximum(layers, 1)),
            WEIGHT_BYTES * all_params,
        )
        grads = grad_bytes * np.where(zg >= 2, sharded, all_params)
        optimizer = OPTIMIZER_BYTES * np.where(zg >= 1, sharded, all_params)
        mg = m[idx, None]
        if kp > 1:
            in_flight = np.minimum(mg, kp + (kp - 1) / kv if kv > 1 else kp).astype(float)
            loads = np.maximum(in_flight * (kp - stage) / kp, 1.0)
        else:
            loads = np.ones((idx.size, 1))
        activations = (
            dense_layers * act_dense[idx, None] + moe_layers * act_moe[idx, None]
        ) * loads
        activations = activations + (full[idx, None] & (layers > 0)) * act_transient[idx, None]
        activations = activations + first * (2 * tokens * model.hidden)[idx, None] * loads
        activations = activations + last * (LOGIT_BYTES * tokens * model.vocab / t)[idx, None]
        heaviest = np.argmax(weights + grads + optimizer + activations, axis=1)
        memory_stage[idx] = heaviest
        for name, values in (
            ("weights", weights), ("grads", grads), ("optimizer", optimizer),
            ("activations", activations),
        ):  # fmt: skip
            out[name][idx] = np.broadcast_to(values, (idx.size, int(kp)))[rows, heaviest]

    # Data parallelism: gradients over DP x CP (experts over DP x CP / EP), then the
    # updated weights gathered back under a sharded optimizer; ZeRO-3 gathers per
    # micro-batch. Hidden under the last backward / first forward when overlapped.
    crit_dense, crit_experts = out["dense_params"], out["expert_params"]
    crit_compute = out["compute"]
    layers_here = np.maximum(1.0, out["layers"])
    dp_group, expert_group = dp * cp, np.maximum(1, (dp * cp) // ep)

    def group(kind: Collective, per_param: float) -> FloatArray:
        return np.asarray(
            collective_times(kind, crit_dense * per_param, dp_group, t, network)
            + collective_times(kind, crit_experts * per_param, expert_group, t * ep, network)
        )

    gather = group(Collective.ALL_GATHER, WEIGHT_BYTES)
    reduce_scatter = group(Collective.REDUCE_SCATTER, grad_bytes)
    all_reduce = group(Collective.ALL_REDUCE, grad_bytes)
    per_mb_zero3 = 2 * gather + reduce_scatter
    hidden3 = crit_compute if framework.overlap_param_gather else np.zeros(n)
    exposed_zero3 = m * np.maximum(per_mb_zero3 - hidden3, per_mb_zero3 / layers_here)
    reduce = np.where(zero >= 1, reduce_scatter, all_reduce)
    regather = np.where(zero >= 1, gather, 0.0)
    backward_window, forward_window = crit_compute * 2 / 3, crit_compute / 3
    exposed_reduce = (
        np.maximum(reduce - backward_window, reduce / layers_here)
        if framework.overlap_grad_reduce
        else reduce
    )
    exposed_gather = (
        np.maximum(regather - forward_window, regather / layers_here)
        if framework.overlap_param_gather
        else regather
    )
    sharded_dp = dp_group > 1
    dp_link = np.where(zero >= 3, m * per_mb_zero3, np.where(sharded_dp, reduce + regather, 0.0))
    dp_exposed = np.where(
        zero >= 3, exposed_zero3, np.where(sharded_dp, exposed_reduce + exposed_gather, 0.0)
    )

    optimizer_params = np.where(
        zero >= 1,
        crit_dense / dp_group + crit_experts / expert_group,
        crit_dense + crit_experts,
    )
    optimizer_s = streaming_time(OPTIMIZER_BYTES_PER_PARAM * optimizer_params, 4, dev)

    # Communication hidden under compute is not free: the collectives' kernels take SMs and
    # HBM bandwidth, so the compute beside them runs 1 + s times slower (systems.yaml:
    # overlap_compute_slowdown). Compute worth H / (1 + s) gets done during a hidden window
    # of H seconds, which costs H s / (1 + s) extra.
    exposed_s = {
        "tp": m * out["exposed_tp"],
        "cp": m * out["exposed_cp"],
        "ep": m * out["link_ep"],
        "pp": m * pp_exposed_per_mb,
        "dp": dp_exposed,
    }
    # EP all-to-alls are never hidden: on the link is what the step waits for.
    on_link_s = exposed_s | {
        "tp": m * out["link_tp"],
        "cp": m * out["link_cp"],
        "pp": m * pp_per_mb,
        "dp": dp_link,
    }
    hidden_s = sum(on_link_s[axis] - exposed_s[axis] for axis in AXES)
    overlap_slowdown_s = hidden_s * dev.overlap_slowdown / (1 + dev.overlap_slowdown)

    tokens_per_step = global_batch * seq_len
    hardware = np.asarray(
        [
            tokens_per_step * hardware_flops_per_token(model, seq_len, mode)
            for mode in RECOMPUTE_ORDER
        ]
    )[batch.recompute]
    return BatchResult(
        weights_bytes=out["weights"],
        grads_bytes=out["grads"],
        optimizer_bytes=out["optimizer"],
        activations_bytes=out["activations"],
        overhead_bytes=overhead_bytes,
        memory_stage=memory_stage,
        compute_s=m * crit_compute,
        recompute_s=m * out["recompute"],
        exposed_s=exposed_s,
        on_link_s=on_link_s,
        bubble_s=out["bubble"],
        optimizer_s=optimizer_s,
        overlap_slowdown_s=np.asarray(overlap_slowdown_s, dtype=float),
        tokens_per_step=tokens_per_step,
        model_flops_per_step=tokens_per_step * training_flops_per_token(model, seq_len),
        hardware_flops_per_step=hardware,
        capacity_bytes=accelerator.hbm_bytes,
    )
