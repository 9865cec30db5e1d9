"""The seed article's clusters (catalog seed.yaml), each planned by gpuplan's own model.

What a cluster "can train in 90 days" needs a model, a batch and a parallel plan. For each
cluster this study states them and calls :func:`gpuplan.planning.run.plan`, the one
orchestration function every door uses:

- **model**: the compute-optimal dense model of the default scaling law for the compute the
  cluster delivers in ``days``, ``N = N_opt(C)`` (C = 6ND, the law's convention), where C is
  the model FLOPs of the plan itself: modelled MFU, failures and restarts included. Since
  the plan depends on the model, the study iterates ``C -> N -> plan -> C`` (:data:`ROUNDS`
  rounds), the first C a guess only: the flat-MFU cluster assessment
  (:func:`gpuplan.accounting.cluster.assess_cluster`, the catalog's typical MFU and the
  goodput of failures);
- **shape**: the Llama 3 family's (catalog model_shapes.yaml, Dubey et al. 2024 Table 3),
  by the rule of :mod:`gpuplan.studies.model_shape`; of the depths within
  :data:`DEPTH_WINDOW` layers of the rule's, the one whose searched plan has the highest MFU
  (depth and pipeline go together: Llama 3 405B put 126 layers on 16 stages);
- **batch**: the compute rule of Bi et al. 2024 applied to the same C
  (:func:`gpuplan.planning.defaults.compute_rule_batch`), so it grows with the cluster;
- **precision**: BF16; the site and prices: the scenario defaults.

``mfu`` makes it an explicit what-if: the plan's throughput comes from that flat MFU
(``training.mfu``), and the model and batch follow the compute it implies.
Results are kept per catalog, so the demo, its HTML report, the trend chart and the claims
share one set of plans.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from gpuplan import units
from gpuplan.accounting.cluster import assess_cluster
from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import SeedCluster
from gpuplan.fitting.scaling_laws import compute_optimal
from gpuplan.planning.accounts import SourceRef
from gpuplan.planning.defaults import compute_rule_batch
from gpuplan.planning.result import PlanResult
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario
from gpuplan.studies.model_shape import dense_shape

SEED_DAYS = 90.0
"""Training time the seed article's clusters are assessed for (``gpuplan demo``)."""
ROUNDS = 2
"""Rounds of the iteration delivered C -> compute-optimal N -> plan, after the first guess."""
DEPTH_WINDOW = 2
"""Depths tried on each side of the shape rule's (the one whose plan has the best MFU wins)."""
SHAPE_FAMILY = "llama3-dense"
"""The catalog shape family (model_shapes.yaml) the compute-optimal models take."""


@dataclass(frozen=True)
class ClusterPlan:
    """A cluster's stated scenario and its plan (the study's assumptions first)."""

    scenario: dict[str, Any]
    """The scenario mapping (as in a YAML file): ``plan(parse_scenario(scenario))`` gives the
    same numbers as ``result``."""
    result: PlanResult


_CACHE: dict[tuple[str, int, float, float | None], tuple[Catalog, ClusterPlan]] = {}


def plan_cluster(
    catalog: Catalog, hardware: str, gpus: int, days: float = SEED_DAYS, mfu: float | None = None
) -> ClusterPlan:
    """The compute-optimal model of ``gpus`` x ``hardware`` over ``days``, planned."""
    key = (hardware, gpus, float(days), mfu)
    found = _CACHE.get(key)
    if found is not None and found[0] is catalog:
        return found[1]
    result = _iterate(catalog, hardware, gpus, float(days), mfu)
    _CACHE[key] = (catalog, result)
    return result


def seed_cluster_plans(
    catalog: Catalog, days: float = SEED_DAYS, mfu: float | None = None
) -> dict[str, ClusterPlan]:
    """Every seed cluster's scenario and plan, by cluster id (in the catalog's order).

    Planned once per catalog, days and MFU in a process: the demo, its HTML report, the
    trend chart of every report, the web app and claim C8 all show these same plans.
    """
    key = (id(catalog), days, mfu)
    cached = _PLANS.get(key)
    if cached is None or cached[0] is not catalog:
        plans = {
            c.id: plan_cluster(catalog, c.hardware, c.gpus, days, mfu)
            for c in catalog.seed_clusters.values()
        }
        cached = _PLANS[key] = (catalog, plans)
    return dict(cached[1])


_PLANS: dict[tuple[int, float, float | None], tuple[Catalog, dict[str, ClusterPlan]]] = {}
"""The seed plans by (catalog, days, MFU); the catalog is kept so that its id stays its own."""


def seed_scenarios(
    catalog: Catalog, days: float = SEED_DAYS, mfu: float | None = None
) -> dict[str, dict[str, Any]]:
    """One scenario mapping per seed cluster, by cluster id."""
    return {k: v.scenario for k, v in seed_cluster_plans(catalog, days, mfu).items()}


def plan_seed_clusters(
    catalog: Catalog, days: float = SEED_DAYS, mfu: float | None = None
) -> dict[str, PlanResult]:
    """One plan result per seed cluster, by cluster id."""
    return {k: v.result for k, v in seed_cluster_plans(catalog, days, mfu).items()}


def headline_cluster(catalog: Catalog) -> SeedCluster:
    """The seed cluster with the most dense BF16 peak (the article's 100,000 H100)."""
    return max(
        catalog.seed_clusters.values(),
        key=lambda c: c.gpus * catalog.accelerator(c.hardware).peak_bf16_flops_per_s,
    )


