"""A validated sweep: its base scenario and, per swept path, one value per point."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gpuplan.scenario.distributions import with_values


class SweepMode(StrEnum):
    GRID = "grid"
    RANDOM = "random"


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: the base mapping and, per swept path, one value per point."""

    base: Mapping[str, Any]
    mode: SweepMode
    values: Mapping[str, Sequence[Any]]
    size: int
    seed: int | None = None
    notes: tuple[str, ...] = ()

    def point(self, index: int) -> dict[str, Any]:
        return {path: column[index] for path, column in self.values.items()}

    def scenario(self, index: int) -> dict[str, Any]:
        """The scenario mapping of point ``index``."""
        return with_values(self.base, self.point(index))
