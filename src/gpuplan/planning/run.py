"""plan(scenario) -> PlanResult: the one orchestration function.

With ``training.global_batch`` the performance model runs: a complete ``parallelism``
block is evaluated as given; fields left out are searched (:mod:`gpuplan.search`) and the
fastest plan that fits is used. A plan that does not fit is a result with ``fits: false``
and the reason. Without a global batch, throughput comes from a model FLOPs utilisation
(given, or the catalog's typical value), and the result says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gpuplan import __version__, units
from gpuplan.accounting import (
    CapexAccount,
    ComputeAccount,
    EnergyAccount,
    PowerAccount,
    RunCost,
    account_duration,
    account_tokens,
)
from gpuplan.accounting.cluster import account_cluster
from gpuplan.catalog.loader import Catalog, load_catalog
from gpuplan.catalog.shapes import ParameterCount, parameter_count
from gpuplan.errors import ScenarioError
from gpuplan.fitting.scaling_laws import ComputeOptimal, compute_optimal, loss
from gpuplan.model.flops import frozen_encoder_flops_per_sample, training_flops_per_token
from gpuplan.model.performance import DEFAULT_FRAMEWORK, estimate
from gpuplan.model.step import Infeasible, InfeasibleKind, StepEstimate
from gpuplan.planning.serialize import run_dict, search_dict, step_dict
from gpuplan.reliability import ReliabilityEstimate, estimate_reliability_from_catalog
from gpuplan.scenario.plan import ParallelPlan, Recompute
from gpuplan.scenario.resolve import ResolvedScenario, resolve
from gpuplan.scenario.schema import Parallelism, Precision, Scenario
from gpuplan.search.plans import SearchOptions, SearchResult, search


@dataclass(frozen=True)
class SourceRef:
    """A catalog record a result used."""

    used_for: str
    source: str
    retrieved: str


@dataclass(frozen=True)
class ScalingOutcome:
    law_id: str
    params_used: float
    """Parameters put into the law (active parameters for MoE models)."""
    predicted_loss: float
    optimal: ComputeOptimal


@dataclass(frozen=True)
class RunAccounts:
    """What a feasible run takes: time, power, energy, money; and what it buys."""

    compute: ComputeAccount
    power: PowerAccount
    energy: EnergyAccount
    capex: CapexAccount
    cost: RunCost
    households: float
    scaling: ScalingOutcome
    reliability: ReliabilityEstimate
    """Failures and checkpoints: wall time is compute time / goodput."""


@dataclass(frozen=True)
class PlanResult:
    """Everything gpuplan says about a scenario. ``run`` is None when the plan does not fit."""

    resolved: ResolvedScenario
    params: ParameterCount
    parallel_plan: ParallelPlan | None
    search: SearchResult | None
    step: StepEstimate | None
    infeasible: Infeasible | None
    run: RunAccounts | None
    assumptions: tuple[str, ...]
    sources: tuple[SourceRef, ...]

    @property
    def fits(self) -> bool | None:
        """True or False once memory is modelled (a plan was given); None otherwise."""
        if self.infeasible is not None:
            return False
        return True if self.step is not None else None

    @property
    def step_time_s(self) -> float | None:
        if self.step is not None:
            return self.step.time_s
        batch = self.resolved.global_batch
        if batch is None or self.run is None:
            return None
        return batch * self.resolved.seq_len / self.run.compute.tokens_per_s

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON keys of DESIGN.md (null where not modelled or not feasible)."""
        r = self.resolved
        step, run = self.step, self.run
        memory = step.memory if step is not None else None
        if memory is None and self.infeasible is not None:
            memory = self.infeasible.memory
        plan_keys = ("tp", "pp", "dp", "cp", "ep", "microbatch", "interleave", "recompute", "zero")
        plan = dict.fromkeys(plan_keys)
        if self.parallel_plan is not None:
            plan.update({k: v for k, v in self.parallel_plan.as_dict().items() if k in plan})
            plan["sequence_parallel"] = self.parallel_plan.sequence_parallel
        out: dict[str, Any] = {
            "version": __version__,
            "scenario": r.scenario.model_dump(mode="json"),
            "fits": self.fits,
            "infeasible_reason": self.infeasible.reason if self.infeasible else None,
            "plan": plan,
            "memory": {
                "per_gpu_bytes": memory.total_bytes if memory else None,
                "capacity_bytes": r.accelerator.hbm_bytes,
                "breakdown": {
                    "weights_bytes": memory.weights_bytes if memory else None,
                    "grads_bytes": memory.grads_bytes if memory else None,
                    "optimizer_bytes": memory.optimizer_bytes if memory else None,
                    "activations_bytes": memory.activations_bytes if memory else None,
                    "overhead_bytes": memory.overhead_bytes if memory else None,
                },
            },
            "model": {
                "id": r.model.id,
                "params": self.params.total,
                "active_params": self.params.active,
                "params_published": r.model.params_published_b * units.GIGA,
            },
            "step": step_dict(self),
            "search": search_dict(self.search) if self.search is not None else None,
            "run": None,
            "power": None,
            "energy": None,
            "emissions": None,
            "cost": None,
            "scaling": None,
            "assumptions": list(self.assumptions),
            "sources": [
                {"used_for": s.used_for, "source": s.source, "retrieved": s.retrieved}
                for s in self.sources
            ],
        }
        if run is not None:
            out.update(run_dict(self, run))
        return out


