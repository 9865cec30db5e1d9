"""Bounded work for the web server: worker pools with a queue limit and a deadline.

A :class:`Pool` runs blocking functions (plans, searches) on a fixed number of daemon
threads. A request waits at most until its deadline: past it the caller gets
:class:`Overdue` (the app answers 504) and the work stops at its next :func:`checkpoint`
(every plan search calls one, see :class:`CheckedSearchCache`), so a thread is not held long
by an abandoned request. When the pool's threads are busy and ``max_waiting`` requests already
wait, :class:`Busy` is raised at once (503). :func:`stop_all` makes every checkpoint raise
(the server is shutting down); daemon threads never keep the process alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from gpuplan.search.cache import SearchCache, SearchKey
from gpuplan.search.plans import SearchResult

T = TypeVar("T")

_local = threading.local()
_stopping = threading.Event()


class Overdue(Exception):
    """The request's deadline passed."""


class Busy(Exception):
    """Every thread of the pool is busy and the queue is full."""


def checkpoint() -> None:
    """Raise :class:`Overdue` when this thread's request is past its deadline or the server
    stops; a no-op outside a pool's thread."""
    deadline = getattr(_local, "deadline", None)
    if deadline is None:
        return
    if _stopping.is_set():
        raise Overdue("the server is stopping")
    if time.monotonic() > deadline:
        raise Overdue("past the request's deadline")


def stop_all() -> None:
    """Make every checkpoint raise: running work ends at its next plan search."""
    _stopping.set()


class CheckedSearchCache(SearchCache):
    """A :class:`SearchCache` (shared by every request) that calls :func:`checkpoint` before
    each search, hit or miss."""

    def search(self, *args: Any, **kwargs: Any) -> tuple[SearchKey, SearchResult]:
        checkpoint()
        return super().search(*args, **kwargs)


_Job = tuple[Callable[[], Any], float, "asyncio.Future[Any]", asyncio.AbstractEventLoop]


class Pool:
    """``workers`` daemon threads and a bounded queue."""

    def __init__(self, name: str, workers: int, max_waiting: int) -> None:
        self.name = name
        self.workers = workers
        self.max_waiting = max_waiting
        self.pending = 0
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def _start(self) -> None:
        while len(self._threads) < self.workers:
            thread = threading.Thread(
                target=self._serve, name=f"gpuplan-{self.name}-{len(self._threads)}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _serve(self) -> None:
        while True:
            fn, deadline, future, loop = self._jobs.get()
            try:
                if future.cancelled() or time.monotonic() > deadline:
                    continue  # its caller has already been answered
                _local.deadline = deadline
                try:
                    outcome: tuple[bool, Any] = (True, fn())
                except Exception as exc:  # handed to the caller, who decides
                    outcome = (False, exc)
                finally:
                    _local.deadline = None
                _settle(loop, future, outcome)
            finally:
                with self._lock:
                    self.pending -= 1

    async def run(self, fn: Callable[[], T], deadline: float) -> T:
        """``fn()`` on a pool thread; :class:`Overdue` past ``deadline`` (time.monotonic),
        :class:`Busy` when the queue is full."""
        with self._lock:
            if self.pending >= self.workers + self.max_waiting:
                raise Busy(
                    f"{self.pending} requests are running or waiting (limit "
                    f"{self.workers + self.max_waiting}); retry shortly"
                )
            self.pending += 1
            self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put((fn, deadline, future, loop))
        try:
            return await asyncio.wait_for(future, timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise Overdue("past the request's deadline") from None


def _settle(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], outcome: Any) -> None:
    def settle() -> None:
        if future.done():
            return
        ok, value = outcome
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for this answer
        loop.call_soon_threadsafe(settle)
