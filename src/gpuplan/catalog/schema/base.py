"""The base record and the constrained number types every catalog schema uses.

Data files use human units only where the key says so (``hbm_gib``, ``tdp_w``,
``peak_bf16_dense_tflops``); the properties convert them to SI once. Every record
carries ``source`` and ``retrieved``; the loader refuses a record without them.
"""

from __future__ import annotations

import datetime as dt
import math
import types
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator


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


@cache
def _takes_bool(model: type[BaseModel], name: str) -> bool:
    """Whether the field is a yes/no field (``bool`` or ``bool | None``)."""
    field = model.model_fields.get(name)
    annotation = field.annotation if field is not None else None
    if annotation is bool:
        return True
    return get_origin(annotation) in (Union, types.UnionType) and bool in get_args(annotation)


class Strict(BaseModel):
    """Base of every block a user or a data file writes (catalog records and their nested
    blocks, the scenario's sections): frozen, no unknown keys, and a yes/no field takes only
    true or false. pydantic would read 1, 0, 'yes', 'off' or 'f' as a boolean, so that
    ``tied_embeddings: 1`` passed; this is the one place booleans are defined."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _boolean_only(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) or value is None or info.field_name is None:
            return value
        if _takes_bool(cls, info.field_name):
            raise ValueError("must be true or false (a YAML boolean)")
        return value


class Record(Strict):
    """Base of every catalog record: frozen, no unknown keys, a source and a date."""

    source: str = Field(min_length=3)
    retrieved: dt.date
    notes: str = ""
