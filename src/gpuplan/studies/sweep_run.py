"""Running a sweep's points: in this process or on workers, chunk by chunk.

Each finished chunk is handed to :meth:`Job.finish` at once: kept, reported, and saved to
the sweep's :class:`~gpuplan.studies.sweep_store.PartStore` when there is one, so that a
run stopped by a signal or a dead worker keeps its finished rows and a rerun resumes.
A worker that dies (killed, out of memory) ends the run with :class:`SweepStopped`: one
line saying how many rows are finished, never a ``BrokenProcessPool`` traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gpuplan.catalog.loader import Catalog
from gpuplan.errors import GpuplanError
from gpuplan.scenario.distributions import with_values
from gpuplan.search.cache import SearchKey
from gpuplan.search.plans import SearchResult
from gpuplan.studies.rows import search_group
from gpuplan.studies.sweep_groups import point_keys
from gpuplan.studies.sweep_store import PartStore
from gpuplan.studies.sweep_tasks import Task, executor, prime, run_task, worker_state

if TYPE_CHECKING:
    from distributed import Client

    from gpuplan.studies.sweep_spec import SweepSpec

SEARCH_PATHS = ("model", "hardware", "gpus", "parallelism", "training", "framework")
"""Paths under which a swept value can change the plan search (see :func:`search_group`)."""

ProgressFn = Callable[[str, int, int], None]
"""Called as (phase, done, total); phases: 'searching plans', 'planning'."""


class SweepStopped(GpuplanError):
    """The sweep could not finish (a worker process died); the finished rows are kept."""


@dataclass
class Job:
    """One run of a sweep: what every task needs, and the chunks finished so far."""

    spec: SweepSpec
    catalog: Catalog | None
    token: str
    row_time_limit_s: float | None
    store: PartStore | None
    report: ProgressFn
    tables: list[Any] = field(default_factory=list)
    mixed: frozenset[str] = frozenset()
    """Swept paths whose values are of several kinds (1e12 and '1.0e12'): one column holds
    one type, so their cells are JSON text."""

    def __post_init__(self) -> None:
        self.mixed = frozenset(
            path for path, column in self.spec.values.items() if len(_kinds(column)) > 1
        )

    @property
    def rows(self) -> int:
        return sum(int(t.num_rows) for t in self.tables)

    def task(self, indices: Sequence[int], searches: Mapping[SearchKey, SearchResult]) -> Task:
        values = {path: [column[i] for i in indices] for path, column in self.spec.values.items()}
        return Task(self.spec.base, list(indices), values, dict(searches), self.catalog,
                    self.token, self.row_time_limit_s, self.mixed)  # fmt: skip

    def finish(self, table: Any) -> None:
        if self.store is not None:
            self.store.add(table)
        self.tables.append(table)
        self.report("planning", self.rows, self.spec.size)


def _kinds(column: Sequence[Any]) -> set[str]:
    """The kinds of value in a column, as a Parquet column would need them."""
    kinds = set()
    for kind in set(map(type, column)):
        if issubclass(kind, bool):
            kinds.add("bool")
        elif issubclass(kind, int | float):
            kinds.add("number")
        elif kind is not type(None):
            kinds.add(kind.__name__)
    return kinds


def chunks(order: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(order), size):
        yield order[start : start + size]


def groups_of(spec: SweepSpec) -> list[str | None]:
    """The search group of every point (each distinct combination of the swept values that
    can change the search asked once)."""
    swept = [p for p in spec.values if p.split(".")[0] in SEARCH_PATHS]
    if not swept:
        return [search_group(spec.base)] * spec.size
    known: dict[tuple[Any, ...], str | None] = {}
    out = []
    for i, key in enumerate(point_keys([spec.values[p] for p in swept], spec.size)):
        if key not in known:
            known[key] = search_group(with_values(spec.base, {p: spec.values[p][i] for p in swept}))
        out.append(known[key])
    return out


def in_process(job: Job, order: list[int], chunk_size: int) -> int:
    """Plan the points of ``order`` here; returns the searches run."""
    _, cache = worker_state(job.task([], {}))
    misses = cache.misses
    for indices in chunks(order, chunk_size):
        job.finish(run_task(job.task(indices, {})))
    return cache.misses - misses


def on_workers(
    job: Job,
    order: list[int],
    chunk_size: int,
    groups: list[str | None],
    client: Client | None,
    workers: int,
) -> int:
    """Plan the points of ``order`` on local processes or Dask; returns the searches run."""
    representatives: dict[str, int] = {}
    for index in order:
        group = groups[index]
        if group is not None:
            representatives.setdefault(group, index)
    submit, wait_all, close = executor(client, workers)
    aborted = True
    try:
        primes = {g: submit(prime, job.task([i], {})) for g, i in representatives.items()}
        primed: dict[str | None, dict[SearchKey, SearchResult]] = {}
        for done, (g, result) in enumerate(wait_all(primes), start=1):
            primed[g] = result
            job.report("searching plans", done, len(primes))
        tasks = {}
        for n, indices in enumerate(chunks(order, chunk_size)):
            needed: dict[SearchKey, SearchResult] = {}
            for group in {groups[i] for i in indices}:
                needed.update(primed.get(group, {}))
            tasks[n] = submit(run_task, job.task(indices, needed))
        for _, table in wait_all(tasks):
            job.finish(table)
        aborted = False
    except BrokenProcessPool:
        raise SweepStopped(
            f"a worker process died (killed, or out of memory) after {job.rows:,} of "
            f"{job.spec.size:,} rows"
        ) from None
    finally:
        close(aborted)
    return len({key for entries in primed.values() for key in entries})
