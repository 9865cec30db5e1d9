"""Failures, checkpoints and goodput of a synchronous training job; Monte Carlo of a run.

A synchronous job stops whenever any one of its GPUs fails ("a single GPU failure may
require a restart of the entire job", Dubey et al. 2024, sec. 3.3.4). With failures
independent across GPUs at ``r`` per GPU-second, the job sees interruptions at rate ``r N``:
mean time between interruptions ``M = 1 / (r N)``. Kokolis et al. 2024 (arXiv 2410.21680)
fit the same law per node, ``MTTF ~ 1 / (N_nodes r_f)``, for jobs above 32 GPUs.

The job computes ``tau`` seconds, then writes a blocking checkpoint for ``delta`` seconds,
and repeats. A failure loses the work since the last completed checkpoint and costs a
restart of ``R`` seconds (relaunch, then read the checkpoint back); a failure during a
restart restarts it. Under exponential failures a segment of ``L = tau + delta`` seconds
then takes, in expectation (Daly 2006, FGCS 22(3):303-312, his complete model)::

    E[L] = M e^(R/M) (e^(L/M) - 1)

so the goodput (useful fraction of wall time) is ``tau / E[tau + delta]``. That exact
expression is what :func:`estimate_reliability` uses; :func:`goodput_first_order` is its
first-order expansion ``1 / (1 + delta/tau + (tau/2 + R)/M)`` (Young 1974, CACM 17(9)),
which drops terms of order ``(tau/M)^2`` and ``delta/M``. Checkpoint intervals: Young's
``sqrt(2 delta M)``, Daly's higher-order series, and the exact optimum of the expression
above, ``tau = M (1 + W0(-e^(-1 - delta/M)))`` (W0 the principal Lambert W branch).

Left out (and listed in ``assumptions``): planned maintenance (Llama 3 had 47 planned
interruptions next to 419 unexpected ones), stragglers, silent data corruption, the first
launch, asynchronous checkpoints (which shrink ``delta``) and hot spares or in-memory
checkpoints (which shrink ``R``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gpuplan import units
from gpuplan.defaults import DEFAULT_SEED as DEFAULT_SEED  # the Monte Carlo seed
from gpuplan.reliability.checked import _count, _non_negative, _positive
from gpuplan.reliability.checkpoint_interval import IntervalRule as IntervalRule
from gpuplan.reliability.checkpoint_interval import checkpoint_interval_s as checkpoint_interval_s
from gpuplan.reliability.checkpoint_interval import daly_interval_s as daly_interval_s
from gpuplan.reliability.checkpoint_interval import optimal_interval_s as optimal_interval_s
from gpuplan.reliability.checkpoint_interval import young_interval_s as young_interval_s

MODEL_ASSUMPTIONS = (
    "failures are independent across GPUs at a constant rate: job MTBI = 1 / (rate x GPUs)",
    "every failure stops the whole synchronous job and rolls it back to the last checkpoint",
    "every GPU writes its checkpoint shard at once and training waits for the write",
    "a restart relaunches the job, then reads the checkpoint back at the write bandwidth",
    "planned maintenance costs one restart each, at a checkpoint; loss-spike rollbacks redo a "
    "fixed fraction of the compute (PaLM's rate); silent data corruption and the first launch "
    "are left out",
)


class FailureLaw(StrEnum):
    EXPONENTIAL = "exponential"
    WEIBULL = "weibull"
    """Weibull times between interruptions with the same mean; shape 1 is exponential,
    shape < 1 (infant mortality, 0.7-0.8 in HPC logs: Schroeder & Gibson 2006) bunches them."""


@dataclass(frozen=True)
class ReliabilityRates:
    """The world numbers of the model, in SI units (:func:`rates_from_catalog` fills them)."""

    failures_per_gpu_s: float
    """Job-stopping failures per GPU-second."""
    checkpoint_bytes_per_param: float
    """Checkpoint bytes per parameter: weights and optimizer state (14 for mixed-precision Adam)."""
    write_bytes_per_s_per_gpu: float
    """Rate at which one GPU's checkpoint shard reaches storage."""
    storage_write_bytes_per_s: float | None
    """Aggregate storage write bandwidth that caps the total; None for no cap."""
    relaunch_s: float
    """Time from a failure to a relaunched job, less ``init_s_per_gpu`` x GPUs, before the
    checkpoint is read."""
    init_s_per_gpu: float = 0.0
    """Job initialisation seconds per GPU: the part of a relaunch that grows with the job."""
    planned_interruptions_per_s: float = 0.0
    """Planned interruptions (maintenance) per second of the run's wall time, each a restart
    taken at a checkpoint (no work lost)."""
    redone_fraction: float = 0.0
    """Fraction of the compute done again after loss-spike rollbacks."""
    assumptions: tuple[str, ...] = ()
    """Which values are assumptions rather than measurements, for reports."""

    def __post_init__(self) -> None:
        _positive("failures_per_gpu_s", self.failures_per_gpu_s)
        _positive("checkpoint_bytes_per_param", self.checkpoint_bytes_per_param)
        _positive("write_bytes_per_s_per_gpu", self.write_bytes_per_s_per_gpu)
        if self.storage_write_bytes_per_s is not None:
            _positive("storage_write_bytes_per_s", self.storage_write_bytes_per_s)
        _non_negative("relaunch_s", self.relaunch_s)
        _non_negative("init_s_per_gpu", self.init_s_per_gpu)
        _non_negative("planned_interruptions_per_s", self.planned_interruptions_per_s)
        _non_negative("redone_fraction", self.redone_fraction)

    def relaunch_at(self, gpus: Any) -> Any:
        """Seconds to relaunch a job on ``gpus`` GPUs (a number or an array)."""
        return self.relaunch_s + self.init_s_per_gpu * gpus


