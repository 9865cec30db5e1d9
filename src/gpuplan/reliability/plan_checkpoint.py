"""Checkpoints of a parallel plan, and the wall time it takes to train with failures.

The checkpoint of a plan is written in parallel: every GPU writes the model state it holds
(its weights and optimizer shard, as the memory model counts them for the most loaded GPU),
state replicated over data-parallel ranks is written by one replica (Megatron Core's
distributed checkpointing saves the shards with ``replica_id`` 0; its fully parallel save
wrapper, which spreads replicas, is an option left out here), and the job waits for the
slowest writer. So the write takes::

    delta = max(state_bytes_per_gpu / per-GPU write rate, checkpoint bytes / storage rate)

The per-GPU rate is a server's link to storage shared by its GPUs, the cap the storage's
aggregate rate (both reliability.yaml): ZeRO sharding, tensor and pipeline parallelism
shrink the first term; the second, the job's total, binds for most plans. A
restart relaunches the job and reads the checkpoint back at the same rate. Failures stop
the whole synchronous job: its mean time between interruptions is ``1 / (rate x GPUs
used)``. With the checkpoint interval at the exact optimum (Daly 2006), the wall time per
training step is ``step_time / goodput``; plans are ranked by it (:class:`TimeToTrainRank`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gpuplan import units
from gpuplan.catalog import Catalog, load_catalog
from gpuplan.catalog.schema import ReliabilityParameterId
from gpuplan.reliability.analytical import (
    MODEL_ASSUMPTIONS,
    IntervalRule,
    ReliabilityEstimate,
    ReliabilityRates,
    assemble_estimate,
    checkpoint_bytes,
    job_mtbi_s,
    optimal_interval_s,
)
from gpuplan.reliability.from_catalog import rates_from_catalog

FloatArray = NDArray[np.float64]

PLAN_ASSUMPTION = (
    "checkpoint write time from the plan's sharding: each GPU writes the weights and "
    "optimizer state it holds (one data-parallel replica writes replicated state; Megatron "
    "Core distributed checkpointing) at its share of its server's link to storage, capped by "
    "the storage's aggregate rate"
)


def node_write_bytes_per_s_per_gpu(catalog: Catalog | None = None) -> float:
    """A server's write rate to storage shared by its GPUs (reliability.yaml:
    ``checkpoint_write_gb_per_s_per_node`` / ``gpus_per_node``): 50 GB/s / 8 = 6.25 GB/s."""
    table = {p.id: p.value for p in (catalog or load_catalog()).reliability_parameters.values()}
    ids = ReliabilityParameterId
    return table[ids.CHECKPOINT_WRITE_GB_PER_S_PER_NODE] * units.GB / table[ids.GPUS_PER_NODE]


_KEPT_RATES: list[tuple[Catalog, ReliabilityRates]] = []
"""The rates of the last few catalogs asked for (a catalog is immutable): every plan asks
twice (its search's ranking, its run's failures), a Monte Carlo or a sweep once per sample."""


def plan_rates(catalog: Catalog | None = None) -> ReliabilityRates:
    """The catalog's rates with the writers' rate of the plan-aware model: a server's."""
    catalog = catalog or load_catalog()
    for kept, rates in _KEPT_RATES:
        if kept is catalog:
            return rates
    rates = rates_from_catalog(catalog)
    rates = replace(rates, write_bytes_per_s_per_gpu=node_write_bytes_per_s_per_gpu(catalog))
    _KEPT_RATES[:] = [(catalog, rates), *_KEPT_RATES[:3]]
    return rates


def plan_checkpoint_write_s(
    state_bytes_per_gpu: Any, params: float, rates: ReliabilityRates
) -> Any:
    """Seconds to write a plan's checkpoint: the slowest GPU's shard, or the storage cap.

    ``state_bytes_per_gpu`` (a number or an array) is the model state one GPU holds and
    writes, at ``rates.write_bytes_per_s_per_gpu`` (:func:`plan_rates`: its share of a
    server's link). Llama 3 405B on TP 8 x PP 16 with ZeRO-1 holds about 6.6 GB per GPU:
    1.1 s at 6.25 GB/s, below the 2.8 s that its 5.7 TB take at 2 TB/s, which binds.
    """
    per_gpu = np.asarray(state_bytes_per_gpu, dtype=np.float64) / rates.write_bytes_per_s_per_gpu
    total_bytes = checkpoint_bytes(params, rates.checkpoint_bytes_per_param)
    cap = 0.0
    if rates.storage_write_bytes_per_s is not None:
        cap = total_bytes / rates.storage_write_bytes_per_s
    return np.maximum(per_gpu, cap)


