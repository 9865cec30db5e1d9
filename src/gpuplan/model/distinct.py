"""Distinct rows of integer keys, and the rows of each: how plans are grouped for evaluation
(by the fields a quantity depends on) in :mod:`gpuplan.model.pipeline` and
:mod:`gpuplan.model.batch`."""

from __future__ import annotations

import numpy as np

IntArray = np.ndarray


def distinct_first(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Of the distinct rows of ``keys`` (non-negative integers): the index of each one's
    first occurrence and, per row, the index of its distinct row."""
    if keys.shape[0] == 1:  # one plan (estimate_step): nothing to sort
        return np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    code = np.zeros(keys.shape[0], dtype=np.int64)
    radix = 1
    for column in keys.T:
        radix *= int(column.max()) + 1
    if radix >= 2**62:  # the mixed-radix code would overflow int64: compare rows instead
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        return first, inverse.reshape(-1)
    for column in keys.T:
        code = code * (int(column.max()) + 1) + column
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def distinct_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``keys`` (non-negative integers) and, per plan, the index of its row."""
    first, inverse = distinct_first(keys)
    return keys[first], inverse


def groups_of(shape_of: IntArray, back: IntArray) -> tuple[list[IntArray], list[IntArray]]:
    """Per distinct value ``k`` of ``shape_of`` (0, 1, ...), the rows where it is ``k`` and
    the plans whose row (``back``) is: ``np.flatnonzero(shape_of == k)`` and
    ``np.flatnonzero(shape_of[back] == k)`` for every ``k``, in one sort each."""
    count = int(shape_of.max()) + 1

    def split(keys: IntArray) -> list[IntArray]:
        order = np.argsort(keys, kind="stable")
        return np.split(order, np.bincount(keys, minlength=count).cumsum()[:-1])

    return split(shape_of), split(shape_of[back])
