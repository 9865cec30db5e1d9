"""The worker side of a sweep: tasks, the state a worker keeps, and the two executors.

A :class:`Task` carries the base scenario, some points (index and swept values), the plan
searches made elsewhere that they need, and the catalog (None: the worker loads the
default one). :func:`prime` plans one point and returns the searches it used;
:func:`run_task` plans all the task's points into a pyarrow table. A worker keeps its catalog
and a :class:`gpuplan.search.cache.SearchCache` across tasks (:func:`worker_state`).

Executors (:func:`executor`): spawned local processes (``spawn`` works the same on every
platform and does not fork a parent that may run threads, such as a progress bar), or a
Dask cluster through a ``distributed.Client``. Local workers ignore Ctrl-C (the parent
stops them: ``close(aborted=True)`` terminates them, so none is left behind).

Every point is a row: bad input is an error row (:func:`gpuplan.studies.rows.flat_plan`),
and so is a point whose planning fails unexpectedly or takes longer than the task's
``row_time_limit_s`` (enforced with ``SIGALRM`` where the task runs on a process's main
thread: local workers and the in-process sweep, not Dask's worker threads).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

from gpuplan.catalog.loader import Catalog, load_catalog
from gpuplan.errors import shorten
from gpuplan.planning.result import PlanResult
from gpuplan.scenario.distributions import with_values
from gpuplan.search.cache import SearchCache, SearchKey
from gpuplan.search.plans import SearchResult
from gpuplan.studies.rows import Scalar, flat_plan, plan_row
from gpuplan.studies.sweep_groups import plan_chunk

if TYPE_CHECKING:
    from distributed import Client


@dataclass(frozen=True)
class Task:
    """What a worker needs: the base, some points, searches made elsewhere, the catalog."""

    base: Mapping[str, Any]
    indices: Sequence[int]
    values: Mapping[str, Sequence[Any]]
    searches: Mapping[SearchKey, SearchResult]
    catalog: Catalog | None
    catalog_token: str
    row_time_limit_s: float | None = None
    text_paths: frozenset[str] = frozenset()
    """Swept paths whose cells are JSON text (their values are of several kinds)."""


class RowTimeout(Exception):
    """A point took longer than its time limit."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise RowTimeout


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`RowTimeout` in the block after ``seconds``; no limit off the main
    thread or without SIGALRM (the block then runs to its end)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if seconds is None or not usable:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def planned_row(
    data: Mapping[str, Any], catalog: Catalog, cache: SearchCache, limit_s: float | None
) -> tuple[dict[str, Scalar], PlanResult | None]:
    """:func:`plan_row` of one point (its row and result), an error row if it fails or runs
    out of time."""
    try:
        with time_limit(limit_s):
            return plan_row(data, catalog, cache)
    except RowTimeout:
        return {
            "error": f"took longer than the row time limit of {limit_s:g} s",
            "fits": False,
        }, None
    except Exception as exc:  # a bug or an unforeseen value: this row only, the rest go on
        what = shorten(f"{type(exc).__name__}: {exc}")
        return {"error": f"could not be planned ({what})", "fits": False}, None


_WORKER_LOCK = threading.Lock()
_WORKER_STATE: dict[str, tuple[Catalog, SearchCache]] = {}
"""Per catalog token, the catalog and the search cache a worker keeps across tasks (the
default catalog's, and those of the last few sweeps given a catalog of their own)."""
MAX_WORKER_CATALOGS = 4


def worker_state(task: Task) -> tuple[Catalog, SearchCache]:
    with _WORKER_LOCK:
        if task.catalog_token not in _WORKER_STATE:
            catalog = load_catalog() if task.catalog is None else task.catalog
            _WORKER_STATE[task.catalog_token] = (catalog, SearchCache())
            if len(_WORKER_STATE) > MAX_WORKER_CATALOGS:
                oldest = next(k for k in _WORKER_STATE if k != "default")
                del _WORKER_STATE[oldest]
        catalog, cache = _WORKER_STATE[task.catalog_token]
    cache.update(task.searches)
    return catalog, cache


def prime(task: Task) -> dict[SearchKey, SearchResult]:
    """Plan the task's first point; return the searches it used."""
    catalog, cache = worker_state(task)
    used: dict[SearchKey, SearchResult] = {}
    point = {path: column[0] for path, column in task.values.items()}
    # A failure here is left to the point's own task, which makes it an error row.
    with contextlib.suppress(Exception), time_limit(task.row_time_limit_s):
        flat_plan(with_values(task.base, point), catalog, cache, used)
    return used


