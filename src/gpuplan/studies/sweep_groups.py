"""A chunk of sweep points in groups: one plan per group, the site and prices in columns.

Points that differ only under ``site`` and ``prices`` share everything that depends on the
model, hardware, GPUs, training, framework and cluster: the plan search, the step, failures
and time to train, the step-time interval. One point of each such group, its representative,
is planned in full by the one :func:`~gpuplan.planning.run.plan`; every point of the group
gets the representative's row with the site- and price-dependent keys (power, energy,
emissions, cost, the cost interval) computed for all of them at once: the one account of a
plan (:func:`gpuplan.accounting.cluster.account_site`) called with numpy columns of sites and
prices. Representatives are kept across chunks (:data:`MAX_KEPT` per process), as are
resolved sites.

What cannot be grouped is planned point by point, as before: a point whose site or prices do
not resolve (an unknown grid, a value out of range: its own error row), a group whose
representative is an error row or a staged run, and a group whose columns do not reproduce
its representative's own row exactly. The formulas are the plan's own; the check, once per
group, guards what this module spells beside ``plan()``: which account each key of the
row is, the key set, and the cost interval's block. The rows are those of ``plan()`` in
every case (tests/properties/test_sweep_rows.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gpuplan.accounting.cluster import ClusterRun, account_site, cluster_run
from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import Accelerator
from gpuplan.planning.intervals import interval_block, stored_factors
from gpuplan.planning.result import PlanResult
from gpuplan.scenario.distributions import with_values
from gpuplan.scenario.resolve import SiteTerms, resolve_site
from gpuplan.scenario.schema import Prices, Site
from gpuplan.studies.rows import Scalar

SITE_ROOTS = frozenset({"site", "prices"})
"""Top-level blocks whose values change only the site- and price-dependent numbers."""
MAX_KEPT = 100_000
"""Representatives and resolved sites kept per process (then forgotten, and recomputed)."""

PlanOne = Callable[[Mapping[str, Any]], tuple[dict[str, Scalar], PlanResult | None]]
"""Plans one scenario mapping: its row, and the result (None for an error row)."""
Columns = dict[str, list[Any]]
FloatColumn = NDArray[np.float64]


@dataclass(frozen=True)
class Group:
    """A planned representative: its row, and what its site-dependent numbers take from it."""

    row: dict[str, Scalar]
    accelerator: Accelerator
    run: ClusterRun | None
    """None when the plan has no run (it does not fit): no key depends on the site."""
    factors: Mapping[str, float] | None
    """The step-time interval factors, when the row has a cost interval."""


_GROUPS: dict[tuple[Any, ...], Group] = {}
_TERMS: dict[tuple[Any, ...], SiteTerms | None] = {}
_UNKNOWN = object()
SIMPLE = (str, int, float, bool, type(None))


def point_keys(columns: Sequence[Sequence[Any]], n: int) -> list[tuple[Any, ...]]:
    """A hashable key per point from its values in ``columns`` (1, 1.0 and True apart)."""

    def keyed(column: Sequence[Any]) -> list[Any]:
        if all(kind in SIMPLE for kind in set(map(type, column))):
            return list(zip(map(type, column), column, strict=True))
        return [json.dumps(v, sort_keys=True, default=str) for v in column]

    if not columns:
        return [()] * n
    return list(zip(*map(keyed, columns), strict=True))


def group_of(row: dict[str, Scalar], result: PlanResult | None, catalog: Catalog) -> Group | None:
    """The group a planned point heads; None when its rows must be planned point by point."""
    if result is None or result.stages:
        return None
    r = result.resolved
    if result.run is None:
        return Group(row, r.accelerator, None, None)
    run = cluster_run(catalog, r.accelerator, r.gpus, result.run.reliability.wall_time_s)
    factors = None
    if "intervals.cost_usd.point" in row:
        factors = stored_factors(r.accelerator.id, r.framework.id, r.gpus)
    return Group(row, r.accelerator, run, factors)


def site_terms(
    blocks: Mapping[str, Any], values: Mapping[str, Any], accelerator: Accelerator, catalog: Catalog
) -> SiteTerms | None:
    """The point's site and prices (``blocks``: the base's, ``values``: the point's under
    them) resolved; None when they do not (the point is then planned on its own)."""
    try:
        data = with_values(blocks, values)
        site = Site.model_validate(data.get("site", {}))
        prices = Prices.model_validate(data.get("prices", {}))
        return resolve_site(site, prices, accelerator, catalog)
    except Exception:  # its own plan() names what is wrong
        return None


def site_rows(group: Group, terms: Sequence[SiteTerms]) -> Columns:
    """The rows of the group's points at their sites: its row, site-dependent keys replaced."""
    n = len(terms)
    out: Columns = {key: [value] * n for key, value in group.row.items()}
    if group.run is None:
        return out

    def array(values: list[float]) -> FloatColumn:
        return np.array(values, dtype=np.float64)

    pue = [t.pue for t in terms]
    kgco2e = [t.grid.kgco2e_per_kwh for t in terms]
    a = account_site(
        group.run,
        pue=array(pue),
        kgco2e_per_kwh=array(kgco2e),
        power_usd_per_kwh=array([t.power_usd_per_kwh for t in terms]),
        gpu_price_usd=array([t.gpu_price_usd for t in terms]),
        cloud_usd_per_gpu_hour=array([t.cloud_usd_per_gpu_hour for t in terms]),
        household_kwh_per_year=array([t.household.kwh_per_year for t in terms]),
    )
    p, e, c = a.power, a.energy, a.cost
    columns: dict[str, Any] = {  # the keys of planning.serialize's power ... cost blocks
        "power.it_w": p.it_w, "power.facility_w": p.facility_w, "power.peak_it_w": p.peak_it_w,
        "power.peak_facility_w": p.peak_facility_w, "power.pue": pue,
        "energy.mwh": e.mwh, "energy.yearly_gwh": e.yearly_gwh,
        "energy.households_equivalent": a.households,
        "energy.households_country": [t.household.id for t in terms],
        "emissions.tco2e": e.tco2e, "emissions.yearly_tco2e": e.yearly_tco2e,
        "emissions.grid": [t.grid.id for t in terms], "emissions.kgco2e_per_kwh": kgco2e,
        "cost.gpu_capex_usd": a.capex.gpu_capex_usd,
        "cost.server_capex_usd": a.capex.server_capex_usd,
        "cost.network_capex_usd": a.capex.network_capex_usd,
        "cost.facility_capex_usd": a.capex.facility_capex_usd,
        "cost.cluster_capex_usd": a.capex.cluster_capex_usd,
        "cost.amortized_usd": c.amortized_usd,
        "cost.amortized_hardware_usd": c.amortized_hardware_usd,
        "cost.amortized_facility_usd": c.amortized_facility_usd,
        "cost.energy_usd": c.energy_usd, "cost.cloud_usd": c.cloud_usd,
        "cost.cloud_usd_per_hour": a.cloud_usd_per_hour,
    }  # fmt: skip
    if group.factors is not None:
        block = interval_block(c.cloud_usd, group.factors)
        columns |= {f"intervals.cost_usd.{k}": v for k, v in block.items()}
    for key, value in columns.items():
        if key not in out:
            raise KeyError(f"{key} is not a key of the group's row")
        out[key] = value.tolist() if isinstance(value, np.ndarray) else _listed(value, n)
    return out


