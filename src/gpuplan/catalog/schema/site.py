"""Sites (grids, electricity, households, PUE), system factors and the seed clusters."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gpuplan.catalog.schema.base import PositiveInt, Record


class Grid(Record):
    id: str
    name: str
    kgco2e_per_kwh: Annotated[float, Field(ge=0, le=2)]
    year: int


class ElectricityPrice(Record):
    id: str
    usd_per_kwh: Annotated[float, Field(gt=0, le=2)]
    year: int
    basis: str


class Household(Record):
    id: str
    name: str
    kwh_per_year: Annotated[float, Field(gt=100, le=50_000)]
    year: int


class Pue(Record):
    id: str
    value: Annotated[float, Field(ge=1, le=3)]


class SystemParameter(Record):
    """A cost or power factor of the system around the chip, with per-chip overrides.

    Example: the ratio of server power to chip TDP is 1.82 for a DGX H100 and 1.56 for
    TPU hosts; ``value`` is the default for chips without an override.
    """

    id: str
    value: float
    unit: str
    by_accelerator: dict[str, float] = Field(default_factory=dict)

    def for_accelerator(self, accelerator_id: str) -> float:
        return self.by_accelerator.get(accelerator_id, self.value)


class SeedCluster(Record):
    """A cluster named in the article that started gpuplan (catalog/data/seed.yaml cites it)."""

    id: str
    label: str
    claim: str
    hardware: str
    gpus: PositiveInt
    year: int
