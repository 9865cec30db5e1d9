"""Bounded caches keyed by the identity of immutable records (issue 15: one plan).

Hashing a catalog record (a frozen pydantic model, fields nested in fields) or a
:class:`~gpuplan.model.kernels.Device` costs about a microsecond each time it is a cache
key, and a plan given in full asked for some twenty such hashes. The records a scenario
plans with are the same objects from call to call (the catalog is loaded once, and
:func:`gpuplan.model.performance.estimate` keeps the device and network it builds), so a
cache may key them by ``id()``: an entry holds its records, so no other object can take
their ids while it is kept. Records that are equal but not the same object miss, and are
computed again: the values are those of the function, whichever way they are found.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any, Generic, TypeVar

R = TypeVar("R")
T = TypeVar("T")

_EVERY: list[ByIdentity[Any]] = []
"""Every cache of this kind (:func:`forget`)."""


class ByIdentity(Generic[R]):
    """``fn`` kept per call: its first ``records`` arguments by identity, the others by value
    (each hashable), at most ``maxsize`` calls, the oldest dropped first. A call whose other
    arguments cannot be hashed is not kept."""

    def __init__(self, fn: Callable[..., R], records: int, maxsize: int) -> None:
        self._fn, self._records, self._maxsize = fn, records, maxsize
        self._kept: dict[tuple[Any, ...], tuple[tuple[object, ...], R]] = {}
        functools.update_wrapper(self, fn)
        _EVERY.append(self)

    def __call__(self, *args: Any) -> R:
        records = args[: self._records]
        key = (*map(id, records), *args[self._records :])
        try:
            return self._kept[key][1]
        except KeyError:
            pass
        except TypeError:  # an argument that cannot be hashed: not kept
            return self._fn(*args)
        value = self._fn(*args)
        if len(self._kept) >= self._maxsize:
            # the oldest entry (insertion order); another thread may have taken it
            with contextlib.suppress(RuntimeError, StopIteration):
                self._kept.pop(next(iter(self._kept)), None)
        self._kept[key] = (records, value)
        return value

    def cache_clear(self) -> None:
        """Forget every kept call."""
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)


def by_identity(records: int, maxsize: int) -> Callable[[Callable[..., R]], ByIdentity[R]]:
    """:class:`ByIdentity` as a decorator."""

    def decorate(fn: Callable[..., R]) -> ByIdentity[R]:
        return ByIdentity(fn, records, maxsize)

    return decorate


def forget() -> None:
    """Empty every cache of this kind and the records of :func:`canonical` (tests and
    benchmarks that time a cold start)."""
    for kept in _EVERY:
        kept.cache_clear()
    _first_seen.clear()


CANONICAL_RECORDS = 1024
"""Records kept by :func:`canonical` (all of them forgotten when it is full)."""
_first_seen: dict[object, object] = {}


@by_identity(records=1, maxsize=CANONICAL_RECORDS)
def _canonical(record: object) -> object:
    """:func:`canonical`, kept per record (by identity: each object is hashed once)."""
    try:
        if len(_first_seen) >= CANONICAL_RECORDS:
            _first_seen.clear()
        return _first_seen.setdefault(record, record)
    except TypeError:  # a record that cannot be hashed (a list or dict field): itself
        return record


def canonical(record: T) -> T:
    """The first record seen that equals ``record`` (itself when none): records equal but
    not the same object (a scenario resolved again, an inline model parsed again) then
    share what the caches keyed by identity keep. Each object is hashed once."""
    return _canonical(record)  # type: ignore[return-value]
