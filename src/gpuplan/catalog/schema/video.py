"""Published training throughput of video diffusion transformers (``gpuplan validate``'s
video table): each row a scenario as its source states it, and what was measured."""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from gpuplan.catalog.schema.base import Positive, Record


class VideoThroughputRow(Record):
    """One published measurement: the scenario (model, accelerator, count, clip or
    sequence, batch, the parallel layout stated) and its throughput per GPU."""

    id: str
    group: str
    """The source, held out whole: nothing is fitted on any video row."""
    scenario: dict[str, Any]
    """A scenario mapping with only what the source states (fields left out are searched)."""
    measured_tokens_per_s_per_gpu: Positive | None = None
    measured_model_tflops_per_gpu: Positive | None = None
    measured_step_s: Positive | None = None
    """Seconds per optimizer step as the source states them (encoders and all), for the
    scenario's global batch on its GPUs; compared as clips per second per GPU."""

    @model_validator(mode="after")
    def _one_measure(self) -> VideoThroughputRow:
        given = (
            self.measured_tokens_per_s_per_gpu,
            self.measured_model_tflops_per_gpu,
            self.measured_step_s,
        )
        if sum(v is not None for v in given) != 1:
            raise ValueError(
                f"{self.id}: give one of measured_tokens_per_s_per_gpu, "
                "measured_model_tflops_per_gpu or measured_step_s"
            )
        if self.measured_step_s is not None:
            training = self.scenario.get("training") or {}
            if not isinstance(self.scenario.get("gpus"), int) or not training.get("global_batch"):
                raise ValueError(
                    f"{self.id}: measured_step_s needs the scenario's gpus (a number) and "
                    "training.global_batch, the clips of one step"
                )
        return self


class SeedVideoRun(Record):
    """A video claim of the seed article as a video run (``gpuplan demo``'s video table):
    the cluster it names, and the scenario that stands for it (ranges for the unknowns)."""

    id: str
    label: str
    cluster: str
    """The seed cluster (seed.yaml) whose claim this run stands for."""
    claim: str
    scenario: dict[str, Any]
    """A scenario mapping without ``training.days`` (the demo's days are put in)."""