def search_options(given: Parallelism | None) -> SearchOptions:
    """The scenario's partial parallelism block as fixed fields of the search."""
    if given is None:
        return SearchOptions()
    return SearchOptions(
        tp=given.tp,
        pp=given.pp,
        dp=given.dp,
        cp=given.cp,
        ep=given.ep,
        microbatch=given.microbatch,
        interleave=given.interleave,
        recompute=given.recompute.value if given.recompute else None,
        sequence_parallel=given.sequence_parallel,
        zero=given.zero,
    )


def parallel_plan(r: ResolvedScenario, catalog: Catalog) -> tuple[ParallelPlan, list[str]]:
    """The scenario's parallelism block as a full plan; defaults are listed as assumptions."""
    given = r.scenario.parallelism
    assert given is not None
    framework = catalog.framework(DEFAULT_FRAMEWORK)
    notes: list[str] = []
    if r.global_batch is None:
        raise ScenarioError(
            "training.global_batch", "required when a parallel plan is given (sequences per step)"
        )
    tp, pp, cp = given.tp or 1, given.pp or 1, given.cp or 1
    if r.gpus % (tp * pp * cp):
        raise ScenarioError(
            f"gpus = {r.gpus}",
            f"not divisible by tp x pp x cp = {tp} x {pp} x {cp} = {tp * pp * cp}",
        )
    dp = given.dp or r.gpus // (tp * pp * cp)
    defaults = {
        "tp": (given.tp, 1),
        "pp": (given.pp, 1),
        "cp": (given.cp, 1),
        "dp": (given.dp, dp),
        "ep": (given.ep, 1),
        "microbatch": (given.microbatch, 1),
        "interleave": (given.interleave, 1),
        "recompute": (given.recompute, framework.default_recompute),
        "sequence_parallel": (given.sequence_parallel, tp > 1),
        "zero": (given.zero, framework.default_zero),
    }
    for key, (value, default) in defaults.items():
        if value is None:
            notes.append(f"parallelism.{key} not given: {default} assumed.")
    recompute = given.recompute or Recompute(framework.default_recompute)
    sp = given.sequence_parallel if given.sequence_parallel is not None else tp > 1
    zero = given.zero if given.zero is not None else framework.default_zero
    plan = ParallelPlan(
        tensor_parallel=tp,
        pipeline_parallel=pp,
        data_parallel=dp,
        context_parallel=cp,
        expert_parallel=given.ep or 1,
        microbatch=given.microbatch or 1,
        interleave=given.interleave or 1,
        recompute=recompute,
        sequence_parallel=sp,
        zero=zero,
    )
    notes.append(
        f"Step time and memory from the performance model with the '{framework.id}' framework "
        f"profile ({framework.name}); kernel efficiencies in efficiency.yaml, one constant "
        "(training_kernel_efficiency) fitted on Korthikanti et al. 2022."
    )
    return plan, notes