# --------------------------------------------------------------------------- formulas


def job_mtbi_s(failures_per_gpu_s: float, gpus: int) -> float:
    """Mean time between interruptions of a job on ``gpus`` GPUs: ``1 / (r N)``."""
    return 1.0 / (_positive("failures_per_gpu_s", failures_per_gpu_s) * _count("gpus", gpus))


def node_mtbi_s(failures_per_node_s: float, gpus: int, gpus_per_node: int = 8) -> float:
    """Kokolis et al. 2024's form, ``1 / (N_nodes r_f)``, with nodes = ceil(GPUs / per node)."""
    nodes = math.ceil(_count("gpus", gpus) / _count("gpus_per_node", gpus_per_node))
    return 1.0 / (_positive("failures_per_node_s", failures_per_node_s) * nodes)


def checkpoint_bytes(params: float, bytes_per_param: float) -> float:
    """Size of a resumable checkpoint: weights plus optimizer state (ZeRO sec. 3.1: 2 + 12 B)."""
    return _positive("params", params) * _positive("bytes_per_param", bytes_per_param)


def checkpoint_write_s(
    size_bytes: float,
    writers: int,
    write_bytes_per_s_per_gpu: float,
    storage_write_bytes_per_s: float | None = None,
) -> float:
    """Time to write ``size_bytes`` from ``writers`` GPUs at once, capped by the storage."""
    bandwidth = _count("writers", writers) * _positive(
        "write_bytes_per_s_per_gpu", write_bytes_per_s_per_gpu
    )
    if storage_write_bytes_per_s is not None:
        bandwidth = min(
            bandwidth, _positive("storage_write_bytes_per_s", storage_write_bytes_per_s)
        )
    return _positive("size_bytes", size_bytes) / bandwidth


def _log_expected_segment_s(length_s: float, restart_s: float, mtbi_s: float) -> float:
    """ln E[L] = ln M + R/M + ln(e^(L/M) - 1), stable for any L/M (no overflow)."""
    x = length_s / mtbi_s
    return math.log(mtbi_s) + restart_s / mtbi_s + x + math.log(-math.expm1(-x))


def expected_segment_s(length_s: float, restart_s: float, mtbi_s: float) -> float:
    """Expected wall time to get ``length_s`` seconds done between two checkpoints (Daly 2006).

    ``M e^(R/M) (e^(L/M) - 1)``: exact for exponential failures, failures during restarts
    included. Infinite when it overflows a float (the job practically never finishes).
    """
    log_e = _log_expected_segment_s(
        _positive("length_s", length_s),
        _non_negative("restart_s", restart_s),
        _positive("mtbi_s", mtbi_s),
    )
    return math.exp(log_e) if log_e < 709.0 else math.inf


