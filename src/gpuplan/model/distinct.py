"""Distinct rows of integer keys, and the rows of each: how plans are grouped for evaluation
(by the fields a quantity depends on) in :mod:`gpuplan.model.pipeline` and
:mod:`gpuplan.model.batch`."""

from __future__ import annotations

import numpy as np

IntArray = np.ndarray


def distinct_first(keys: np.ndarray | list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Of the distinct rows of ``keys`` (non-negative integers; a 2-D array, or its columns):
    the index of each one's first occurrence and, per row, the index of its distinct row
    (distinct rows in lexicographic order, as ``np.unique`` gives them).

    Rows are coded as mixed-radix numbers; when the codes are already in order (plans as
    the search enumerates them, with the columns in its order), the distinct rows are the
    runs of equal codes and need no sort."""
    columns = list(keys.T) if isinstance(keys, np.ndarray) else keys
    if columns[0].shape[0] == 1:  # one plan (estimate_step): nothing to sort
        return np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    radices = [int(column.max()) + 1 for column in columns]
    if float(np.prod(np.asarray(radices, dtype=float))) >= 2.0**62:  # the code would overflow
        _, first, inverse = np.unique(np.stack(columns, axis=1), axis=0, return_index=True,
                                      return_inverse=True)  # fmt: skip
        return first, inverse.reshape(-1)
    code = np.zeros(columns[0].shape[0], dtype=np.int64)
    for column, radix in zip(columns, radices, strict=True):
        code = code * radix + column
    starts = np.empty(code.size, dtype=bool)
    starts[0], starts[1:] = True, code[1:] != code[:-1]
    if bool((code[1:] >= code[:-1]).all()):  # in order: a distinct row starts each run
        return np.flatnonzero(starts), np.cumsum(starts) - 1
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def distinct_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``keys`` (non-negative integers) and, per plan, the index of its row
    (distinct rows in lexicographic order, as ``np.unique`` gives them).

    When the mixed-radix codes of the rows take fewer values than a few per row, each code
    is looked up in a table of them all instead of sorted."""
    if keys.shape[0] == 1:  # one plan (estimate_step): itself
        return keys[[0]], np.zeros(1, dtype=np.int64)
    columns = list(keys.T)
    radices = [int(column.max()) + 1 for column in columns] if keys.shape[0] else []
    size = float(np.prod(np.asarray(radices, dtype=float)))
    if keys.shape[0] < 2 or size > max(4 * keys.shape[0], 2**16):
        first, inverse = distinct_first(keys)
        return keys[first], inverse
    code = np.zeros(keys.shape[0], dtype=np.int64)
    for column, radix in zip(columns, radices, strict=True):
        code = code * radix + column
    present = np.zeros(int(size), dtype=bool)
    present[code] = True
    where = np.empty(int(size), dtype=np.int64)
    where[code] = np.arange(code.size)  # a row of each code (any: they are equal)
    return keys[where[present]], (np.cumsum(present) - 1)[code]


def groups_of(shape_of: IntArray, back: IntArray) -> tuple[list[IntArray], list[IntArray]]:
    """Per distinct value ``k`` of ``shape_of`` (0, 1, ...), the rows where it is ``k`` and
    the plans whose row (``back``) is: ``np.flatnonzero(shape_of == k)`` and
    ``np.flatnonzero(shape_of[back] == k)`` for every ``k``, in one sort each."""
    count = 1 if shape_of.size == 1 else int(shape_of.max()) + 1
    if count == 1:  # one shape (a plan given in full): every row and plan
        return [np.arange(shape_of.size)], [np.arange(back.size)]

    def split(keys: IntArray) -> list[IntArray]:
        order = np.argsort(keys, kind="stable")
        return np.split(order, np.bincount(keys, minlength=count).cumsum()[:-1])

    return split(shape_of), split(shape_of[back])