def plan(
    scenario: Scenario,
    catalog: Catalog | None = None,
    *,
    search_fn: Callable[..., SearchResult] = search,
) -> PlanResult:
    """Everything gpuplan can say about a scenario.

    ``search_fn`` is the plan search (:func:`gpuplan.search.plans.search`); sweeps pass a
    cached one (:func:`gpuplan.studies.rows.cached_plan`) so that scenarios sharing a search
    key share its result.
    """
    catalog = catalog or load_catalog()
    r = resolve(scenario, catalog)
    model, accelerator = r.model, r.accelerator
    assumptions: list[str] = []
    system_ids = [
        "server_cost_ratio",
        "cluster_interconnect_cost_fraction",
        "facility_capex_usd_per_w",
        "facility_lifetime_years",
        "hardware_depreciation_ooms_per_year",
        "server_power_ratio",
        "training_power_fraction",
    ]
    flops_per_token = training_flops_per_token(model, r.seq_len)
    if model.video is not None:
        flops_per_token += frozen_encoder_flops_per_sample(model) / r.seq_len
        assumptions.append(
            "Video model: frozen text-encoder forward counted per clip; VAE encoding assumed "
            "done offline."
        )

    parallel: ParallelPlan | None = None
    step: StepEstimate | None = None
    infeasible: Infeasible | None = None
    searched: SearchResult | None = None
    given = scenario.parallelism
    complete = given is not None and all(
        getattr(given, name) is not None for name in type(given).model_fields
    )
    if complete:
        parallel, notes = parallel_plan(r, catalog)
        assumptions += notes
        system_ids += ["training_kernel_efficiency", "framework_memory_overhead_gib"]
        assert r.global_batch is not None
        outcome = estimate(
            catalog,
            model,
            accelerator,
            parallel,
            seq_len=r.seq_len,
            global_batch=r.global_batch,
            fp8=r.precision is Precision.FP8,
        )
        if isinstance(outcome, Infeasible):
            infeasible = outcome
        else:
            step = outcome
    elif r.global_batch is not None:
        searched = search_fn(
            catalog,
            model,
            accelerator,
            r.gpus,
            global_batch=r.global_batch,
            seq_len=r.seq_len,
            fp8=r.precision is Precision.FP8,
            options=search_options(given),
        )
        system_ids += ["training_kernel_efficiency", "framework_memory_overhead_gib"]
        fixed = [] if given is None else [k for k, v in given.model_dump().items() if v is not None]
        assumptions.append(
            f"Parallel plan found by search over {searched.enumerated:,} plans "
            f"({searched.feasible:,} fit in memory"
            + (f"; fixed by the scenario: {', '.join(fixed)}" if fixed else "")
            + f"), the '{DEFAULT_FRAMEWORK}' framework profile."
        )
        assumptions += list(searched.notes)
        if searched.best is None:
            reasons = ", ".join(f"{k}: {v:,}" for k, v in searched.pruned.items())
            infeasible = Infeasible(
                InfeasibleKind.MEMORY
                if "does not fit in memory" in searched.pruned
                else InfeasibleKind.LAYOUT,
                f"no parallel plan fits {model.id} on {r.gpus:,} x {accelerator.id} "
                f"(pruned: {reasons})",
            )
        else:
            step = searched.best
            parallel = step.plan
    elif given is not None:
        raise ScenarioError(
            "training.global_batch",
            "required with a parallelism block (sequences per step)",
        )

    run: RunAccounts | None = None
    if infeasible is None:
        mfu = r.mfu
        if step is not None:
            mfu = step.tokens_per_s * flops_per_token / (r.gpus * r.peak_flops_per_s)
        elif r.mfu_is_assumed:
            system_ids.append("typical_mfu")
            assumptions.append(
                f"Throughput from an assumed MFU of {r.mfu:.0%} (catalog typical_mfu), not from "
                "a modelled parallel plan; give a parallelism block, training.mfu or --mfu."
            )
        else:
            assumptions.append(f"Throughput from the given MFU of {r.mfu:.0%}.")
        run = _account_run(catalog, r, flops_per_token, mfu, assumptions)

    sources = _sources(catalog, r, system_ids)
    return PlanResult(
        resolved=r,
        params=parameter_count(model),
        parallel_plan=parallel,
        search=searched,
        step=step,
        infeasible=infeasible,
        run=run,
        assumptions=tuple(assumptions),
        sources=tuple(sources),
    )