def goodput(interval_s: float, checkpoint_s: float, restart_s: float, mtbi_s: float) -> float:
    """Useful fraction of wall time in steady state: ``tau / E[tau + delta]`` (Daly 2006)."""
    tau = _positive("interval_s", interval_s)
    length = tau + _positive("checkpoint_s", checkpoint_s)
    restart, m = _non_negative("restart_s", restart_s), _positive("mtbi_s", mtbi_s)
    # In logs: the ratio stays exact where E[L] alone would overflow (goodput ~ 1e-300).
    return math.exp(math.log(tau) - _log_expected_segment_s(length, restart, m))


def goodput_first_order(
    interval_s: float, checkpoint_s: float, restart_s: float, mtbi_s: float
) -> float:
    """Young 1974's first-order goodput ``1 / (1 + delta/tau + (tau/2 + R)/M)``.

    Each checkpoint costs ``delta`` per ``tau`` of work; each failure, once per ``M``, loses
    half an interval on average plus the restart. Good while ``tau, delta, R << M``.
    """
    tau, delta = _positive("interval_s", interval_s), _positive("checkpoint_s", checkpoint_s)
    restart, m = _non_negative("restart_s", restart_s), _positive("mtbi_s", mtbi_s)
    return 1.0 / (1.0 + delta / tau + (tau / 2.0 + restart) / m)


def _segments(compute_time_s: float, interval_s: float) -> tuple[int, float]:
    """Full intervals in the run and the compute left over for a last, shorter one."""
    full, last = divmod(compute_time_s, interval_s)
    if full and last <= 1e-9 * interval_s:  # rounding left over, not a segment; a run
        last = 0.0  # shorter than that is still one segment (tokens: 1 gave 0 s of wall)
    return int(full), last


def expected_wall_time_s(
    compute_time_s: float, interval_s: float, checkpoint_s: float, restart_s: float, mtbi_s: float
) -> float:
    """Expected wall time of a run of ``compute_time_s`` failure-free seconds.

    Each full interval and the shorter last one end with a checkpoint; by memorylessness
    the segments' expected times add (Daly 2006).
    """
    delta = _positive("checkpoint_s", checkpoint_s)
    full, last = _segments(_positive("compute_time_s", compute_time_s), interval_s)
    wall = full * expected_segment_s(interval_s + delta, restart_s, mtbi_s) if full else 0.0
    if last > 0:
        wall += expected_segment_s(last + delta, restart_s, mtbi_s)
    return wall


# --------------------------------------------------------------------------- estimate


@dataclass(frozen=True)
class ReliabilityEstimate:
    """What failures do to a run; wall time = compute + checkpointing + failure loss +
    redone compute (loss-spike rollbacks) + planned restarts."""

    params: float
    gpus: int
    compute_time_s: float
    """Failure-free training time."""
    mtbi_s: float
    """Mean time between job interruptions."""
    checkpoint_bytes: float
    checkpoint_write_s: float
    restart_s: float
    """Relaunch plus checkpoint read, per interruption."""
    checkpoint_interval_s: float
    """Compute between two checkpoints (the one used)."""
    interval_rule: IntervalRule | None
    """The rule that chose the interval; None when it was given."""
    young_interval_s: float
    daly_interval_s: float
    goodput: float
    """compute_time_s / wall_time_s: useful fraction of the wall time."""
    interruptions: float
    """Expected interruptions over the run: wall_time_s / mtbi_s (Wald's identity)."""
    wall_time_s: float
    checkpointing_s: float
    """Time spent writing the checkpoints that completed."""
    failure_loss_s: float
    """Lost work, restarts and interrupted checkpoints."""
    lost_gpu_hours: float
    """GPU-hours not spent training: gpus x (wall - compute)."""
    assumptions: tuple[str, ...]
    redone_s: float = 0.0
    """Compute done again after loss-spike rollbacks (failures on it included in
    failure_loss_s)."""
    planned_restarts: float = 0.0
    planned_restart_s: float = 0.0
    """Planned interruptions (maintenance) and the restarts they cost."""

    @property
    def interruptions_per_day(self) -> float:
        return units.DAY_S / self.mtbi_s

    @property
    def progress_overhead_s(self) -> float:
        """A restart and one checkpoint write: what a job must get through between two
        interruptions to bank any work."""
        return self.restart_s + self.checkpoint_write_s

    @property
    def can_progress(self) -> bool:
        """Whether the job gets work done: interrupted on average after it has restarted and
        written one checkpoint (Daly 2006: the expected time of a segment grows without bound
        as the mean time between interruptions falls below the restart and checkpoint time).
        The one test of progress: the plan (planning.run) and the cluster accounts
        (accounting.cluster) both ask it."""
        return self.mtbi_s > self.progress_overhead_s

    @property
    def wall_days(self) -> float:
        return self.wall_time_s / units.DAY_S


