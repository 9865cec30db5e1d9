"""Held-out validation residuals and accelerator generations, as the intervals read them.

``validation_residuals.yaml`` is written by ``gpuplan validate --write-residuals`` (the
validation code, :mod:`gpuplan.checks.residuals`), never by hand: one row per published
step time the model predicted, each with ``log(measured / predicted)`` from a model fitted
without that row's source. ``generations.yaml`` says which accelerators share an
architecture, the "hardware generation" by which rows are comparable. A plan reads both
from here (a few milliseconds) instead of re-running the validation (seconds); a test checks
the stored residuals against a fresh run.
"""

from __future__ import annotations

import functools

from pydantic import Field

from gpuplan.catalog.loader import _parse, _read_yaml
from gpuplan.catalog.schema.base import PositiveInt, Record
from gpuplan.catalog.schema.models import Model

RESIDUALS_FILE = "validation_residuals.yaml"
GENERATIONS_FILE = "generations.yaml"


class Residual(Record):
    """One validation row: a published step time against the held-out prediction."""

    id: str
    source_group: str
    accelerator: str
    framework: str
    """The framework profile the row was predicted with (frameworks.yaml id)."""
    gpus: PositiveInt
    precision: str
    model_kind: str = "dense"
    """``dense``, ``moe`` (mixture of experts) or ``video-dit``: see :func:`model_kind`."""
    measured_step_s: float = Field(gt=0)
    predicted_step_s: float = Field(gt=0)
    log_ratio: float
    """``log(measured / predicted)``: positive when the run was slower than predicted."""
    measured_mfu: float | None = None
    """Model FLOPs per second per GPU of the published run over the dense BF16 peak."""
    held_out_by: str
    """How the prediction is held out from the row's source (which fit it rests on)."""


class Generation(Record):
    """An accelerator architecture: the accelerators whose rows are comparable."""

    id: str
    name: str
    accelerators: tuple[str, ...] = Field(min_length=1)


def model_kind(model: Model) -> str:
    """The kind of model a residual (or a plan) is: ``video-dit``, ``moe`` or ``dense``."""
    if model.kind.value != "llm":
        return model.kind.value
    return "moe" if model.moe is not None else "dense"


@functools.cache
def load_residuals() -> tuple[Residual, ...]:
    rows = _parse(RESIDUALS_FILE, "residuals", Residual, _read_yaml(RESIDUALS_FILE))
    return tuple(rows.values())


@functools.cache
def load_generations() -> dict[str, Generation]:
    return _parse(GENERATIONS_FILE, "generations", Generation, _read_yaml(GENERATIONS_FILE))


def highest_measured_mfu(precision: str) -> tuple[float, str]:
    """(MFU, row id): the highest MFU (over the dense BF16 peak) measured on a validation
    row of this precision (any precision's when none has one). What a what-if MFU and an
    audited run are judged against: no published run of the catalog did better."""
    rows = [r for r in load_residuals() if r.precision == precision and r.measured_mfu]
    rows = rows or [r for r in load_residuals() if r.measured_mfu]
    best = max(rows, key=lambda r: r.measured_mfu or 0.0)
    assert best.measured_mfu is not None
    return best.measured_mfu, best.id


def above_measured_mfu(precision: str) -> tuple[float, str]:
    """(MFU, words): :func:`highest_measured_mfu` and the end of the warning every what-if MFU
    above it gets (plan notes, Monte Carlo notes): 'the highest MFU measured on any validated
    BF16 run (61.7%, row); no published run reached it'."""
    best, row = highest_measured_mfu(precision)
    words = (f"the highest MFU measured on any validated {precision.upper()} run "
             f"({best:.1%}, {row}); no published run reached it")  # fmt: skip
    return best, words


def generation_of(accelerator_id: str) -> str:
    """The architecture id of an accelerator; the accelerator's own id when unlisted."""
    for generation in load_generations().values():
        if accelerator_id in generation.accelerators:
            return generation.id
    return accelerator_id