def _scenario(
    hardware: str, gpus: int, days: float, mfu: float | None, model: Mapping[str, Any], batch: int
) -> dict[str, Any]:
    training: dict[str, Any] = {
        "days": days,
        "global_batch": batch,
        "seq_len": model["seq_len"],
        "precision": "bf16",
    }
    if mfu is not None:
        training["mfu"] = mfu
    return {"model": dict(model), "hardware": hardware, "gpus": gpus, "training": training}


def _best_depth(
    catalog: Catalog, base: dict[str, Any], mfu: float | None
) -> tuple[dict[str, Any], PlanResult]:
    """The scenario, among depths within DEPTH_WINDOW of the rule's, whose plan delivers the
    most model FLOPs in the cluster's days (nearest the rule's on a tie; with an MFU what-if,
    the nearest that fits). Not the best MFU: a plan's MFU is over the GPUs it uses, and a
    plan on fewer of the cluster's GPUs can have a higher one while delivering less."""
    layers = base["model"]["layers"]
    depths = [layers + s * d for d in range(DEPTH_WINDOW + 1) for s in (-1, 1)][1:]
    best: tuple[dict[str, Any], PlanResult] | None = None
    for depth in (d for d in depths if d >= 1):
        scenario = {**base, "model": {**base["model"], "layers": depth}}
        result = plan(parse_scenario(scenario), catalog)
        if best is None:
            best = (scenario, result)  # the rule's own depth, even if no plan fits
        if result.step is None:
            continue
        if best[1].step is None or (mfu is None and _delivered(result) > _delivered(best[1])):
            best = (scenario, result)
        if mfu is not None:
            break
    assert best is not None
    return best


def _delivered(result: PlanResult) -> float:
    """Model FLOPs the run delivers in its days (0 when it makes no progress)."""
    return result.run.compute.model_flops if result.run is not None else 0.0


def _iterate(
    catalog: Catalog, hardware: str, gpus: int, days: float, mfu: float | None
) -> ClusterPlan:
    family = catalog.shape_family(SHAPE_FAMILY)
    law = catalog.scaling_law()
    first = assess_cluster(catalog, hardware, gpus, days, mfu=mfu)
    compute = first.trainable_flops
    rounds: list[tuple[float, float, dict[str, Any], PlanResult, str]] = []
    for _ in range(ROUNDS):
        params = compute_optimal(law, compute).params
        choice = compute_rule_batch(catalog, compute, family.seq_len, "the C above")
        model = dense_shape(family, params, f"dense-{params / units.GIGA:.0f}b")
        base = _scenario(hardware, gpus, days, mfu, model, choice.sequences)
        scenario, result = _best_depth(catalog, base, mfu)
        rounds.append((compute, params, scenario, result, choice.note))
        if result.run is None:
            break
        compute = result.run.compute.model_flops
    compute, params, scenario, result, batch_note = rounds[-1]
    notes = _notes(catalog, rounds, first.mfu, mfu, days, batch_note)
    shape_source = SourceRef("model shape rule", family.source, str(family.retrieved))
    result = replace(
        result,
        assumptions=(*notes, *result.assumptions),
        sources=(*result.sources, shape_source),
    )
    return ClusterPlan(scenario, result)


def _notes(
    catalog: Catalog,
    rounds: list[tuple[float, float, dict[str, Any], PlanResult, str]],
    guess: float,
    mfu: float | None,
    days: float,
    batch_note: str,
) -> list[str]:
    law = catalog.scaling_law()
    family = catalog.shape_family(SHAPE_FAMILY)
    compute, params, scenario, result, _ = rounds[-1]
    model = scenario["model"]
    start = "the given MFU (a what-if)" if mfu is not None else "the catalog's typical MFU"
    start = f"{start} ({guess:.0%}) and its goodput (gpuplan.accounting.cluster.assess_cluster)"
    basis = (
        "C being the model FLOPs the previous round's plan delivers (MFU and failures included)"
        if len(rounds) > 1
        else "C being the first guess"
    )
    history = "; ".join(f"C {c:.3g} FLOP -> N {n:.3g}" for c, n, *_ in rounds)
    delivered = result.run.compute.model_flops if result.run is not None else None
    closing = (
        f"; this plan delivers {delivered:.3g} FLOP ({delivered / compute - 1:+.1%} of the C "
        "the model was sized for)"
        if delivered is not None
        else "; no plan fits in the last round"
    )
    return [
        f"Seed study: the model is the compute-optimal dense model for the cluster's {days:g} "
        f"days under {law.name} (C = 6ND): N = {params:.3g} parameters for C = {compute:.3g} "
        f"FLOP, {basis}; {len(rounds)} rounds of C -> N -> plan, the first C from "
        f"{start} ({history}){closing}.",
        f"Model shape: {family.name} ({family.source.split(':')[0]}; catalog "
        "model_shapes.yaml): "
        f"width interpolated log-log in parameters between the family's members and rounded "
        f"to {family.width_multiple}, FFN ratio likewise (rounded up to {family.ffn_multiple}), "
        f"head size {family.head_dim}, {family.kv_heads} KV heads, vocabulary {family.vocab:,}, "
        f"{family.seq_len:,}-token sequences; depth {model['layers']}: of the depths within "
        f"{DEPTH_WINDOW} layers of the one that gives N, the one whose searched plan delivers "
        "the most model FLOPs in the days (depth and pipeline go together: Llama 3 405B put 126 "
        "layers on 16 stages, Dubey et al. 2024 sec. 3.3.2).",
        f"Global batch (seed study): {batch_note}",
        "Precision BF16; site and prices are the scenario defaults.",
    ]