def _account_run(
    catalog: Catalog,
    r: ResolvedScenario,
    flops_per_token: float,
    mfu: float,
    assumptions: list[str],
) -> RunAccounts:
    model = r.model
    if r.tokens is not None:
        compute = account_tokens(r.tokens, flops_per_token, r.gpus, r.peak_flops_per_s, mfu)
    else:
        assert r.duration_s is not None, "resolve() guarantees tokens or a duration"
        compute = account_duration(r.duration_s, flops_per_token, r.gpus, r.peak_flops_per_s, mfu)
    params = parameter_count(model).total
    reliability = estimate_reliability_from_catalog(params, r.gpus, compute.compute_time_s, catalog)
    if r.duration_s is not None:
        # A training time is wall-clock time: failures eat into it, so fewer tokens fit.
        for _ in range(3):
            compute = account_duration(
                r.duration_s * reliability.goodput,
                flops_per_token,
                r.gpus,
                r.peak_flops_per_s,
                mfu,
            )
            reliability = estimate_reliability_from_catalog(
                params, r.gpus, compute.compute_time_s, catalog
            )
    assumptions.append(
        f"Failures: one job interruption every {reliability.mtbi_s / units.HOUR_S:.2g} h "
        f"(catalog failure rate per GPU-hour, Llama 3's 54-day record by default); checkpoints "
        f"every {reliability.checkpoint_interval_s / 60:.0f} min, restarts "
        f"{reliability.restart_s / 60:.0f} min; goodput {reliability.goodput:.1%}. Energy and "
        "cost are for the wall-clock time, failures included."
    )
    accounts = account_cluster(
        catalog,
        r.accelerator,
        r.gpus,
        reliability.wall_time_s,
        pue=r.pue,
        kgco2e_per_kwh=r.grid.kgco2e_per_kwh,
        power_usd_per_kwh=r.power_usd_per_kwh,
        gpu_price_usd=r.gpu_price_usd,
        cloud_usd_per_gpu_hour=r.cloud_usd_per_gpu_hour,
        household_kwh_per_year=r.household.kwh_per_year,
    )
    law = catalog.scaling_law()
    published = model.active_params_published_b or model.params_published_b
    params_for_law = published * units.GIGA
    scaling = ScalingOutcome(
        law_id=law.id,
        params_used=params_for_law,
        predicted_loss=loss(law, params_for_law, compute.tokens),
        optimal=compute_optimal(law, compute.model_flops),
    )
    if model.moe is not None:
        kind_note = "for an MoE model its active parameters are used."
    elif model.video is not None:
        kind_note = "for a video model it is only indicative: no public law exists."
    else:
        kind_note = "the loss is in nats per token of that data set."
    assumptions.append(
        f"Loss from the {law.name} fit, made on dense text models (MassiveText); {kind_note}"
    )
    assumptions.append(f"PUE {r.pue} ({r.pue_basis}).")
    assumptions.append(
        f"Cloud price ${r.cloud_usd_per_gpu_hour:.2f}/GPU-hour ({r.cloud_price_basis})."
    )
    return RunAccounts(
        compute=compute,
        power=accounts.power,
        energy=accounts.energy,
        capex=accounts.capex,
        cost=accounts.cost,
        households=accounts.households,
        scaling=scaling,
        reliability=reliability,
    )


def _sources(catalog: Catalog, r: ResolvedScenario, system_ids: list[str]) -> list[SourceRef]:
    accelerator, model = r.accelerator, r.model
    law = catalog.scaling_law()
    sources = [
        SourceRef(f"accelerator {accelerator.id}", accelerator.source, str(accelerator.retrieved)),
        SourceRef(
            f"{accelerator.id} purchase price",
            accelerator.purchase.source,
            accelerator.purchase.date,
        ),
        SourceRef(f"model {model.id}", model.source, str(model.retrieved)),
        SourceRef(f"grid {r.grid.id}", r.grid.source, str(r.grid.retrieved)),
        SourceRef(f"households {r.household.id}", r.household.source, str(r.household.retrieved)),
        SourceRef(f"scaling law {law.id}", law.source, str(law.retrieved)),
    ]
    if r.scenario.parallelism is not None:
        profile = catalog.efficiency_profile(accelerator.id)
        framework = catalog.framework(DEFAULT_FRAMEWORK)
        sources.append(SourceRef("kernel efficiencies", profile.source, str(profile.retrieved)))
        sources.append(SourceRef("framework profile", framework.source, str(framework.retrieved)))
    if r.scenario.prices.cloud_usd_per_gpu_hour is None:
        cloud = accelerator.default_cloud
        sources.append(SourceRef(f"{accelerator.id} cloud price", cloud.source, str(cloud.date)))
    if r.electricity is not None and r.scenario.site.power_usd_per_kwh is None:
        e = r.electricity
        sources.append(SourceRef(f"electricity price {e.id}", e.source, str(e.retrieved)))
    if r.scenario.site.pue is None:
        default_pue = catalog.pue["typical"]
        sources.append(SourceRef("PUE", default_pue.source, str(default_pue.retrieved)))
    for parameter_id in system_ids:
        record = catalog.system(parameter_id)
        sources.append(SourceRef(parameter_id, record.source, str(record.retrieved)))
    return sources
