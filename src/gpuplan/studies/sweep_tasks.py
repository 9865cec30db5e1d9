"""The worker side of a sweep: tasks, the state a worker keeps, and the two executors.

A :class:`Task` carries the base scenario, some points (index and swept values), the plan
searches made elsewhere that they need, and the catalog (None: the worker loads the
default one). :func:`prime` plans one point and returns the searches it used;
:func:`run_task` plans all the task's points into a pyarrow table. A worker keeps its catalog
and a :class:`gpuplan.search.cache.SearchCache` across tasks (:func:`worker_state`).

Executors (:func:`executor`): spawned local processes (``spawn`` works the same on every
platform and does not fork a parent that may run threads, such as a progress bar), or a
Dask cluster through a ``distributed.Client``.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gpuplan.catalog.loader import Catalog, load_catalog
from gpuplan.scenario.distributions import with_values
from gpuplan.search.cache import SearchCache, SearchKey
from gpuplan.search.plans import SearchResult
from gpuplan.studies.rows import flat_plan

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
    flat_plan(with_values(task.base, point), catalog, cache, used)
    return used


def _cell(value: Any) -> Any:
    """An input value as a Parquet cell: blocks (an inline model) as JSON text."""
    return json.dumps(value, sort_keys=True) if isinstance(value, Mapping | list) else value


def run_task(task: Task) -> Any:
    """Plan the task's points into a pyarrow table: point, inputs, error, outputs."""
    import pyarrow as pa  # type: ignore[import-untyped]

    catalog, cache = worker_state(task)
    rows = []
    for j, index in enumerate(task.indices):
        point = {path: column[j] for path, column in task.values.items()}
        row = {"point": index, **{p: _cell(v) for p, v in point.items()}}
        row.update(flat_plan(with_values(task.base, point), catalog, cache))
        rows.append(row)
    keys = list(dict.fromkeys(key for row in rows for key in row))
    return pa.table({key: [row.get(key) for row in rows] for key in keys})


Submit = Callable[[Callable[[Task], Any], Task], Any]
WaitAll = Callable[[Mapping[Any, Any]], Iterator[tuple[Any, Any]]]


def executor(client: Client | None, workers: int) -> tuple[Submit, WaitAll, Callable[[], None]]:
    """submit(fn, task) -> future; wait_all({name: future}) yields (name, result) as each
    finishes; close()."""
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

        def dask_close() -> None:  # after an error, the cluster drops what is still queued
            client.cancel([f for f in submitted if not f.done()])  # type: ignore[no-untyped-call]

        return dask_submit, dask_wait, dask_close

    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    def local_wait(futures: Mapping[Any, Future[Any]]) -> Iterator[tuple[Any, Any]]:
        names = {f: name for name, f in futures.items()}
        for future in as_completed(names):
            yield names[future], future.result()

    def close() -> None:  # after an error, queued tasks are dropped rather than run
        pool.shutdown(cancel_futures=True)

    return (lambda fn, task: pool.submit(fn, task)), local_wait, close