def _cell(value: Any, text: bool = False) -> Any:
    """An input value as a Parquet cell: blocks (an inline model), and every value of a
    column of mixed kinds, as JSON text."""
    if text or isinstance(value, Mapping | list):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def run_task(task: Task) -> Any:
    """Plan the task's points into a pyarrow table: point, inputs, error, outputs (rows in
    the order made; :func:`gpuplan.studies.sweep.assemble` sorts them). Points sharing all
    but their site and prices are planned once (:func:`gpuplan.studies.sweep_groups.plan_chunk`).
    """
    import pyarrow as pa  # type: ignore[import-untyped]

    catalog, cache = worker_state(task)

    def plan_one(data: Mapping[str, Any]) -> tuple[dict[str, Scalar], PlanResult | None]:
        return planned_row(data, catalog, cache, task.row_time_limit_s)

    order, outputs = plan_chunk(
        task.base, task.values, len(task.indices), catalog, task.catalog_token, plan_one
    )
    columns: dict[str, list[Any]] = {"point": [task.indices[j] for j in order]}
    for path, column in task.values.items():
        text = path in task.text_paths
        if text or not set(map(type, column)) <= {str, int, float, bool, type(None)}:
            columns[path] = [_cell(column[j], text) for j in order]
        else:  # cells as they are (what _cell leaves alone), without a call per cell
            columns[path] = [column[j] for j in order]
    columns.update(outputs)
    return pa.table(columns)


Submit = Callable[[Callable[[Task], Any], Task], Any]
WaitAll = Callable[[Mapping[Any, Any]], Iterator[tuple[Any, Any]]]
Close = Callable[[bool], None]


def _quiet_worker() -> None:
    """A local worker leaves Ctrl-C to its parent, which stops it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


WATCH_S = 1.0
"""How often a local sweep waiting on its workers checks that they are alive."""


def _a_worker_died(pool: ProcessPoolExecutor) -> bool:
    """Whether a worker of ``pool`` has ended. The pool notices a dead worker by itself,
    except when the worker died half-way through sending a result: the pool's manager thread
    then waits for the rest of the message, forever (a killed worker, or one out of memory)."""
    processes = (getattr(pool, "_processes", None) or {}).values()
    return any(process.exitcode is not None for process in list(processes))


def executor(client: Client | None, workers: int) -> tuple[Submit, WaitAll, Close]:
    """submit(fn, task) -> future; wait_all({name: future}) yields (name, result) as each
    finishes; close(aborted): after an error or a signal, queued work is dropped and local
    workers are terminated."""
    if client is not None:
        from distributed import as_completed as dask_completed

        def dask_wait(futures: Mapping[Any, Any]) -> Iterator[tuple[Any, Any]]:
            names = {f.key: name for name, f in futures.items()}
            for future in dask_completed(list(futures.values())):  # type: ignore[no-untyped-call]
                yield names[future.key], future.result()

        submitted: list[Any] = []

        def dask_submit(fn: Callable[[Task], Any], task: Task) -> Any:
            future = client.submit(fn, task, pure=False)
            submitted.append(future)
            return future

        def dask_close(aborted: bool) -> None:  # the cluster drops what is still queued
            client.cancel([f for f in submitted if not f.done()])  # type: ignore[no-untyped-call]

        return dask_submit, dask_wait, dask_close

    pool = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=_quiet_worker
    )

    def local_wait(futures: Mapping[Any, Future[Any]]) -> Iterator[tuple[Any, Any]]:
        names, pending = {f: name for name, f in futures.items()}, set(futures.values())
        while pending:
            done, pending = wait(pending, timeout=WATCH_S, return_when=FIRST_COMPLETED)
            for future in done:
                yield names[future], future.result()
            if not done and _a_worker_died(pool):
                raise BrokenProcessPool("a worker process died")

    def close(aborted: bool) -> None:
        if not aborted:
            pool.shutdown()
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())
        # read before shutdown, which drops the pool's reference to its result queue
        writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # this pool's own workers, none other
            process.terminate()
        for process in processes:
            process.join(timeout=5)
        # A manager thread stuck reading a dead worker's half-sent result (_a_worker_died)
        # would keep the interpreter from exiting: with every writer closed it reads an end
        # of file instead, marks the pool broken and ends.
        if writer is not None:
            with contextlib.suppress(OSError):
                writer.close()

    return (lambda fn, task: pool.submit(fn, task)), local_wait, close