def _listed(value: Any, n: int) -> list[Any]:
    return value if isinstance(value, list) else [value] * n


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _checked(group: Group, terms: SiteTerms | None) -> Group | None:
    """The group if its columns give its representative's row exactly, else None."""
    if terms is None:
        return None
    try:
        rows = site_rows(group, [terms])
    except Exception:
        return None
    if rows.keys() != group.row.keys():
        return None
    return group if all(_same(rows[k][0], v) for k, v in group.row.items()) else None


@dataclass
class _Chunk:
    """The rows of a chunk as they are made: blocks of a group's points, and single rows."""

    blocks: list[tuple[list[int], Columns]]
    singles: list[tuple[int, dict[str, Scalar]]]

    def columns(self) -> tuple[list[int], Columns]:
        """(the point of each row, the rows' columns); keys in order of first appearance."""
        keys = dict.fromkeys(k for _, block in self.blocks for k in block)
        keys.update(dict.fromkeys(k for _, row in self.singles for k in row))
        out: Columns = {key: [] for key in keys}
        for points, block in self.blocks:
            for key, column in out.items():
                column.extend(block.get(key) or [None] * len(points))
        for key, column in out.items():
            column.extend(row.get(key) for _, row in self.singles)
        order = [j for points, _ in self.blocks for j in points]
        return order + [j for j, _ in self.singles], out


