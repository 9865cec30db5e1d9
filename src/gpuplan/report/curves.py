"""The numbers behind a report's charts that a single plan does not hold.

- :func:`scaling_curve`: time to train and cost at other GPU counts, same tokens. With a
  global batch each count gets the parallel-plan search (the same search as
  :func:`gpuplan.search.search_range`, through :func:`gpuplan.planning.run.plan` so that failures,
  energy and cost are accounted exactly as for the plan itself); without one, the MFU-based
  plan at each count.
- :func:`loss_frontier`: the compute-optimal loss of a scaling law over a compute range.
- :func:`trend_points` and :func:`seed_cluster_points`: published training runs over time,
  and what each cluster of the seed article trains in 90 days (its planned compute-optimal
  model, :mod:`gpuplan.studies.seed`).

Each is a function of the catalog and its inputs; nothing here reads or writes files.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import SeedCluster
from gpuplan.errors import GpuplanError
from gpuplan.fitting.scaling_laws import ComputeOptimal, compute_optimal
from gpuplan.planning.result import PlanResult
from gpuplan.planning.run import plan
from gpuplan.planning.serialize import mfu
from gpuplan.report.data import SavedPlan
from gpuplan.scenario.parse import parse_scenario
from gpuplan.scenario.resolve import resolve
from gpuplan.scenario.schema import MAX_GPUS, Scenario
from gpuplan.search.plans import gpu_range
from gpuplan.studies.seed import SEED_DAYS, plan_seed_clusters


@dataclass(frozen=True)
class ScalingPoint:
    """One GPU count on the scaling curve; ``fits`` False leaves the numbers None."""

    gpus: int
    fits: bool
    days: float | None = None
    """Wall-clock days, failures included."""
    amortized_usd: float | None = None
    cloud_usd: float | None = None
    mfu: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ScalingCurve:
    tokens: float
    basis: str
    """'search' (parallel plans searched per count) or 'mfu' (a fixed utilisation)."""
    points: tuple[ScalingPoint, ...]


def default_counts(gpus: int) -> list[int]:
    """The report's range: gpus/16 .. gpus*8, powers of two and 1.5x steps, and gpus."""
    low, high = max(1, gpus // 16), min(MAX_GPUS, gpus * 8)
    return sorted({*gpu_range(low, high), gpus})


def ladder_counts(gpus: int, below: int = 4, above: int = 3) -> list[int]:
    """A short range for interactive use: gpus x 2^k for k in -below..above."""
    counts = {gpus * 2**k for k in range(above + 1)} | {gpus // 2**k for k in range(below + 1)}
    return sorted(c for c in counts if 1 <= c <= MAX_GPUS)


def _at_count(scenario: dict[str, Any], gpus: int, tokens: float) -> dict[str, Any]:
    data = copy.deepcopy(scenario)
    data["gpus"] = gpus
    training = data.setdefault("training", {})
    for key in ("days", "samples"):
        training.pop(key, None)
    training["tokens"] = tokens
    if isinstance(data.get("parallelism"), dict):
        # A fixed data-parallel degree only holds at one GPU count: let it follow the count.
        data["parallelism"]["dp"] = None
    return data


def scaling_curve(
    scenario: dict[str, Any],
    tokens: float,
    catalog: Catalog,
    counts: Sequence[int] | None = None,
    planner: Callable[[Scenario], PlanResult] | None = None,
) -> ScalingCurve:
    """Time and cost to train ``tokens`` at each GPU count (default :func:`default_counts`).

    ``planner`` replaces :func:`gpuplan.planning.run.plan` (the web app passes a cached one).
    """
    gpus = int(scenario["gpus"])
    training = scenario.get("training") or {}
    basis = "mfu" if training.get("mfu") else "search"
    points = []
    for count in counts if counts is not None else default_counts(gpus):
        try:
            at_count = parse_scenario(_at_count(scenario, count, tokens))
            result = planner(at_count) if planner else plan(at_count, catalog)
        except GpuplanError as exc:
            points.append(ScalingPoint(count, fits=False, reason=str(exc)))
            continue
        run = result.run
        if run is None:
            reason = result.infeasible.reason if result.infeasible else "does not fit"
            points.append(ScalingPoint(count, fits=False, reason=reason))
            continue
        points.append(
            ScalingPoint(
                count,
                fits=True,
                days=run.reliability.wall_days,
                amortized_usd=run.cost.amortized_usd,
                cloud_usd=run.cost.cloud_usd,
                mfu=mfu(result.resolved, run, result.step),
            )
        )
    return ScalingCurve(tokens=tokens, basis=basis, points=tuple(points))


def curve_tokens(saved: SavedPlan, catalog: Catalog) -> float | None:
    """Tokens for the scaling curve: the plan's, or, when it does not fit, the scenario's
    (given, or the model's published count); None when only a duration was given."""
    if saved.run is not None:
        return saved.run.tokens
    return resolve(parse_scenario(saved.scenario), catalog).tokens


def loss_frontier(
    catalog: Catalog,
    law_id: str | None = None,
    low_flops: float = 1e20,
    high_flops: float = 1e28,
    per_decade: int = 4,
) -> list[ComputeOptimal]:
    """Compute-optimal model, data and loss at log-spaced budgets from low to high FLOP."""
    law = catalog.scaling_law(law_id)
    decades = math.log10(high_flops / low_flops)
    steps = round(decades * per_decade)
    return [compute_optimal(law, low_flops * 10 ** (decades * i / steps)) for i in range(steps + 1)]


@dataclass(frozen=True)
class TrendPoint:
    name: str
    organization: str
    date: str
    """ISO date of publication."""
    training_flops: float
    frontier: bool
    domain: str


def trend_points(catalog: Catalog) -> list[TrendPoint]:
    """Published runs with a training-compute figure, oldest first."""
    points = [
        TrendPoint(
            name=run.name,
            organization=run.organization,
            date=run.date.isoformat(),
            training_flops=run.training_flops,
            frontier=run.frontier,
            domain=run.domain.value,
        )
        for run in catalog.runs.values()
        if run.training_flops is not None
    ]
    return sorted(points, key=lambda p: p.date)


@dataclass(frozen=True)
class ClusterPoint:
    """What one seed cluster trains in ``days``: its compute-optimal model, planned by
    gpuplan's performance model and search (:mod:`gpuplan.studies.seed`, as ``gpuplan demo``),
    net of failures. ``mfu_is_what_if``: the MFU was given (``--mfu``), not modelled."""

    label: str
    hardware: str
    gpus: int
    year: int
    days: float
    mfu: float
    mfu_is_what_if: bool
    trainable_flops: float
    """Model FLOPs the plan delivers (``run.model_flops``)."""
    goodput: float
    params: float
    """Parameters of the model trained (compute-optimal for the delivered compute)."""
    predicted_loss: float


def cluster_point(cluster: SeedCluster, result: PlanResult) -> ClusterPoint | None:
    """A seed cluster's point from its plan result (``to_dict()``); None when no plan fits."""
    data = result.to_dict()
    run = data["run"]
    if run is None:
        return None
    return ClusterPoint(
        label=cluster.label,
        hardware=cluster.hardware,
        gpus=cluster.gpus,
        year=cluster.year,
        days=run["days"],
        mfu=data["step"]["mfu"],
        mfu_is_what_if=data["scenario"]["training"].get("mfu") is not None,
        trainable_flops=run["model_flops"],
        goodput=run["goodput"],
        params=data["model"]["params"],
        predicted_loss=data["scaling"]["predicted_loss"],
    )


def seed_cluster_points(
    catalog: Catalog, days: float = SEED_DAYS, mfu: float | None = None
) -> list[ClusterPoint]:
    """The seed clusters' points, from the same plans as ``gpuplan demo``
    (:func:`gpuplan.studies.seed.plan_seed_clusters`)."""
    results = plan_seed_clusters(catalog, days, mfu)
    points = (cluster_point(c, results[c.id]) for c in catalog.seed_clusters.values())
    return [p for p in points if p is not None]