def _optimal_intervals_s(write_s: FloatArray, mtbi_s: FloatArray) -> FloatArray:
    """The exact optimal interval for each (write, MTBI) pair, solved once per distinct pair."""
    # np.unique(axis=1) sorts the pairs as raw bytes (~30 ms for a 16K-GPU search); a
    # lexicographic sort of the two float columns finds the same distinct pairs.
    write, mtbi = np.ravel(write_s), np.ravel(mtbi_s)
    order = np.lexsort((mtbi, write))
    w, m = write[order], mtbi[order]
    first = np.ones(w.size, dtype=bool)
    first[1:] = (w[1:] != w[:-1]) | (m[1:] != m[:-1])
    inverse = np.empty(w.size, dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    solved = np.array([optimal_interval_s(d, t) for d, t in zip(w[first], m[first], strict=True)],
                      dtype=np.float64)  # fmt: skip
    return np.asarray(solved[inverse].reshape(np.shape(write_s)))


def steady_goodput(write_s: Any, restart_s: Any, mtbi_s: Any) -> FloatArray:
    """Goodput at the optimal interval, ``tau / E[tau + delta]`` (Daly 2006), per plan;
    0 where the job cannot make progress (the expected segment overflows)."""
    delta = np.atleast_1d(np.asarray(write_s, dtype=np.float64))
    m = np.broadcast_to(np.asarray(mtbi_s, dtype=np.float64), delta.shape)
    r = np.broadcast_to(np.asarray(restart_s, dtype=np.float64), delta.shape)
    tau = _optimal_intervals_s(delta, np.asarray(m))
    x = (tau + delta) / m
    log_segment = np.log(m) + r / m + x + np.log(-np.expm1(-x))
    return np.asarray(np.exp(np.log(tau) - log_segment))


@dataclass(frozen=True)
class TimeToTrainRank:
    """Ranks searched plans by wall-clock seconds per training step, failures included:
    ``step_time / goodput``, with each plan's checkpoint write, restart and job MTBI.

    Called by the search (:class:`gpuplan.search.plans.SearchOptions` ``rank_by``) with the
    plans and their evaluated arrays; lower is better, infinite for no progress.
    """

    params: float
    rates: ReliabilityRates
    encoder_share: float = 0.0
    """A video model's frozen text encoders' FLOPs over the transformer's (``E_text / T``),
    0 when latents are precomputed: they run at the transformer's utilisation, and each of
    a plan's ``k`` TP x CP x PP ranks encodes the whole clip, so they add
    ``time_s x k E_text / T`` (:func:`gpuplan.planning.run._with_encoders`)."""
    vae_s_per_token: float = 0.0
    """Seconds one GPU takes to VAE-encode one token's share of a clip (its FLOPs at the
    VAE's measured fraction of the BF16 peak), 0 when latents are precomputed: each rank
    encodes the clips of its data-parallel replica, ``tokens_per_step / dp`` tokens, whatever
    the transformer's speed."""

    def __call__(self, batch: Any, result: Any) -> FloatArray:
        gpus_used = (batch.tp * batch.cp * batch.pp * batch.dp).astype(np.float64)
        state = result.weights_bytes + result.optimizer_bytes
        write = plan_checkpoint_write_s(state, self.params, self.rates)
        mtbi = 1.0 / (self.rates.failures_per_gpu_s * gpus_used)
        good = steady_goodput(write, self.rates.relaunch_at(gpus_used) + write, mtbi)
        ranks = (batch.tp * batch.cp * batch.pp).astype(np.float64)
        step = result.time_s * (1.0 + ranks * self.encoder_share)
        if self.vae_s_per_token > 0:
            step = step + result.tokens_per_step / batch.dp * self.vae_s_per_token
        with np.errstate(divide="ignore"):
            return np.asarray(np.where(good > 0, step / good, np.inf))


@functools.lru_cache(maxsize=4096)
def estimate_plan_reliability(
    params: float,
    gpus: int,
    compute_time_s: float,
    state_bytes_per_gpu: float,
    rates: ReliabilityRates,
) -> ReliabilityEstimate:
    """Interruptions, checkpoints, goodput and wall time of a run on a given plan: the
    checkpoint write from the plan's sharding, the interval at the exact optimum. Kept for
    equal arguments (an immutable estimate): a Monte Carlo's samples that differ only in
    prices or PUE share their plan's step, so their failures too."""
    mtbi = job_mtbi_s(rates.failures_per_gpu_s, gpus)
    write = float(plan_checkpoint_write_s(state_bytes_per_gpu, params, rates))
    restart = rates.relaunch_at(gpus) + write
    tau = optimal_interval_s(write, mtbi)
    return assemble_estimate(
        params, gpus, compute_time_s, mtbi_s=mtbi,
        checkpoint_size_bytes=checkpoint_bytes(params, rates.checkpoint_bytes_per_param),
        write_s=write, restart_s=restart, interval_s=tau, rule=IntervalRule.OPTIMAL,
        assumptions=(*MODEL_ASSUMPTIONS[:2], PLAN_ASSUMPTION, *MODEL_ASSUMPTIONS[3:],
                     *rates.assumptions),
        planned_per_s=rates.planned_interruptions_per_s, redone_fraction=rates.redone_fraction,
    )  # fmt: skip
