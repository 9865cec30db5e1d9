"""Data-parallel communication and the optimizer step of many plans at once (numpy), for
:mod:`gpuplan.model.batch`: gradients reduced over DP x CP (experts over their own replicas),
weights gathered back under a sharded optimizer, and the optimizer update through HBM. One
plan runs the same formulas on Python numbers (:mod:`gpuplan.model.one_plan`)."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import numpy as np

from gpuplan.catalog.schema import Framework, Model
from gpuplan.model import xp
from gpuplan.model.collectives import (
    Collective,
    Network,
    _ring,
    collectives_times,
    local_ranks,
    ring_slowdown,
)
from gpuplan.model.kept import by_identity
from gpuplan.model.kernels import Device, streaming_time
from gpuplan.model.per_layer import RECOMPUTE_ORDER
from gpuplan.model.zero3_sync import matrix_shares, synced_times
from gpuplan.scenario.plan import Recompute

IntArray = np.ndarray
FloatArray = np.ndarray


class Layout(Protocol):
    """The plan columns these functions read (:class:`gpuplan.model.batch.PlanBatch`)."""

    @property
    def tp(self) -> IntArray: ...
    @property
    def dp(self) -> IntArray: ...
    @property
    def cp(self) -> IntArray: ...
    @property
    def ep(self) -> IntArray: ...
    @property
    def zero(self) -> IntArray: ...
    @property
    def recompute(self) -> IntArray: ...
    def __len__(self) -> int: ...


_FULL = RECOMPUTE_ORDER.index(Recompute.FULL)


def dp_groups(batch: Layout, fold: bool) -> tuple[IntArray, IntArray]:
    """Per plan, the ranks that share the dense parameters (DP x CP) and those that share
    each expert (DP x CP / EP; TP x DP x CP / EP with experts folded over TP)."""
    replicas = batch.dp * batch.cp * (batch.tp if fold else 1)
    return batch.dp * batch.cp, xp.maximum(1, replicas // batch.ep)


def flat_collective_times(
    kind: Collective, size_bytes: np.ndarray, n: np.ndarray, stride: np.ndarray,
    network: Network,
) -> np.ndarray:  # fmt: skip
    """One ring over all ``n`` ranks, without the hierarchy of :func:`collective_times`:
    every step moves ``size / n`` bytes through the ring's slowest hop, one GPU's NIC once
    the ring leaves its scale-up domain (Thakur, Rabenseifner & Gropp 2005's ring; the
    flat all-gather of ZeRO-3 that MiCS, Zhang et al. 2022, and ZeRO++, Wang et al. 2023,
    replace by hierarchical ones)."""
    n, size_bytes = xp.floats(n), xp.floats(size_bytes)
    local = local_ranks(n, stride, network.domain)
    nccl = _nccl_latency(kind, n, local, network)  # None: each step's link latency
    inside = _ring(kind, size_bytes, n, network.scaleup, latency=nccl)
    across = _ring(kind, size_bytes, n, network.scaleout, ring_slowdown(n, stride, local, network),
                   latency=nccl)  # fmt: skip
    times: np.ndarray = np.where(local >= n, inside, across)
    return times


def flat_ring_latency(n: np.ndarray, stride: np.ndarray, network: Network) -> np.ndarray:
    """The latency of one ring of :func:`flat_collective_times` over ``n`` ranks (all-gather
    and reduce-scatter alike): NCCL's (RULE NCCL-LAT) where the network has it, else ``n -
    1`` steps of the link its slowest hop crosses."""
    n = xp.floats(n)
    local = local_ranks(n, stride, network.domain)
    ring = _nccl_latency(Collective.ALL_GATHER, n, local, network)
    if ring is not None:
        nccl: np.ndarray = xp.where(n > 1, ring, 0.0)
        return nccl
    latency = xp.where(local >= n, network.scaleup.latency_s, network.scaleout.latency_s)
    seconds: np.ndarray = xp.maximum(n - 1, 0.0) * latency
    return seconds


def _nccl_latency(kind: Collective, n: Any, local: Any, network: Network) -> Any:
    """NCCL's latency of one flat ring over ``n`` ranks, ``local`` of them per scale-up
    domain (RULE NCCL-LAT); None where the network has no NCCL model."""
    if network.nccl is None:
        return None
    return network.nccl.latency(kind, n, xp.maximum(xp.floor(n / local), 1.0))


def _dp_collectives(
    batch: Layout, crit: dict[str, np.ndarray], network: Network, grad_bytes: float,
    fold: bool, flat: bool = False, weight_bytes: float = 2,
) -> tuple[FloatArray, FloatArray, FloatArray]:  # fmt: skip
    """Per plan, the slowest stage's all-gather of its weights and reduce-scatter and
    all-reduce of its gradients: dense parameters over DP x CP, experts over DP x CP / EP;
    ``flat``: each as one ring over all ranks (:func:`flat_collective_times`)."""
    dp_group, expert_group = dp_groups(batch, fold)
    expert_stride = batch.ep if fold else batch.tp * batch.ep
    kinds = ((Collective.ALL_GATHER, weight_bytes), (Collective.REDUCE_SCATTER, grad_bytes),
             (Collective.ALL_REDUCE, grad_bytes))  # fmt: skip

    def over(params: np.ndarray, n: IntArray, stride: IntArray) -> list[FloatArray]:
        sizes = [(kind, params * per_param) for kind, per_param in kinds]
        if flat:
            return [flat_collective_times(k, b, n, stride, network) for k, b in sizes]
        return collectives_times(sizes, n, stride, network)  # (the group's geometry once)

    dense = over(crit["dense_params"], dp_group, batch.tp)
    experts: list[Any] = (  # no routed experts (a dense model): nothing moves, nothing costed
        over(crit["expert_params"], expert_group, expert_stride)
        if xp.any_(crit["expert_params"] > 0) else [0.0, 0.0, 0.0]
    )  # fmt: skip
    gather, reduce_scatter, all_reduce = [d + e for d, e in zip(dense, experts, strict=True)]
    return gather, reduce_scatter, all_reduce


def dp_collectives(
    batch: Layout, crit: dict[str, np.ndarray], network: Network, framework: Framework
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:func:`_dp_collectives` in ``framework``: the same for plans that differ only in ZeRO
    stage, so :func:`gpuplan.model.batch.evaluate` computes them once per such group; of
    one plan's Python numbers, kept (:func:`_one_plan_collectives`)."""
    if isinstance(batch.tp, int):
        return _one_plan_collectives(network, framework, batch.tp, batch.dp, batch.cp, batch.ep,
                                     crit["dense_params"], crit["expert_params"])  # fmt: skip
    return _dp_collectives(
        batch, crit, network, framework.grad_bytes, framework.moe_parallel_folding,
        flat=framework.dp_collectives == "flat", weight_bytes=framework.weight_bytes,
    )  # fmt: skip


