"""Failure rates of large jobs and the checkpoint/restart parameters."""

from __future__ import annotations

from enum import StrEnum

from pydantic import model_validator

from gpuplan import units
from gpuplan.catalog.schema.base import Positive, PositiveInt, Record


class FailureMetric(StrEnum):
    """How a source states its failure rate; each converts once to failures per GPU-hour."""

    JOB_INTERRUPTIONS = "job-interruptions"
    """Interruptions counted on one job: ``interruptions`` over ``gpus`` x ``duration_days``."""
    NODE_FAILURE_RATE = "node-failure-rate"
    """Failures per 1000 node-days across a cluster (Kokolis et al. 2024, r_f)."""
    JOB_MTTF = "job-mttf"
    """Measured mean time to failure of jobs of ``gpus`` GPUs."""


class Confidence(StrEnum):
    HIGH = "high"
    """Read from the primary source."""
    MEDIUM = "medium"
    """A secondary quote that agrees with other sources."""
    LOW = "low"
    """A single secondary source, or a count read from prose ("roughly weekly")."""


class FailureRate(Record):
    """A published rate of job-stopping failures of GPUs in large training jobs.

    The rate is stored as published (a count over a window, a rate per node-day, or a
    job MTTF) and converted once, by :attr:`failures_per_gpu_hour`.
    """

    id: str
    name: str
    hardware: str
    """The accelerator as published (free text; not necessarily a catalog id)."""
    metric: FailureMetric
    gpus: PositiveInt | None = None
    """GPUs in the job (JOB_INTERRUPTIONS, JOB_MTTF)."""
    gpus_per_node: PositiveInt = 8
    duration_days: Positive | None = None
    interruptions: PositiveInt | None = None
    """Job interruptions counted in ``duration_days``."""
    failures_per_1000_node_days: Positive | None = None
    mttf_hours: Positive | None = None
    provenance: str
    confidence: Confidence
    default: bool = False
    """The rate gpuplan uses unless told otherwise; exactly one record has it."""

    @model_validator(mode="after")
    def _has_its_fields(self) -> FailureRate:
        needs = {
            FailureMetric.JOB_INTERRUPTIONS: ("gpus", "duration_days", "interruptions"),
            FailureMetric.NODE_FAILURE_RATE: ("failures_per_1000_node_days",),
            FailureMetric.JOB_MTTF: ("gpus", "mttf_hours"),
        }[self.metric]
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.id}: metric {self.metric.value} needs {', '.join(missing)}")
        return self

    @property
    def failures_per_gpu_hour(self) -> float:
        """Job-stopping failures per GPU-hour, assuming they scale with GPU count."""
        if self.metric is FailureMetric.JOB_INTERRUPTIONS:
            assert self.interruptions and self.gpus and self.duration_days
            return self.interruptions / (self.gpus * self.duration_days * 24.0)
        if self.metric is FailureMetric.NODE_FAILURE_RATE:
            assert self.failures_per_1000_node_days
            return self.failures_per_1000_node_days / 1000.0 / (self.gpus_per_node * 24.0)
        assert self.mttf_hours and self.gpus
        return 1.0 / (self.mttf_hours * self.gpus)

    @property
    def failures_per_gpu_s(self) -> float:
        return self.failures_per_gpu_hour / units.HOUR_S


class ReliabilityParameterId(StrEnum):
    """The checkpoint and restart defaults the reliability model reads from the catalog."""

    CHECKPOINT_BYTES_PER_PARAM = "checkpoint_bytes_per_param"
    CHECKPOINT_WRITE_GB_PER_S_PER_GPU = "checkpoint_write_gb_per_s_per_gpu"
    CHECKPOINT_WRITE_GB_PER_S_PER_NODE = "checkpoint_write_gb_per_s_per_node"
    GPUS_PER_NODE = "gpus_per_node"
    STORAGE_WRITE_TB_PER_S = "storage_write_tb_per_s"
    RESTART_RELAUNCH_S = "restart_relaunch_s"
    RESTART_INIT_S_PER_GPU = "restart_init_s_per_gpu"
    PLANNED_INTERRUPTIONS_PER_DAY = "planned_interruptions_per_day"
    LOSS_SPIKE_REDONE_FRACTION = "loss_spike_redone_fraction"


class ReliabilityParameter(Record):
    """One default of the checkpoint/restart model; the id carries its unit."""

    id: ReliabilityParameterId
    value: Positive
    unit: str
    assumption: bool
    """True where no measurement backs the value: reports list it as an assumption."""