@dataclass
class _Points:
    """The points of a chunk and what planning them needs."""

    base: Mapping[str, Any]
    values: Mapping[str, Sequence[Any]]
    catalog: Catalog
    token: str
    plan_one: PlanOne
    site_paths: list[str]
    site_keys: list[tuple[Any, ...]]

    def __post_init__(self) -> None:
        # The swept paths are part of every key: a value means nothing without its path.
        self.base_key = json.dumps([self.base, list(self.values)], sort_keys=True, default=str)
        self.blocks = {k: self.base[k] for k in SITE_ROOTS if k in self.base}

    def row(self, j: int) -> tuple[dict[str, Scalar], PlanResult | None]:
        """Point ``j`` planned in full."""
        point = {p: column[j] for p, column in self.values.items()}
        return self.plan_one(with_values(self.base, point))

    def terms(self, group: Group, j: int) -> SiteTerms | None:
        key = (self.token, self.base_key, group.accelerator.id, self.site_keys[j])
        found = _TERMS.get(key, _UNKNOWN)
        if found is _UNKNOWN:  # (Dask runs tasks on threads: no check-then-read)
            values = {p: self.values[p][j] for p in self.site_paths}
            found = site_terms(self.blocks, values, group.accelerator, self.catalog)
            if len(_TERMS) >= MAX_KEPT:
                _TERMS.clear()
            _TERMS[key] = found
        return found if isinstance(found, SiteTerms) else None

    def group(self, key: tuple[Any, ...], j: int, chunk: _Chunk) -> Group | None:
        """The group of ``key`` with point ``j`` as its representative (its row goes to
        ``chunk`` when the point cannot head a group)."""
        row, result = self.row(j)
        made = group_of(row, result, self.catalog)
        group = _checked(made, self.terms(made, j)) if made is not None else None
        if group is None:
            chunk.singles.append((j, row))
            return None
        if len(_GROUPS) >= MAX_KEPT:
            _GROUPS.clear()
        _GROUPS[(self.token, self.base_key, key)] = group
        return group


def plan_chunk(
    base: Mapping[str, Any],
    values: Mapping[str, Sequence[Any]],
    n: int,
    catalog: Catalog,
    token: str,
    plan_one: PlanOne,
) -> tuple[list[int], Columns]:
    """Rows of the points ``0..n-1`` (``values``: each swept path's value per point):
    (the point of each row, in the order made, and the rows' columns)."""
    site_paths = [p for p in values if p.split(".")[0] in SITE_ROOTS]
    other_paths = [p for p in values if p not in site_paths]
    members: dict[tuple[Any, ...], list[int]] = {}
    for j, key in enumerate(point_keys([values[p] for p in other_paths], n)):
        members.setdefault(key, []).append(j)
    site_keys = point_keys([values[p] for p in site_paths], n)
    points = _Points(base, values, catalog, token, plan_one, site_paths, site_keys)
    chunk = _Chunk([], [])
    for key, group_points in members.items():
        group = _GROUPS.get((token, points.base_key, key))
        fast: list[tuple[int, SiteTerms]] = []
        for j in group_points:
            if group is None:  # the first point that can head the group does
                group = points.group(key, j, chunk)
                if group is None:
                    continue
            terms = points.terms(group, j)
            if terms is None:
                chunk.singles.append((j, points.row(j)[0]))
            else:
                fast.append((j, terms))
        if not fast:
            continue
        assert group is not None, "a point with terms has a group"
        try:
            chunk.blocks.append(([j for j, _ in fast], site_rows(group, [t for _, t in fast])))
        except Exception:  # never expected (checked above): plan them one by one
            chunk.singles += [(j, points.row(j)[0]) for j, _ in fast]
    return chunk.columns()
