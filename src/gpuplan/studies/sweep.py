"""Sweeps: many scenarios planned, one row each, on local processes or a Dask cluster.

A sweep file holds a ``base`` scenario mapping and either a ``grid`` (dotted field path ->
list of values; every combination is a scenario) or ``random`` (path -> range or
distribution, as in :mod:`gpuplan.scenario.distributions`, with ``samples`` and ``seed``)::

    base: {model: llama3-70b, hardware: h100-sxm, gpus: 4096, training: {global_batch: 1024}}
    grid:
      hardware: [h100-sxm, b200]
      site.grid: [us-average, france]
      prices.gpu_usd: [25000, 30000, 35000]

Each row holds the point's index, its inputs (by path), ``error`` (bad input) and the
flattened plan result (:func:`gpuplan.studies.rows.flat_outputs`); a plan that does not fit is
a row with ``fits`` false and its ``infeasible_reason``.

Speed: scenarios are grouped by the plan search they need (:func:`search_group`). On worker
processes or a Dask cluster each distinct search (~0.1 s) runs once, in parallel
("priming"), and is shipped with the chunks that need it. Points that differ only in site
and prices are planned once per group, their power, energy, emissions and cost computed in
columns (:mod:`gpuplan.studies.sweep_groups`): a point then costs ~20 us on one core
(``benchmarks/sweep_bench.py``). Workers keep a search cache and the groups across chunks.
In a random sweep with a global batch, uncertain GPU counts, batches and sequence lengths are
quantised as in :mod:`gpuplan.studies.uncertainty` (the metadata's notes say so).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpuplan import __version__
from gpuplan.catalog.loader import Catalog
from gpuplan.defaults import DEFAULT_ROW_TIME_LIMIT_S as DEFAULT_ROW_TIME_LIMIT_S
from gpuplan.errors import ScenarioError, shorten
from gpuplan.scenario.distributions import (
    Distribution,
    centered,
    find_distributions,
    is_distribution,
    parse_distribution,
    with_values,
)
from gpuplan.scenario.parse import parse_scenario, read_yaml_file
from gpuplan.studies.rows import search_group
from gpuplan.studies.sweep_groups import SITE_ROOTS, point_keys
from gpuplan.studies.sweep_run import (
    SEARCH_PATHS,
    Job,
    ProgressFn,
    SweepStopped,
    groups_of,
    in_process,
    on_workers,
)
from gpuplan.studies.sweep_spec import SweepMode, SweepSpec
from gpuplan.studies.sweep_store import PartStore
from gpuplan.studies.uncertainty import DEFAULT_SAMPLES, DEFAULT_SEED, draw_samples

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "SEARCH_PATHS",
    "PartStore",
    "SweepMode",
    "SweepResult",
    "SweepSpec",
    "SweepStopped",
    "load_sweep_file",
    "parse_sweep",
    "run_sweep",
]

MAX_POINTS = 10_000_000
MAX_CHUNK = 2000
IN_PROCESS_S = 3.0
"""A sweep whose estimated work (:func:`estimated_work_s`) is below this runs in this process
by default: a pool of worker processes takes ~1.5 s to start (each imports gpuplan and loads
the catalog), which two workers win back only on about twice that much work."""
SEARCH_S = 0.1
"""About one plan search (a 70B model on 1,024-16,384 GPUs: benchmarks/sweep_bench.py)."""
PLAN_S = 0.6e-3
"""About one point planned in full once its search is made."""
ROW_S = 20e-6
"""About one point whose plan is its group's (site and prices in columns)."""


