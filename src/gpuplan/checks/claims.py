"""Claims about the compute race, checked: each is data, each gets a verdict with numbers.

A claim (``catalog/data/claims.yaml``, or a user's file of the same form) says what it
asserts, names the computation that gives the same quantity (``check``, one of
:data:`CHECKS`) and the tolerances. The verdict vocabulary is fixed:

- ``supported``: the computed value is within the ``supported`` tolerance (or inside the
  claimed range; below an upper bound);
- ``roughly-right``: within the ``roughly`` tolerance;
- ``overstated`` / ``understated``: further off, but within 10x;
- ``wrong``: off by more than 10x (or above an upper bound);
- ``unverifiable``: the data to check it are not public, or it is a forecast (the numbers
  that bear on it are still given).

Verdicts come only from these computations over sourced data: change an input (a price,
a trend rate) and the verdict moves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gpuplan.catalog.loader import Catalog, schema_message, unknown_id_message
from gpuplan.catalog.schema import Run, TrendQuantity
from gpuplan.checks.audit_files import audit_claim
from gpuplan.checks.cluster_checks import city_equivalent, gpu_capex, loss_improvement
from gpuplan.checks.computed import Computed, arg
from gpuplan.errors import CatalogError, ScenarioError, shorten
from gpuplan.fitting.effective_compute import default_trend
from gpuplan.fitting.growth import (
    COMPUTE_BASIS,
    Basis,
    GrowthRate,
    catalog_growth,
    published_growth,
)
from gpuplan.fitting.trends import Metric
from gpuplan.scenario.parse import read_yaml_file

WRONG_FACTOR = 10.0


class Verdict(StrEnum):
    SUPPORTED = "supported"
    ROUGHLY_RIGHT = "roughly-right"
    OVERSTATED = "overstated"
    UNDERSTATED = "understated"
    WRONG = "wrong"
    UNVERIFIABLE = "unverifiable"


class ClaimKind(StrEnum):
    VALUE = "value"
    RANGE = "range"
    UPPER_BOUND = "upper-bound"
    FORECAST = "forecast"


class Tolerance(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    supported: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    roughly: Annotated[float, Field(ge=0, allow_inf_nan=False)]

    @model_validator(mode="after")
    def _supported_within_roughly(self) -> Tolerance:
        """A claim 'supported' must also be 'roughly right' (a wider band was accepted and
        made 'roughly-right' unreachable)."""
        if self.supported > self.roughly:
            raise ValueError(
                f"supported = {self.supported:g} must be <= roughly = {self.roughly:g}"
            )
        return self


Claimed = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A claimed figure: the verdict compares it with the computed one on a log scale, so a
positive finite number (0 or -700 were a ValueError traceback, NaN a verdict of nothing)."""


