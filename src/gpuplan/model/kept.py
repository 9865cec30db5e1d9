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
from typing import Any, Protocol, TypeVar, cast

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
T = TypeVar("T")

_EVERY: list[ByIdentity[Any]] = []
"""Every cache of this kind (:func:`forget`)."""


class ByIdentity(Protocol[R_co]):
    """A function kept by :func:`by_identity`."""

    @property
    def __wrapped__(self) -> Callable[..., R_co]: ...

    def __call__(self, *args: Any) -> R_co: ...

    def cache_clear(self) -> None:
        """Forget every kept call."""

    def cache_size(self) -> int:
        """How many calls are kept."""


def by_identity(records: int, maxsize: int) -> Callable[[Callable[..., R]], ByIdentity[R]]:
    """A decorator: ``fn`` kept per call, its first ``records`` arguments by identity, the
    others by value (each hashable), at most ``maxsize`` calls, the oldest dropped first. A
    call whose other arguments cannot be hashed is not kept. (A closure, not a class with a
    ``__call__``: a kept call costs about half a microsecond, a third of the class's. A
    miss is looked up with ``get``, not found by a KeyError: a scenario's first plan misses
    some fifteen such caches, and raising and catching the error cost more than the
    look-up.)"""

    def decorate(fn: Callable[..., R]) -> ByIdentity[R]:
        kept: dict[tuple[Any, ...], tuple[tuple[object, ...], R]] = {}
        look = kept.get

        def call(*args: Any) -> R:
            if records == 1:  # (the cases in use spelled out: half the time of map's)
                key = (id(args[0]), *args[1:])
            elif records == 2:
                key = (id(args[0]), id(args[1]), *args[2:])
            elif records == 3:
                key = (id(args[0]), id(args[1]), id(args[2]), *args[3:])
            elif records == 4:
                key = (id(args[0]), id(args[1]), id(args[2]), id(args[3]), *args[4:])
            elif records == 5:
                key = (id(args[0]), id(args[1]), id(args[2]), id(args[3]), id(args[4]), *args[5:])
            else:
                key = (*map(id, args[:records]), *args[records:])
            try:
                found = look(key)  # (an entry is a pair, never None)
            except TypeError:  # an argument that cannot be hashed: not kept
                return fn(*args)
            if found is not None:
                return found[1]
            value = fn(*args)
            if len(kept) >= maxsize:
                # the oldest entry (insertion order); another thread may have taken it
                with contextlib.suppress(RuntimeError, StopIteration):
                    kept.pop(next(iter(kept)), None)
            kept[key] = (args[:records], value)
            return value

        functools.update_wrapper(call, fn)
        call.cache_clear = kept.clear  # type: ignore[attr-defined]
        call.cache_size = kept.__len__  # type: ignore[attr-defined]
        wrapped = cast(ByIdentity[R], call)
        _EVERY.append(wrapped)
        return wrapped

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


def canonical_of(held: T | None, record: T) -> T:
    """:func:`canonical` of a record that a catalog may hold: ``held`` is the catalog's
    record of the same id (None when it has none). The catalog's own record stands for
    itself, found without a hash or a kept call (a loaded catalog holds one object per
    id, and most plans are asked of its records); a record equal to it (a scenario
    resolved again, a catalog record copied) stands for the catalog's; any other, the
    first equal record seen."""
    if held is record:
        return record
    return _held_or_first(held, record)  # type: ignore[return-value]


@by_identity(records=2, maxsize=CANONICAL_RECORDS)
def _held_or_first(held: object, record: object) -> object:
    """:func:`canonical_of` of a record the catalog does not hold as that object, kept per
    pair (by identity: each copy is compared once)."""
    return held if held is not None and held == record else _canonical(record)
