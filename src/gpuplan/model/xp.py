"""Elementwise helpers that take Python floats or numpy arrays: the model's formulas are
written once, for the arrays of a plan search, and a single plan runs the same formulas on
Python floats (a 1-element array pays numpy's call overhead on every operation; issue 15).

On floats each helper does what numpy does to one element: ``where`` picks, ``maximum``
and ``minimum`` compare (no NaN reaches them), ``floor`` rounds down to a float.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Number = (float, int)
"""Python numbers (a tuple: ``isinstance`` checks one faster than a ``float | int``)."""


def scalars(*values: Any) -> tuple[float, ...] | None:
    """``values`` as Python floats when each is a number or a 1-element array (one plan),
    else None (arrays of many plans)."""
    out = []
    for value in values:
        if isinstance(value, np.ndarray):
            if value.size != 1:
                return None
            value = value.item()
        out.append(float(value))
    return tuple(out)


def shaped(value: float, *like: Any) -> Any:
    """``value`` as an array of the shape that the 1-element inputs ``like`` broadcast to;
    itself when they are all numbers."""
    ndim = -1
    for v in like:
        if isinstance(v, np.ndarray) and v.ndim > ndim:
            ndim = v.ndim
    return value if ndim < 0 else np.array(value, dtype=float, ndmin=ndim)


def floats(value: Any) -> Any:
    """A Python number as a float, anything else as a float array (as ``np.asarray``)."""
    return float(value) if isinstance(value, Number) else np.asarray(value, dtype=float)


def zeros_like(value: Any) -> Any:
    """0.0 for a Python number, else float zeros of ``value``'s shape."""
    return 0.0 if isinstance(value, Number) else np.zeros(np.shape(value))


def where(condition: Any, yes: Any, no: Any) -> Any:
    """``np.where``; on a Python bool, ``yes`` or ``no`` itself (``is``: the two bools are
    singletons, and an identity check costs half an ``isinstance``)."""
    if condition is True:
        return yes
    if condition is False:
        return no
    return np.where(condition, yes, no)


def maximum(a: Any, b: Any) -> Any:
    """``np.maximum``; of two Python numbers, ``max(a, b)`` (spelled out: the first of
    equal ones, as ``max``, without its call)."""
    if isinstance(a, Number) and isinstance(b, Number):
        return b if b > a else a
    return np.maximum(a, b)


def minimum(a: Any, b: Any) -> Any:
    """``np.minimum``; of two Python numbers, ``min(a, b)`` (spelled out, as
    :func:`maximum`)."""
    if isinstance(a, Number) and isinstance(b, Number):
        return b if b < a else a
    return np.minimum(a, b)


def floor(a: Any) -> Any:
    """``np.floor``; of a finite Python number, a float."""
    if isinstance(a, Number):
        return float(math.floor(a))
    return np.floor(a)


def clip(a: Any, low: Any, high: Any) -> Any:
    """``np.clip`` (``minimum(maximum(a, low), high)``)."""
    if isinstance(a, Number) and isinstance(low, Number) and isinstance(high, Number):
        return min(max(a, low), high)
    return np.clip(a, low, high)


def row_sum(values: Any) -> Any:
    """``values.sum(axis=1)`` of a plans x stages array; of one plan's list of numbers,
    their sum in numpy's order: left to right below 8 terms (where numpy's pairwise sum is
    a plain loop), by numpy itself from 8."""
    if isinstance(values, list):
        return sum(values) if len(values) < 8 else float(np.sum(values))
    return values.sum(axis=1)


def any_(condition: Any) -> bool:
    """Whether any element of ``condition`` (a Python bool or a boolean array) is true."""
    return condition if isinstance(condition, bool) else bool(condition.any())


def all_(condition: Any) -> bool:
    """Whether every element of ``condition`` (a Python bool or a boolean array) is true."""
    return condition if isinstance(condition, bool) else bool(condition.all())