@functools.lru_cache(maxsize=4096)  # pure; sweeps over prices and sites ask for it again
def estimate_reliability(
    params: float,
    gpus: int,
    compute_time_s: float,
    rates: ReliabilityRates,
    *,
    rule: IntervalRule = IntervalRule.OPTIMAL,
    interval_s: float | None = None,
) -> ReliabilityEstimate:
    """Interruptions, checkpoint interval, goodput and wall time of a run.

    ``interval_s`` fixes the compute between checkpoints; otherwise ``rule`` chooses it.
    """
    _positive("params", params)
    _count("gpus", gpus)
    _positive("compute_time_s", compute_time_s)
    mtbi = job_mtbi_s(rates.failures_per_gpu_s, gpus)
    size = checkpoint_bytes(params, rates.checkpoint_bytes_per_param)
    write = checkpoint_write_s(
        size, gpus, rates.write_bytes_per_s_per_gpu, rates.storage_write_bytes_per_s
    )
    restart = rates.relaunch_at(gpus) + write
    if interval_s is None:
        tau = checkpoint_interval_s(rule, write, mtbi)
    else:
        tau = _positive("interval_s", interval_s)
    return assemble_estimate(
        params, gpus, compute_time_s, mtbi_s=mtbi, checkpoint_size_bytes=size,
        write_s=write, restart_s=restart, interval_s=tau,
        rule=None if interval_s is not None else IntervalRule(rule),
        assumptions=MODEL_ASSUMPTIONS + rates.assumptions,
        planned_per_s=rates.planned_interruptions_per_s, redone_fraction=rates.redone_fraction,
    )  # fmt: skip


def assemble_estimate(
    params: float,
    gpus: int,
    compute_time_s: float,
    *,
    mtbi_s: float,
    checkpoint_size_bytes: float,
    write_s: float,
    restart_s: float,
    interval_s: float,
    rule: IntervalRule | None,
    assumptions: tuple[str, ...],
    planned_per_s: float = 0.0,
    redone_fraction: float = 0.0,
) -> ReliabilityEstimate:
    """The estimate of a run whose interruptions, checkpoint write, restart, interval and
    number of checkpoints are known: its expected wall time and what follows from it. The
    compute redone after loss-spike rollbacks (``redone_fraction``) runs under failures like
    the rest; planned interruptions (``planned_per_s`` of the wall time) add a restart each."""
    redone = compute_time_s * redone_fraction
    worked = compute_time_s + redone
    wall_failing = expected_wall_time_s(worked, interval_s, write_s, restart_s, mtbi_s)
    planned = planned_per_s * wall_failing
    wall = wall_failing + planned * restart_s
    full, last = _segments(worked, interval_s)  # the writes the wall time holds (counted on
    checkpointing = (full + (last > 0)) * write_s  # compute x (1 + redone), one run showed
    # more writes than its wall held: failures and restarts of -0.0015 s)
    return ReliabilityEstimate(
        params=params,
        gpus=gpus,
        compute_time_s=compute_time_s,
        mtbi_s=mtbi_s,
        checkpoint_bytes=checkpoint_size_bytes,
        checkpoint_write_s=write_s,
        restart_s=restart_s,
        checkpoint_interval_s=interval_s,
        interval_rule=rule,
        young_interval_s=young_interval_s(write_s, mtbi_s),
        daly_interval_s=daly_interval_s(write_s, mtbi_s),
        goodput=compute_time_s / wall,
        interruptions=wall_failing / mtbi_s,
        wall_time_s=wall,
        checkpointing_s=checkpointing,
        failure_loss_s=wall_failing - worked - checkpointing,
        redone_s=redone,
        planned_restarts=planned,
        planned_restart_s=planned * restart_s,
        lost_gpu_hours=gpus * (wall - compute_time_s) / units.HOUR_S,
        assumptions=assumptions,
    )