class Ranks(NamedTuple):
    """One plan's degrees (Python numbers), as :func:`_dp_collectives` and the stage
    parameters and states of :mod:`gpuplan.model.one_plan` read them (a named tuple: a
    third of a frozen dataclass's time to build, twice a cold plan)."""

    tp: int
    dp: int
    cp: int
    ep: int


@by_identity(records=2, maxsize=4096)
def _one_plan_collectives(
    network: Network, framework: Framework, tp: int, dp: int, cp: int, ep: int,
    dense_params: float, expert_params: float,
) -> tuple[float, float, float]:  # fmt: skip
    """:func:`dp_collectives` of one plan's Python numbers (all they read), kept per network
    and framework (by identity): the plans of a scenario that differ in micro-batch,
    recompute or ZeRO stage, or a Monte Carlo's, share the slowest stage's parameters."""
    crit = {"dense_params": dense_params, "expert_params": expert_params}
    return _dp_collectives(  # type: ignore[return-value]  # (numbers here)
        Ranks(tp, dp, cp, ep), crit, network, framework.grad_bytes,  # type: ignore[arg-type]
        framework.moe_parallel_folding, flat=framework.dp_collectives == "flat",
        weight_bytes=framework.weight_bytes,
    )  # fmt: skip


def data_parallel_times(
    batch: Layout, crit: dict[str, np.ndarray], microbatches: IntArray, network: Network,
    framework: Framework, collectives: tuple[FloatArray, ...] | None = None,
    model: Model | None = None,
) -> tuple[FloatArray, FloatArray]:  # fmt: skip
    """Per plan and step, data-parallel communication on the link and exposed.

    Gradients are reduced over DP x CP (experts over DP x CP / EP), then the updated
    weights gathered back under a sharded optimizer; ZeRO-3 gathers per micro-batch.
    Hidden under the last backward / first forward when overlapped (frameworks.yaml:
    overlap_grad_reduce, overlap_param_gather), except one layer's share; the recomputed
    forward counts as backward (ZeRO-3: every micro-batch's forward, backward and
    recompute hide its gathers and reduce-scatter; docs/model.md); a ZeRO-3 stack
    that gathers each layer for the backward only after the previous layer's gradients
    (``zero3_backward_prefetch: post``) waits for that gather whole; one that hides it one
    weight matrix of ``model`` at a time (``zero3_overlap: per-matrix``), interval by
    interval (:func:`gpuplan.model.zero3_sync.synced_times`). ``collectives``:
    per plan, the all-gather, reduce-scatter and all-reduce of :func:`dp_collectives`, when
    already known.
    """
    m, zero, compute = microbatches, batch.zero, crit["compute"]
    layers_here = xp.maximum(1.0, crit["layers"])
    gather, reduce_scatter, all_reduce = (
        dp_collectives(batch, crit, network, framework) if collectives is None else collectives
    )
    reduce = xp.where(zero >= 1, reduce_scatter, all_reduce)
    regather = xp.where(zero >= 1, gather, 0.0)
    backward_window, forward_window = compute * 2 / 3 + crit["recompute"], compute / 3
    exposed_reduce = (
        xp.maximum(reduce - backward_window, reduce / layers_here)
        if framework.overlap_grad_reduce
        else reduce
    )
    exposed_gather = (
        xp.maximum(regather - forward_window, regather / layers_here)
        if framework.overlap_param_gather
        else regather
    )
    sharded_dp = batch.dp * batch.cp > 1
    link = xp.where(sharded_dp, reduce + regather, 0.0)
    exposed = xp.where(sharded_dp, exposed_reduce + exposed_gather, 0.0)
    if not xp.any_(zero >= 3):  # (no ZeRO-3 plan: its gathers per micro-batch never read)
        return link, exposed
    shares = matrix_shares(model) if model and framework.zero3_overlap == "per-matrix" else None
    if shares is not None:  # one matrix at a time (RULE ZERO3-SYNC, zero3_sync.py)
        ring = flat_ring_latency(batch.dp * batch.cp, batch.tp, network)
        on_link3, exposed3 = synced_times(
            shares, compute, crit["recompute"], gather, reduce_scatter, batch.recompute == _FULL,
            crit["layers"], ring if framework.dp_collectives == "flat" else 0.0,
        )  # fmt: skip
        return xp.where(zero >= 3, m * on_link3, link), xp.where(zero >= 3, m * exposed3, exposed)
    gathers = 2 + (framework.zero3_regather_on_recompute & (batch.recompute == _FULL))
    per_mb_zero3 = gathers * gather + reduce_scatter
    busy = compute + crit["recompute"]  # the compute stream's work, recompute included
    hidden3 = busy if framework.overlap_param_gather else xp.zeros_like(compute)
    waited = gather if framework.zero3_backward_prefetch == "post" else xp.zeros_like(gather)
    overlapped = per_mb_zero3 - waited
    exposed_zero3 = m * (waited + xp.maximum(overlapped - hidden3, overlapped / layers_here))
    return xp.where(zero >= 3, m * per_mb_zero3, link), xp.where(zero >= 3, exposed_zero3, exposed)


