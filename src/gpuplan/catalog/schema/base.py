"""The base record and the constrained number types every catalog schema uses.

Data files use human units only where the key says so (``hbm_gib``, ``tdp_w``,
``peak_bf16_dense_tflops``); the properties convert them to SI once. Every record
carries ``source`` and ``retrieved``; the loader refuses a record without them.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _number(value: Any) -> Any:
    """Booleans are not numbers (pydantic would read YAML or JSON ``true`` as 1), and NaN or
    infinity is no quantity (NaN fails every bound with a misleading message)."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not the boolean {str(value).lower()}")
    if isinstance(value, str):  # CLI flags and web forms send '--mfu nan' as text
        try:
            parsed = float(value)
        except ValueError:
            return value  # pydantic says it is not a number
        if not math.isfinite(parsed):
            raise ValueError("must be a finite number")
        if "e" not in value.lower():
            return value
        value = parsed  # YAML 1.1 reads 1e13 (no dot) as text; it is a number
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        if abs(value) >= 2**53:  # whole; as an int, 1e30 meets the field's bound, not an
            return int(value)  # obscure 'exceeded maximum size' of pydantic's int parsing
    return value


Number = BeforeValidator(_number)
"""In every numeric field a user writes (the scenario, an inline model's video block, an inline
cluster): refuses booleans, NaN and infinity by name."""


Positive = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]
Fraction = Annotated[float, Field(gt=0, le=1)]


class Record(BaseModel):
    """Base of every catalog record: frozen, no unknown keys, a source and a date."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    source: str = Field(min_length=3)
    retrieved: dt.date
    notes: str = ""
