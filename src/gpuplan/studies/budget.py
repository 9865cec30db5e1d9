"""Budgets as questions: what a budget in dollars, megawatts or days trains, and how well.

A budget question is a scenario mapping with ``budget: {usd, mw, days}`` (at least one) and
the model left out (gpuplan chooses it); ``gpus`` may be given ("what can I train in 90 days
on what I have") or left free. The answer is a plan like any other, found so:

1. **GPU counts allowed.** The powers of two and 1.5x steps up to
   :data:`gpuplan.scenario.schema.MAX_GPUS` (or the given count) whose provisioned facility
   power fits ``mw``; each gets the days it can run: ``days`` (default :data:`DEFAULT_DAYS`,
   the seed study's horizon), shortened so that GPUs x hours x the cloud price per GPU-hour
   fits ``usd``.
2. **Shortlist.** Each count's loss under a flat-MFU first guess
   (:func:`gpuplan.accounting.cluster.assess_cluster`: the catalog's typical MFU, the
   goodput of failures), the compute-optimal model of that compute; the
   :data:`SHORTLIST` best counts that plan go on.
3. **Plan.** Each shortlisted count is planned by the seed study's rule
   (:func:`gpuplan.studies.seed.plan_cluster`: the compute-optimal dense model of the compute
   the plan itself delivers, Llama 3 family shape, the compute rule's batch, the plan
   searched for time to train); the lowest predicted loss wins, fewer days on a tie.

Every door calls :func:`plan_budget` (``plan --budget-usd``, a scenario file, /api/plan).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from pydantic import BaseModel

from gpuplan import units
from gpuplan.accounting.cluster import account_cluster, assess_cluster
from gpuplan.catalog.loader import Catalog, load_catalog, unknown_id_message
from gpuplan.errors import ScenarioError, shorten
from gpuplan.planning.result import PlanResult
from gpuplan.planning.run import plan
from gpuplan.scenario.distributions import is_distribution
from gpuplan.scenario.parse import parse_scenario, parse_section
from gpuplan.scenario.schema import MAX_GPUS, MIN_DAYS, Budget, Prices, Site
from gpuplan.search.plans import gpu_range
from gpuplan.studies.seed import SEED_DAYS, plan_cluster

DEFAULT_DAYS = SEED_DAYS
"""Days of a budget run when the budget does not say (the seed study's 90 days)."""
SHORTLIST = 2
"""GPU counts planned in full after the flat-MFU first guess."""
SMALLEST_GPUS = 8
"""The smallest cluster a budget question considers (one server)."""
FREE = ("model", "tokens", "samples")
USED = ("hardware", "gpus", "budget", "site", "prices", "framework", "training")
"""What a budget question reads; anything else (a cluster, a parallel plan, stages, a
training precision) would be ignored, so it is refused by name."""


@dataclass(frozen=True)
class BudgetCandidate:
    gpus: int
    days: float
    first_guess_loss: float
    """Loss of the compute-optimal model under the flat-MFU first guess."""
    planned_loss: float | None = None
    """Loss of the planned run (None: not shortlisted, or no plan fits)."""


@dataclass(frozen=True)
class BudgetPlan:
    """The answer to a budget question: the chosen run, its scenario and the counts weighed."""

    budget: Budget
    scenario: dict[str, Any]
    """The scenario planned: ``plan(parse_scenario(scenario))`` gives ``result``."""
    result: PlanResult
    candidates: tuple[BudgetCandidate, ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        data = self.result.to_dict()
        data["budget"] = {
            "asked": self.budget.model_dump(),
            "gpus": self.result.resolved.gpus,
            "days": self.scenario["training"]["days"],
            "candidates": [c.__dict__ for c in self.candidates],
            "notes": list(self.notes),
            "scenario": self.scenario,
        }
        return data


def is_budget_question(data: Mapping[str, Any]) -> bool:
    """A scenario mapping with a ``budget`` block, or with days and no model ("what can I
    train in 90 days on what I have")."""
    if not isinstance(data, Mapping):
        return False
    training = data.get("training")
    days_only = isinstance(training, Mapping) and training.get("days") is not None
    return data.get("budget") is not None or ("model" not in data and days_only)


def _budget_mapping(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """``training.days`` without a model is the budget's days (the ``--days`` flag)."""
    training = data.get("training")
    if "model" in data or not isinstance(training, Mapping) or training.get("days") is None:
        return data
    raw = data.get("budget") or {}
    if not isinstance(raw, Mapping):
        return data
    rest = {k: v for k, v in training.items() if k != "days"}
    return {**data, "training": rest, "budget": {"days": training["days"], **raw}}


def parse_budget(data: Mapping[str, Any]) -> tuple[Budget, dict[str, Any]]:
    """The budget and the rest of the mapping; ScenarioError names a bad or forbidden key."""
    mapped = _budget_mapping(data)
    days_key = "budget.days" if mapped is data else "training.days"
    data = mapped
    raw = data.get("budget")
    if not isinstance(raw, Mapping):
        raise ScenarioError(f"budget = {raw!r}", "allowed: a mapping {usd, mw, days}")
    try:
        budget = cast(Budget, parse_section(raw, "budget", Budget))
    except ScenarioError as exc:  # the days of --days (training.days) named as the user gave them
        field = exc.field.replace("budget.days", days_key, 1) if exc.field else exc.field
        raise ScenarioError(field, exc.message) from None
    rest = {k: v for k, v in data.items() if k != "budget"}
    if not isinstance(rest.get("training") or {}, Mapping):
        raise ScenarioError(f"training = {shorten(repr(rest['training']))}", "allowed: a mapping")
    training = dict(rest.get("training") or {})
    for key in FREE:
        if key in rest or key in training:
            raise ScenarioError(
                "model" if key == "model" else f"training.{key}",
                "leave it out with a budget: gpuplan chooses the model and its tokens",
            )
    if "days" in training:
        raise ScenarioError("training.days", "with a budget, give the days as budget.days")
    if "hardware" not in rest:
        raise ScenarioError("hardware", "a budget question needs the accelerator, e.g. h100-sxm")
    rest = _checked_blocks(rest)
    gpus = rest.get("gpus")
    if gpus is not None and (
        not isinstance(gpus, int) or isinstance(gpus, bool) or not 1 <= gpus <= MAX_GPUS
    ):
        raise ScenarioError(
            f"gpus = {shorten(repr(gpus))}",
            f"with a budget: one count from 1 to {MAX_GPUS:,}, or leave it out",
        )
    if budget.usd is None and budget.mw is None and gpus is None:
        raise ScenarioError(
            f"{days_key} = {budget.days:g}",
            "days alone need the cluster: give gpus, or budget.usd or budget.mw",
        )
    return budget, rest


def _checked_blocks(rest: dict[str, Any]) -> dict[str, Any]:
    """The question's ``site`` and ``prices``, validated before the budget reads them (a
    range, a list or text there was a TypeError traceback): one value each, as given. A key
    the question would ignore is refused."""
    training = rest.get("training") or {}
    unused = [k for k in rest if k not in USED] + [f"training.{k}" for k in training]
    if unused:
        raise ScenarioError(
            shorten(unused[0]),
            "a budget question would ignore it (gpuplan chooses the model, plan and training); "
            "allowed with a budget: hardware, gpus, site, prices, framework",
        )
    for path in ("site", "prices"):
        found = _first_distribution(rest.get(path), path)
        if found is not None:
            raise ScenarioError(
                f"{found} = {shorten(repr(_at(rest, found)))}",
                "a budget question takes one value, not a range or distribution",
            )
    blocks: dict[str, type[BaseModel]] = {"site": Site, "prices": Prices}
    checked = {
        path: parse_section(rest[path], path, model).model_dump(exclude_unset=True)
        for path, model in blocks.items()
        if rest.get(path) is not None
    }
    return {**rest, **checked}


def _first_distribution(value: Any, path: str) -> str | None:
    if not isinstance(value, Mapping):
        return None
    if is_distribution(value):
        return path
    for key, inner in value.items():
        found = _first_distribution(inner, f"{path}.{key}")
        if found is not None:
            return found
    return None


def _at(data: Mapping[str, Any], path: str) -> Any:
    for key in path.split("."):
        data = data[key]
    return data


def _allowed(
    catalog: Catalog, budget: Budget, rest: Mapping[str, Any]
) -> tuple[list[tuple[int, float]], list[str]]:
    """The GPU counts the budget allows, each with its days, and how they were bounded."""
    hardware = rest["hardware"]
    if not isinstance(hardware, str) or hardware not in catalog.accelerators:
        raise ScenarioError(
            f"hardware = {shorten(repr(hardware))}",
            unknown_id_message("accelerator", str(hardware), list(catalog.accelerators)),
        )
    accelerator = catalog.accelerator(hardware)
    site, prices = dict(rest.get("site") or {}), dict(rest.get("prices") or {})
    price = prices.get("cloud_usd_per_gpu_hour") or accelerator.default_cloud.usd_per_hour
    pue = site.get("pue") or catalog.pue["typical"].value
    one = account_cluster(catalog, accelerator, 1, units.DAY_S, pue=pue, kgco2e_per_kwh=0.0,
                          power_usd_per_kwh=0.1, gpu_price_usd=accelerator.purchase.usd,
                          cloud_usd_per_gpu_hour=price, household_kwh_per_year=1.0)  # fmt: skip
    per_gpu_w = one.power.peak_facility_w
    days = budget.days or DEFAULT_DAYS
    counts = [int(rest["gpus"])] if rest.get("gpus") else _counts(budget, per_gpu_w, price, days)
    notes = [f"{accelerator.id}: {per_gpu_w:,.0f} W of provisioned facility power per GPU "
             f"(PUE {pue}), ${price:.2f} per GPU-hour (cloud rental)"]  # fmt: skip
    fixed = rest.get("gpus")
    if fixed and budget.mw is not None and fixed * per_gpu_w > budget.mw * units.MEGA:
        raise ScenarioError(
            f"gpus = {fixed}",
            f"needs {fixed * per_gpu_w / units.MEGA:,.1f} MW of provisioned facility power, "
            f"over budget.mw = {budget.mw:g}",
        )
    allowed = []
    for n in counts:
        if budget.mw is not None and n * per_gpu_w > budget.mw * units.MEGA:
            continue
        run_days = days
        if budget.usd is not None:
            run_days = min(days, budget.usd / (n * price * 24.0))
        if run_days >= max(MIN_DAYS, 1.0):
            allowed.append((n, run_days))
    if not allowed:
        raise ScenarioError(
            f"budget = {budget.model_dump(exclude_none=True)}",
            f"buys less than one day of {SMALLEST_GPUS} x {accelerator.id} "
            f"({SMALLEST_GPUS * per_gpu_w / units.MEGA:.3f} MW, "
            f"${SMALLEST_GPUS * price * 24:,.0f} a day)",
        )
    return allowed, notes


def _counts(budget: Budget, per_gpu_w: float, price: float, days: float) -> list[int]:
    """Powers of two and 1.5x steps, and the counts that spend the money in ``days`` or use
    the power, rounded down to a multiple of a power of two (at most 1/16 of the count)."""
    exact = []
    if budget.usd is not None:
        exact.append(budget.usd / (price * 24.0 * days))
    if budget.mw is not None:
        exact.append(budget.mw * units.MEGA / per_gpu_w)
    counts = set(gpu_range(SMALLEST_GPUS, MAX_GPUS))
    for n in exact:
        if SMALLEST_GPUS <= n <= MAX_GPUS:
            unit = 2 ** max(3, math.ceil(math.log2(n / 16)))
            counts.add(max(SMALLEST_GPUS, int(n // unit) * unit))
    return sorted(counts)


def plan_budget(data: Mapping[str, Any], catalog: Catalog | None = None) -> BudgetPlan:
    """The run a budget buys: GPU count, model size, tokens and days chosen for the lowest
    predicted loss; the plan, its time, cost split and loss."""
    catalog = catalog or load_catalog()
    budget, rest = parse_budget(data)
    allowed, notes = _allowed(catalog, budget, rest)
    first = [_first_guess(catalog, str(rest["hardware"]), n, d) for n, d in sorted(allowed)]
    guesses = sorted((c for c in first if isinstance(c, BudgetCandidate)),
                     key=lambda c: (c.first_guess_loss, c.days))  # fmt: skip
    if not guesses:  # why the smallest count cannot progress, with its numbers
        assert isinstance(first[0], ScenarioError)
        raise first[0]
    planned: list[tuple[BudgetCandidate, dict[str, Any], PlanResult]] = []
    for guess in guesses[: 2 * SHORTLIST]:
        scenario, result = _plan_count(catalog, rest, guess.gpus, guess.days)
        loss = result.run.scaling.predicted_loss if result.run is not None else None
        planned.append((BudgetCandidate(guess.gpus, guess.days, guess.first_guess_loss, loss),
                        scenario, result))  # fmt: skip
        runs = [p for p in planned if p[0].planned_loss is not None]
        if len(runs) == SHORTLIST:
            break
    runs = runs or planned
    best = min(runs, key=lambda p: (p[0].planned_loss or float("inf"), p[0].days))
    weighed = [p[0] for p in planned] + guesses[len(planned) :]
    notes.append(
        f"Budget {_words(budget)}: {len(allowed)} GPU counts allowed, "
        f"the {SHORTLIST} best under the flat-MFU first guess planned in full; "
        f"{best[0].gpus:,} GPUs for {best[0].days:.1f} days give the lowest predicted loss."
    )
    if best[2].run is not None and (budget.usd is not None or budget.mw is not None):
        notes.append(_spent(budget, best[2].run.cost.cloud_usd, best[2].run.power.peak_facility_w))
    return BudgetPlan(budget, best[1], best[2], tuple(weighed), tuple(notes))


def _first_guess(
    catalog: Catalog, hardware: str, gpus: int, days: float
) -> BudgetCandidate | ScenarioError:
    """The flat-MFU guess of a GPU count's loss; for a count too large to make progress
    (interrupted before it can restart and checkpoint), the error that says so."""
    try:
        loss = assess_cluster(catalog, hardware, gpus, days).optimal.loss
    except ScenarioError as error:
        return error
    return BudgetCandidate(gpus, days, loss)


def _spent(budget: Budget, cloud_usd: float, peak_facility_w: float) -> str:
    """What the chosen run uses of each limit given: $10 trillion bought a 131,072-GPU run of
    $847 million (more GPUs train worse for their failures) and the answer did not say."""
    parts = []
    if budget.usd is not None:
        share = cloud_usd / budget.usd
        parts.append(
            f"${cloud_usd:,.0f} of the ${budget.usd:,.0f} at the cloud price ({share:.2%})"
        )
    if budget.mw is not None:
        mw = peak_facility_w / units.MEGA
        parts.append(f"{mw:,.1f} of the {budget.mw:,g} MW ({mw / budget.mw:.1%})")
    return "The run uses " + "; ".join(parts) + "."


def _words(budget: Budget) -> str:
    """``$1.0e+09, 150 MW, 90 days``: the budget as a reader writes it."""
    parts = [f"${budget.usd:,.0f}" if budget.usd is not None else None,
             f"{budget.mw:,g} MW" if budget.mw is not None else None,
             f"{budget.days:,g} days" if budget.days is not None else None]  # fmt: skip
    return ", ".join(p for p in parts if p)


def _plan_count(
    catalog: Catalog, rest: Mapping[str, Any], gpus: int, days: float
) -> tuple[dict[str, Any], PlanResult]:
    """The seed study's compute-optimal plan of ``gpus`` for ``days``, with the question's
    site, prices and framework."""
    cluster = plan_cluster(catalog, str(rest["hardware"]), gpus, days)
    extra = {k: rest[k] for k in ("site", "prices", "framework") if rest.get(k) is not None}
    if not extra:
        return cluster.scenario, cluster.result
    scenario = {**cluster.scenario, **extra}
    return scenario, plan(parse_scenario(scenario), catalog)