def _grid(base: Mapping[str, Any], grid: object) -> dict[str, list[Any]]:
    if not isinstance(grid, Mapping) or not grid:
        raise ScenarioError("grid", "must map field paths to lists of values")
    found = find_distributions(base)
    if found:
        raise ScenarioError(next(iter(found)), "a distribution in base needs random:, not grid:")
    size = math.prod(len(v) if isinstance(v, list) else 0 for v in grid.values())
    if size > MAX_POINTS:
        raise ScenarioError("grid", f"{size:,} combinations; at most {MAX_POINTS:,}")
    for path, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ScenarioError(f"grid.{path}", "must be a non-empty list of values")
        for index, value in enumerate(values):
            if is_distribution(value):
                raise ScenarioError(f"grid.{path}", "lists fixed values; use random: for ranges")
            if value in values[:index]:  # [1.2, 1.2] made every row twice
                raise ScenarioError(
                    f"grid.{path}", f"{shorten(repr(value))} is listed twice; list each once"
                )
            parse_scenario(with_values(base, {str(path): value}))  # names the bad field
    lengths = [len(v) for v in grid.values()]
    columns: dict[str, list[Any]] = {}
    for k, (path, values) in enumerate(grid.items()):
        inner = math.prod(lengths[k + 1 :])  # the last path varies fastest
        columns[str(path)] = [values[(i // inner) % len(values)] for i in range(size)]
    return columns


def _integer(name: str, value: object, default: int, minimum: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ScenarioError(f"{name} = {value!r}", f"must be a whole number >= {minimum}")
    return value


def parse_sweep(
    data: Mapping[str, Any], *, samples: int | None = None, seed: int | None = None
) -> SweepSpec:
    """Validate a sweep mapping; ``samples`` and ``seed`` override a random sweep's own."""
    if not isinstance(data, Mapping):
        raise ScenarioError("sweep", "must be a mapping with base and grid or random")
    allowed = ("base", "grid", "random", "samples", "seed")
    for key in data:
        if key not in allowed:
            raise ScenarioError(str(key), f"unknown key; allowed: {', '.join(allowed)}")
    base = data.get("base")
    if not isinstance(base, Mapping):
        raise ScenarioError("base", "required: the scenario mapping every point starts from")
    if ("grid" in data) == ("random" in data):
        raise ScenarioError("sweep", "give exactly one of grid: or random:")
    if "grid" in data:
        columns = _grid(base, data["grid"])
        parse_scenario(with_values(base, {p: c[0] for p, c in columns.items()}))
        size = len(next(iter(columns.values())))
        return SweepSpec(dict(base), SweepMode.GRID, columns, size)

    block = data["random"]
    if not isinstance(block, Mapping):
        raise ScenarioError("random", "must map field paths to ranges or distributions")
    for key in ("samples", "seed"):
        if key in block and key in data:
            raise ScenarioError(key, "given both in random: and at the top level; keep one")
    if samples is None:
        given = block.get("samples", data.get("samples"))
        samples = _integer("samples", given, DEFAULT_SAMPLES, minimum=1)
    if seed is None:
        seed = _integer("seed", block.get("seed", data.get("seed")), DEFAULT_SEED, minimum=0)
    if samples > MAX_POINTS:
        raise ScenarioError(f"samples = {samples}", f"at most {MAX_POINTS:,}")
    found: dict[str, Distribution] = find_distributions(base)
    for path, spec in block.items():
        if path in ("samples", "seed"):
            continue
        if not is_distribution(spec):
            raise ScenarioError(f"random.{path}", "must be a range or distribution")
        found[str(path)] = parse_distribution(str(path), spec)
    if not found:
        raise ScenarioError("random", "holds no range or distribution")
    center = centered(base, found)
    parse_scenario(center)
    draws = draw_samples(found, samples, seed, searched=search_group(center) is not None)
    columns = {path: draws.column(path) for path in draws.values}
    return SweepSpec(dict(base), SweepMode.RANDOM, columns, samples, seed, draws.notes)


def load_sweep_file(
    path: Path, *, samples: int | None = None, seed: int | None = None
) -> SweepSpec:
    """Read and validate a sweep YAML file."""
    return parse_sweep(read_yaml_file(path, "sweep"), samples=samples, seed=seed)


@dataclass(frozen=True)
class SweepResult:
    """The rows of a sweep and how they were computed."""

    table: Any
    """pyarrow.Table, one row per point in point order."""
    backend: str
    workers: int
    chunks: int
    searches: int
    """Distinct plan searches run."""
    elapsed_s: float
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def scenarios(self) -> int:
        return int(self.table.num_rows)

    @property
    def scenarios_per_s(self) -> float:
        return self.scenarios / self.elapsed_s if self.elapsed_s > 0 else math.inf

    def counts(self) -> dict[str, int]:
        """Rows that fit, do not fit, were not memory-modelled, or were invalid."""
        fits = self.table.column("fits").to_pylist()
        errors = self.table.column("error").to_pylist()
        pairs = list(zip(fits, errors, strict=True))
        return {
            "fits": sum(1 for f in fits if f is True),
            "infeasible": sum(1 for f, e in pairs if f is False and e is None),
            "unmodelled": sum(1 for f in fits if f is None),
            "errors": sum(1 for e in errors if e is not None),
        }

    def write_parquet(self, path: Path) -> None:
        """Write the table, with the sweep's description as schema metadata 'gpuplan'."""
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        meta = dict(self.table.schema.metadata or {})
        meta[b"gpuplan"] = json.dumps(dict(self.metadata), default=str).encode()
        pq.write_table(self.table.replace_schema_metadata(meta), path)

    def write_csv(self, path: Path) -> None:
        """Write the table as CSV, one header row (the sweep's description is left out)."""
        import pyarrow.csv as pa_csv  # type: ignore[import-untyped]

        pa_csv.write_csv(self.table, path)


def assemble(spec: SweepSpec, tables: list[Any]) -> Any:
    """The rows of ``tables`` in point order, inputs first (some points may be missing)."""
    import pyarrow as pa

    if not tables:
        return pa.table({"point": pa.array([], pa.int64())})
    tables = sorted(tables, key=lambda t: t.column("point")[0].as_py())
    table = pa.concat_tables(tables, promote_options="permissive").sort_by("point")
    first = [name for name in ("point", *spec.values, "error") if name in table.column_names]
    rest = [name for name in table.column_names if name not in first]
    return table.select(first + rest)


def run_sweep(
    spec: SweepSpec,
    *,
    workers: int | None = None,
    client: Client | None = None,
    catalog: Catalog | None = None,
    chunk_size: int | None = None,
    progress: ProgressFn | None = None,
    row_time_limit_s: float | None = DEFAULT_ROW_TIME_LIMIT_S,
    store: PartStore | None = None,
) -> SweepResult:
    """Plan every point of ``spec``: in this process (``workers=1``), on ``workers`` local
    processes (default: the CPU count; this process for a small sweep, see
    :data:`IN_PROCESS_S`), or on a Dask cluster through ``client``. Each point has
    ``row_time_limit_s`` (an error row past it). With ``store``, finished chunks are saved
    as they complete and the points it already holds are not planned again."""
    started = time.perf_counter()
    token = "default" if catalog is None else f"catalog-{id(catalog)}-{time.time_ns()}"
    report = progress or (lambda phase, done, total: None)
    job = Job(spec, catalog, token, row_time_limit_s, store, report)
    job.tables = store.finished() if store is not None else []
    done = {p for t in job.tables for p in t.column("point").to_pylist()}
    groups = groups_of(spec)
    order = sorted((i for i in range(spec.size) if i not in done), key=lambda i: groups[i] or "")
    if client is not None:
        backend, workers = "dask", max(1, len(client.scheduler_info().get("workers", {})))
    else:
        if workers is None:
            small = estimated_work_s(spec, order, groups) < IN_PROCESS_S
            workers = 1 if small else os.cpu_count() or 1
        backend = "in-process" if workers == 1 else "processes"
    if chunk_size is None:
        chunk_size = max(1, min(MAX_CHUNK, math.ceil(len(order) / (workers * 8))))
    if not order:
        searches = 0
    elif backend == "in-process":
        searches = in_process(job, order, chunk_size)
    else:
        searches = on_workers(job, order, chunk_size, groups, client, workers)
    return SweepResult(
        table=assemble(spec, job.tables),
        backend=backend,
        workers=workers,
        chunks=len(job.tables),
        searches=searches,
        elapsed_s=time.perf_counter() - started,
        metadata=metadata(spec) | {"resumed_rows": len(done)},
    )


def estimated_work_s(spec: SweepSpec, order: list[int], groups: list[str | None]) -> float:
    """Rough seconds the points of ``order`` take on one core: a search per search group,
    a full plan per group of points that differ only in site and prices, a row per point."""
    searches = len({groups[i] for i in order} - {None})
    paths = [p for p in spec.values if p.split(".")[0] not in SITE_ROOTS]
    keys = point_keys([[spec.values[p][i] for i in order] for p in paths], len(order))
    return searches * SEARCH_S + len(set(keys)) * PLAN_S + len(order) * ROW_S


def metadata(spec: SweepSpec) -> dict[str, Any]:
    """The sweep's description, kept in the Parquet schema's metadata."""
    return {
        "gpuplan_version": __version__,
        "mode": spec.mode.value,
        "inputs": list(spec.values),
        "points": spec.size,
        "seed": spec.seed,
        "base": spec.base,
        "notes": list(spec.notes),
    }