class Claim(BaseModel):
    """One claim and how to check it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    statement: str
    quantity: str
    unit: str
    kind: ClaimKind
    claimed: Claimed | None = None
    claimed_low: Claimed | None = None
    claimed_high: Claimed | None = None
    check: str
    args: dict[str, Any] = Field(default_factory=dict)
    tolerance: Tolerance
    sources: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _claimed_matches_kind(self) -> Claim:
        if self.kind is ClaimKind.RANGE:
            if self.claimed_low is None or self.claimed_high is None:
                raise ValueError(f"{self.id}: kind range needs claimed_low and claimed_high")
            if self.claimed_low > self.claimed_high:
                raise ValueError(f"{self.id}: claimed_low exceeds claimed_high")
        elif self.kind in (ClaimKind.VALUE, ClaimKind.UPPER_BOUND) and self.claimed is None:
            raise ValueError(f"{self.id}: kind {self.kind.value} needs claimed")
        if self.check not in CHECKS:
            raise ValueError(
                f"{self.id}: check '{self.check}' unknown; allowed: {', '.join(sorted(CHECKS))}"
            )
        return self


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    computed: Computed
    verdict: Verdict

    def as_dict(self) -> dict[str, Any]:
        c = self.claim
        claimed: float | list[float] | None = c.claimed
        if c.kind is ClaimKind.RANGE:
            assert c.claimed_low is not None and c.claimed_high is not None
            claimed = [c.claimed_low, c.claimed_high]
        return {
            "id": c.id,
            "statement": c.statement,
            "verdict": self.verdict.value,
            "claimed": claimed,
            "computed": self.computed.value,
            "unit": c.unit,
            "quantity": c.quantity,
            "explanation": self.computed.explanation,
            "sources": [*c.sources, *self.computed.sources],
            "rates": {role: rate.to_dict() for role, rate in self.computed.rates.items()},
        }


# --------------------------------------------------------------------------- computations


def _run(catalog: Catalog, args: Mapping[str, Any], name: str) -> Run:
    """The catalog run ``args[name]`` names; a ScenarioError for an unknown id (was KeyError)."""
    run_id = arg(args, name)
    if not isinstance(run_id, str) or run_id not in catalog.runs:
        message = unknown_id_message("run", shorten(str(run_id)), list(catalog.runs))
        raise ScenarioError(f"args.{name}", message)
    return catalog.runs[run_id]


def run_h100_equivalents(catalog: Catalog, args: Mapping[str, Any]) -> Computed:
    run = _run(catalog, args, "run")
    if run.accelerator is None or run.accelerator_count is None:
        return Computed(None, f"{run.name}: hardware not published", (run.source,))
    chip = catalog.accelerator(run.accelerator)
    h100 = catalog.accelerator("h100-sxm")
    value = run.accelerator_count * chip.peak_bf16_dense_tflops / h100.peak_bf16_dense_tflops
    return Computed(
        value,
        f"{run.name} ({run.date.isoformat()}) published {run.accelerator_count:,} x "
        f"{chip.name} ({chip.peak_bf16_dense_tflops:.0f} TFLOP/s dense BF16 each), "
        f"= {value:,.0f} H100-equivalents at {h100.peak_bf16_dense_tflops:.0f} TFLOP/s"
        + (f"; {run.gpu_hours:,.0f} GPU-hours" if run.gpu_hours else ""),
        (run.source, chip.source),
    )


def unpublished_hardware(catalog: Catalog, args: Mapping[str, Any]) -> Computed:
    chip = catalog.accelerator(arg(args, "accelerator"))
    h100 = catalog.accelerator("h100-sxm")
    ratio = chip.peak_bf16_dense_tflops / h100.peak_bf16_dense_tflops
    compare = _run(catalog, args, "compare_run")
    return Computed(
        None,
        f"{arg(args, 'model')}'s training hardware is not published. For scale: 2,000-4,000 "
        f"{chip.name} are {2000 * ratio:,.0f}-{4000 * ratio:,.0f} H100-equivalents by dense "
        f"BF16 peak; the largest published video run, {compare.name}, used up to "
        f"{compare.accelerator_count or 0:,} {compare.accelerator_name or 'accelerators'}.",
        (chip.source, compare.source),
    )


def sourced_value(catalog: Catalog, args: Mapping[str, Any]) -> Computed:
    return Computed(float(arg(args, "value")), str(arg(args, "what")), (arg(args, "source"),))


def accelerator_price(catalog: Catalog, args: Mapping[str, Any]) -> Computed:
    chip = catalog.accelerator(arg(args, "accelerator"))
    p = chip.purchase
    return Computed(
        p.usd,
        f"{chip.name}: ${p.usd:,.0f} ({p.basis}, {p.date}).",
        (p.source,),
    )


def _compute_growth(catalog: Catalog, args: Mapping[str, Any]) -> GrowthRate:
    """The published training-compute rate for ``args.basis`` (default: gpuplan's basis)."""
    text = str(args.get("basis", COMPUTE_BASIS.value))
    if text not in Basis.__members__.values():
        raise ScenarioError("args.basis", f"'{shorten(text)}'; allowed: {', '.join(Basis)}")
    rate = published_growth(catalog, Metric.TRAINING_COMPUTE, Basis(text))
    assert rate is not None  # every basis has a published training-compute rate
    return rate


def trend_growth(catalog: Catalog, args: Mapping[str, Any]) -> Computed:
    quantity = TrendQuantity(arg(args, "quantity"))
    years = float(arg(args, "years"))
    if quantity is not TrendQuantity.TRAINING_COMPUTE:
        trend = default_trend(catalog, quantity)
        value = trend.growth_per_year**years
        return Computed(
            value,
            f"{trend.name} grows {trend.growth_per_year:.3g}x a year; over {years:g} years "
            f"that is {value:,.3g}x.",
            (trend.source,),
        )
    rate = _compute_growth(catalog, args)
    fit = catalog_growth(catalog, Metric.TRAINING_COMPUTE, rate.basis)
    value = rate.growth_per_year**years
    ends = ""
    if rate.low is not None and rate.high is not None:
        ends = f" ({rate.low**years:,.0f}-{rate.high**years:,.0f}x)"
    gpus_from, gpus_to = args.get("gpus_from"), args.get("gpus_to")
    extra = ""
    if gpus_from and gpus_to:
        extra = (
            f" The article's ratio is of GPU counts: {gpus_to:,} / {gpus_from:,} = "
            f"{gpus_to / gpus_from:,.0f}x, comparing one company's past cluster with another's "
            "planned one over about three years, not the growth of compute."
        )
    return Computed(
        value,
        f"Training compute of {rate.basis.value} runs grows {rate.growth_per_year:.3g}x a year "
        f"(published, {rate.spread()}, {rate.window}; {rate.trend_id}); over {years:g} years "
        f"that is {value:,.0f}x{ends}. `gpuplan trends` fits {fit.growth_per_year:.3g}x/yr to "
        f"the catalog's {fit.runs} {fit.basis.value} runs of {fit.window}; the check uses the "
        f"published rate, which rests on Epoch AI's whole database and names its source."
        f"{extra}",
        (rate.source,),
        {"used": rate, "catalog_fit": fit},
    )


def algorithmic_share(catalog: Catalog, args: Mapping[str, Any]) -> Computed:
    algorithms = default_trend(catalog, TrendQuantity.ALGORITHMIC_EFFICIENCY)
    compute = _compute_growth(catalog, args)
    hardware = default_trend(catalog, TrendQuantity.HARDWARE_PRICE_PERFORMANCE)
    a, c, h = (t.growth_per_year for t in (algorithms, compute, hardware))
    share = math.log(a) / (math.log(a) + math.log(c))
    return Computed(
        share,
        f"Effective compute grows {a * c:.1f}x a year: {c:.3g}x from more physical compute "
        f"(published, {compute.basis.value} runs {compute.window}; {compute.trend_id}) "
        f"and {a:.1f}x from better algorithms, so algorithms supply {share:.0%} of the growth "
        f"(in log terms), far more than hardware price-performance ({h:.2f}x a year). "
        "Whether they supply the next breakthroughs is a forecast.",
        (algorithms.source, compute.source, hardware.source),
        {"used": compute},
    )


def future_rental(catalog: Catalog, args: Mapping[str, Any]) -> Computed:
    chip = catalog.accelerator(arg(args, "accelerator"))
    gpus = int(arg(args, "gpus"))
    years = float(arg(args, "years"))
    trend = default_trend(catalog, TrendQuantity.HARDWARE_PRICE_PERFORMANCE)
    today = gpus * chip.default_cloud.usd_per_hour
    value = today / trend.growth_per_year**years
    return Computed(
        value,
        f"Today {gpus:,} x ${chip.default_cloud.usd_per_hour:.2f}/h = ${today:,.0f} an hour "
        f"({chip.default_cloud.provider}, {chip.default_cloud.date}). Price-performance grows "
        f"{trend.growth_per_year:.2f}x a year ({trend.name}), so in {years:g} years the same "
        f"compute rents for about ${value:,.0f} an hour.",
        (chip.default_cloud.source, trend.source),
    )


CHECKS: dict[str, Callable[[Catalog, Mapping[str, Any]], Computed]] = {
    "run_h100_equivalents": run_h100_equivalents,
    "unpublished_hardware": unpublished_hardware,
    "sourced_value": sourced_value,
    "accelerator_price": accelerator_price,
    "trend_growth": trend_growth,
    "gpu_capex": gpu_capex,
    "city_equivalent": city_equivalent,
    "loss_improvement": loss_improvement,
    "algorithmic_share": algorithmic_share,
    "future_rental": future_rental,
    "audit": audit_claim,
}


# --------------------------------------------------------------------------- verdicts


def verdict(claim: Claim, computed: float | None) -> Verdict:
    """The fixed vocabulary, from the claimed and the computed value."""
    if claim.kind is ClaimKind.FORECAST or computed is None:
        return Verdict.UNVERIFIABLE
    if computed <= 0:
        return Verdict.WRONG
    supported = math.log1p(claim.tolerance.supported)
    roughly = math.log1p(claim.tolerance.roughly)
    if claim.kind is ClaimKind.UPPER_BOUND:
        assert claim.claimed is not None
        return Verdict.SUPPORTED if computed < claim.claimed else Verdict.WRONG
    if claim.kind is ClaimKind.RANGE:
        assert claim.claimed_low is not None and claim.claimed_high is not None
        if claim.claimed_low <= computed <= claim.claimed_high:
            return Verdict.SUPPORTED
        nearest = claim.claimed_low if computed < claim.claimed_low else claim.claimed_high
        gap = math.log(nearest) - math.log(computed)  # a ratio of 5e-324 underflows to 0
    else:
        assert claim.claimed is not None
        gap = math.log(claim.claimed) - math.log(computed)
    if abs(gap) <= supported:
        return Verdict.SUPPORTED
    if abs(gap) <= roughly:
        return Verdict.ROUGHLY_RIGHT
    if abs(gap) > math.log(WRONG_FACTOR):
        return Verdict.WRONG
    return Verdict.OVERSTATED if gap > 0 else Verdict.UNDERSTATED


def check(claim: Claim, catalog: Catalog) -> ClaimResult:
    """``claim`` checked; its ``args`` come from a user's file, so a value of the wrong type
    or range (``gpus: nosuch``, ``accelerator: [1]``) is a ScenarioError naming the claim, its
    check and the args, not a TypeError or ValueError traceback."""
    try:
        computed = CHECKS[claim.check](catalog, claim.args)
    except CatalogError as exc:  # an unknown id in args, without the claim it came from
        raise ScenarioError(f"claim {claim.id} ({claim.check})", str(exc)) from None
    except (TypeError, ValueError, AttributeError, KeyError, ArithmeticError) as exc:
        raise ScenarioError(
            f"claim {claim.id} ({claim.check}): args = {shorten(repr(dict(claim.args)))}",
            "cannot be used: "
            + ("its figure overflows a float" if isinstance(exc, ArithmeticError) else str(exc)),
        ) from None
    return ClaimResult(claim, computed, verdict(claim, computed.value))


def parse_claims(data: Any, where: str) -> list[Claim]:
    if isinstance(data, dict) and "claims" not in data and "audits" in data:
        return []  # an audits-only file (gpuplan.checks.audit)
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ScenarioError(where, "must hold a mapping with a 'claims' list")
    claims: list[Claim] = []
    for index, row in enumerate(data["claims"]):
        try:
            claims.append(Claim.model_validate(row))
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"])
            name = row.get("id") if isinstance(row, dict) else None
            name = name if isinstance(name, str) and name.strip() else f"#{index}"
            raise ScenarioError(
                f"{where}: claim {name}" + (f", field {field}" if field else ""),
                schema_message(Claim, error),
            ) from None
        if any(c.id == claims[-1].id for c in claims[:-1]):
            raise ScenarioError(f"{where}: claim {claims[-1].id}", "id given twice; ids are unique")
    return claims


def load_claims(path: Path | None = None) -> list[Claim]:
    """The seed's claims, or a user's claims file of the same form."""
    if path is None:
        text = resources.files("gpuplan.catalog").joinpath("data", "claims.yaml").read_text()
        return parse_claims(yaml.safe_load(text), "claims.yaml")
    return parse_claims(read_yaml_file(path, "claims"), str(path))


def uses_compute_growth(claim: Claim, basis: Basis) -> bool:
    """Whether ``claim``'s check rests on the published training-compute rate of ``basis``."""
    uses = claim.check == "algorithmic_share" or (
        claim.check == "trend_growth"
        and claim.args.get("quantity") == TrendQuantity.TRAINING_COMPUTE.value
    )
    return uses and claim.args.get("basis", COMPUTE_BASIS.value) == basis.value


def check_all(catalog: Catalog, claims: list[Claim] | None = None) -> list[ClaimResult]:
    """Each claim checked; None: the seed's. An empty list (an audits-only file, or
    ``claims: []``) checks nothing (it checked the seed's claims instead)."""
    return [check(claim, catalog) for claim in (load_claims() if claims is None else claims)]