def optimizer_time(
    batch: Layout, crit: dict[str, np.ndarray], dev: Device, framework: Framework
) -> FloatArray:
    """Per plan, the optimizer update of the slowest stage's parameters on one GPU (sharded
    under ZeRO), streaming the framework's ``optimizer_bytes_per_param`` per parameter
    through HBM."""
    bytes_per_param = framework.optimizer_bytes_per_param
    dp_group, expert_group = dp_groups(batch, framework.moe_parallel_folding)
    dense, experts = crit["dense_params"], crit["expert_params"]
    params = xp.where(batch.zero >= 1, dense / dp_group + experts / expert_group, dense + experts)
    seconds: FloatArray = streaming_time(bytes_per_param * params, 4, dev)
    return seconds


def accumulation_time(
    batch: Layout, crit: dict[str, np.ndarray], m: IntArray, dev: Device, framework: Framework
) -> FloatArray:
    """Per plan, the slowest stage's separate gradient-accumulation kernels over a step: the
    framework's ``grad_accumulation_bytes_per_param`` per local parameter through HBM, for
    each of the ``m - 1`` micro-batches after the first (the first one's gradient is
    assigned, not added: zero_grad(set_to_none=True))."""
    params = crit["dense_params"] + crit["expert_params"]
    per_microbatch = framework.grad_accumulation_bytes_per_param * params
    seconds: FloatArray = xp.maximum(m - 1, 0) * streaming_time(per_microbatch, 0, dev)
    return seconds
