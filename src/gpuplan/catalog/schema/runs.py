"""Notable training runs (runs.yaml)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from gpuplan import units
from gpuplan.catalog.schema.base import Positive, PositiveInt, Record, Strict


class RunDomain(StrEnum):
    LANGUAGE = "language"
    MULTIMODAL = "multimodal"
    IMAGE_GENERATION = "image-generation"
    VIDEO_GENERATION = "video-generation"
    GAMES = "games"
    VISION = "vision"
    SCIENCE = "science"
    SPEECH = "speech"


class FlopsBasis(StrEnum):
    PUBLISHED = "published"
    """Stated by the developers (paper, report, blog, logbook)."""
    EPOCH_ESTIMATE = "epoch-estimate"
    """Epoch AI's estimate; the record's notes say how."""
    DERIVED_6ND = "derived-6nd"
    """6 x (active) parameters x tokens; the arithmetic is in the notes."""
    OTHER = "other"
    """See the notes; used with ``training_flops: null`` when no figure exists."""


class Run(Record):
    """A published training run (runs.yaml): what it cost in compute, chips, days and dollars.

    Human units only where the key says so (``days``, ``gpu_hours``); ``training_flops`` is
    the total compute of the final run in FLOP (not FLOP/s).
    """

    id: str
    name: str
    organization: str
    date: dt.date
    """Publication or announcement date (as Epoch AI records it unless the notes say)."""
    domain: RunDomain
    params: Positive | None
    """Total parameters."""
    active_params: Positive | None
    """Parameters used per token (mixture-of-experts models); None for dense ones."""
    tokens: Positive | None
    training_flops: Positive | None
    flops_basis: FlopsBasis
    accelerator: str | None
    """gpuplan accelerator id, when the chip is in the catalog."""
    accelerator_name: str | None
    """The chip as published."""
    accelerator_count: PositiveInt | None
    days: Positive | None
    gpu_hours: Positive | None
    cost_usd: Positive | None
    cost_basis: str = ""
    frontier: bool
    """Epoch AI's 'Frontier model' flag, or compute rank <= 10 when published."""

    @model_validator(mode="after")
    def _consistent(self) -> Run:
        if (
            self.active_params is not None
            and self.params is not None
            and self.active_params > self.params
        ):
            raise ValueError(
                f"{self.id}: active_params {self.active_params} exceeds params {self.params}"
            )
        if self.cost_usd is not None and not self.cost_basis.strip():
            raise ValueError(f"{self.id}: cost_usd needs a cost_basis saying where it is from")
        return self

    @property
    def duration_s(self) -> float | None:
        return None if self.days is None else self.days * units.DAY_S


class BatchPhase(Strict):
    """One phase of a published batch ramp: its batch (sequences) and the tokens it ran."""

    global_batch: PositiveInt
    tokens: Positive


class RunTotal(Record):
    """A published run predicted end to end by ``gpuplan validate`` (run_totals.yaml).

    The scenario is what the run's reports state: model, accelerator, count, tokens, global
    batch and sequence length, the framework profile closest to the stack they describe
    (``framework_reason`` says why; None for the default). ``gpu_hours`` and ``days`` are the
    published totals (``totals_basis`` says how they are stated or derived).
    """

    id: str
    name: str
    run: str | None = None
    """The runs.yaml record of the same run, when there is one."""
    model: str
    """gpuplan model id."""
    accelerator: str
    """gpuplan accelerator id."""
    gpus: PositiveInt
    gpus_published: bool
    """False when the count is not published (``gpus_basis`` says where it comes from)."""
    gpus_basis: str = Field(min_length=3)
    tokens: Positive
    global_batch: PositiveInt
    """Sequences per optimizer step."""
    seq_len: PositiveInt
    batch_published: bool
    batch_basis: str = Field(min_length=3)
    framework: str | None
    framework_reason: str = Field(min_length=3)
    parallelism: dict[str, int | bool | str] | None = None
    """The published plan (scenario ``parallelism`` keys); None: searched."""
    parallelism_basis: str | None = None
    """Where the published plan is stated."""
    cluster: str | None = None
    """The catalog cluster profile (clusters.yaml) the run's reports place it on; None: the
    accelerator's reference server."""
    cluster_reason: str | None = None
    batch_schedule: tuple[BatchPhase, ...] | None = None
    """A published batch ramp, phase by phase (tokens add up to ``tokens``); each phase is
    planned at its own batch. None: ``global_batch`` throughout."""
    gpu_hours: Positive
    """Published accelerator-hours of the run (chip-hours on TPUs)."""
    published_basis: Literal["wall", "throughput"] = "wall"
    """What the published totals count: the wall-clock time of the run (downtime included),
    or the training throughput alone (iteration time x iterations, or tokens / throughput),
    which is compared with the failure-free compute time."""
    days: Positive | None
    """Published wall-clock days, when stated."""
    totals_basis: str = Field(min_length=3)

    @model_validator(mode="after")
    def _schedule_adds_up(self) -> RunTotal:
        if self.batch_schedule is not None:
            total = sum(phase.tokens for phase in self.batch_schedule)
            if abs(total / self.tokens - 1) > 0.01:
                raise ValueError(
                    f"{self.id}: batch_schedule tokens {total:.4g} != {self.tokens:.4g}"
                )
        return self

    @property
    def setup_stated(self) -> bool:
        """Whether the reports state the GPU count, tokens and batch (the issue's bar)."""
        return self.gpus_published and self.batch_published


class ChipRun(Record):
    """A published throughput off the H100 predicted through ``plan`` (chip_runs.yaml).

    ``measurement`` is the measurements.yaml row (model, accelerator, count, batch and the
    measured figure); the scenario adds what its reports state about the stack
    (``framework``) and the plan (``parallelism``: the published fields only, the rest
    searched within the stack). ``gpus``/``global_batch`` fill what the row lacks, and
    ``tokens_per_s_per_gpu`` a throughput the source gives as MFU only (arithmetic in
    ``measured_basis``).
    """

    id: str
    measurement: str
    model: str
    """gpuplan model id of the row's shape."""
    framework: str
    framework_reason: str = Field(min_length=3)
    parallelism: dict[str, int | bool | str] | None = None
    parallelism_basis: str = Field(min_length=3)
    cluster: str | None = None
    """The catalog cluster profile its reports place it on; None: the reference server."""
    cluster_reason: str | None = None
    gpus: PositiveInt | None = None
    global_batch: PositiveInt | None = None
    tokens_per_s_per_gpu: Positive | None = None
    measured_basis: str | None = None
