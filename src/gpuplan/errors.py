"""The one exception hierarchy of gpuplan.

::

    GpuplanError                 anything gpuplan raises on purpose
    +-- ScenarioError            a scenario (YAML, CLI flags, web form) is invalid
    +-- CatalogError             a catalog record is missing, unknown or malformed

Every message names the field, the value, what is allowed and, where there is one, the
fix: ``parallelism.tp = 6 does not divide heads = 64; valid: 1, 2, 4, 8``.

An *infeasible* plan (does not fit in memory, GPU count not divisible) is not an error:
it is a result, with a reason (see :class:`gpuplan.planning.run.PlanResult`). A broken internal
invariant is a bug and is an ``assert``.
"""

from __future__ import annotations


class GpuplanError(Exception):
    """Base class of every error gpuplan raises on purpose."""


class ScenarioError(GpuplanError):
    """A scenario is invalid. The message starts with the field path."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


class CatalogError(GpuplanError):
    """A catalog id is unknown, or a catalog file is malformed."""
