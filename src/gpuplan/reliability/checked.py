"""Checks of the reliability model's arguments: a ValueError naming the argument, the value
and what is allowed."""

from __future__ import annotations

import math

import numpy as np


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, int | float | np.number) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} = {value!r}; allowed: a finite number > 0")
    return float(value)


def _non_negative(name: str, value: float) -> float:
    if not (isinstance(value, int | float | np.number) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} = {value!r}; allowed: a finite number >= 0")
    return float(value)


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} = {value!r}; allowed: an integer >= 1")
    return int(value)
