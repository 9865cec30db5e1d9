"""The base record and the constrained number types every catalog schema uses.

Data files use human units only where the key says so (``hbm_gib``, ``tdp_w``,
``peak_bf16_dense_tflops``); the properties convert them to SI once. Every record
carries ``source`` and ``retrieved``; the loader refuses a record without them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Positive = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]
Fraction = Annotated[float, Field(gt=0, le=1)]


class Record(BaseModel):
    """Base of every catalog record: frozen, no unknown keys, a source and a date."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    source: str = Field(min_length=3)
    retrieved: dt.date
    notes: str = ""
