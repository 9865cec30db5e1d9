"""plan(scenario) -> PlanResult: the one orchestration function every door calls.

The performance model always runs. A complete ``parallelism`` block is evaluated as given;
fields left out are searched (:mod:`gpuplan.search.plans`) and the fastest plan that fits is
used. Without ``training.global_batch`` the model's published batch is used, else a
compute rule (:func:`gpuplan.planning.defaults.default_global_batch`). Fixed fields that
break a rule of :mod:`gpuplan.model.rules` are reported together, each with its numbers.
A plan that does not fit is a result with ``fits: false`` and the reason, never a run.
``training.mfu`` is a what-if: it replaces the modelled throughput (the plan still decides
whether the run fits), and the result says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from gpuplan import units
from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.residuals import above_measured_mfu
from gpuplan.catalog.schema import Framework
from gpuplan.catalog.shapes import parameter_count
from gpuplan.model.flops import (
    text_encoder_flops_per_sample,
    training_flops_per_token,
    vae_attention_flops_per_sample,
    vae_encoder_bytes_per_sample,
    vae_encoder_flops_per_sample,
)
from gpuplan.model.performance import estimate
from gpuplan.model.plan_check import plan_errors
from gpuplan.model.rules import Context, edge_chunks, rule_errors
from gpuplan.model.step import Infeasible, InfeasibleKind, StepEstimate, marginal_memory_notes
from gpuplan.planning.accounts import RunAccounts, SourceRef, account_run, sources
from gpuplan.planning.cluster import STRAGGLER_ID, cluster_note, cluster_sources
from gpuplan.planning.defaults import (
    default_global_batch,
    given_plan,
    is_complete,
    search_options,
)
from gpuplan.planning.encoders import (
    VAE_RATE_ID,
    vae_attention_note,
    vae_encoder_seconds_per_clip,
)
from gpuplan.planning.head_width import head_width_error
from gpuplan.planning.result import PlanResult
from gpuplan.planning.stages import plan_stages
from gpuplan.reliability.plan_checkpoint import TimeToTrainRank, plan_rates
from gpuplan.scenario.parse import as_catalog, as_scenario
from gpuplan.scenario.plan import ParallelPlan
from gpuplan.scenario.resolve import ResolvedScenario, resolve
from gpuplan.scenario.schema import MAX_DAYS, Objective, Precision, Scenario
from gpuplan.search.plans import SearchOptions, SearchResult, search

SYSTEM_IDS = (
    "server_cost_ratio",
    "cluster_interconnect_cost_fraction",
    "facility_capex_usd_per_w",
    "facility_lifetime_years",
    "hardware_depreciation_ooms_per_year",
    "server_power_ratio",
    "training_power_fraction",
    "training_kernel_efficiency",
    "framework_memory_overhead_gib",
    "allocator_headroom_fraction",
)
"""System parameters every plan uses (cost, power, the performance model)."""


def plan(
    scenario: Scenario | Mapping[str, Any],
    catalog: Catalog | None = None,
    *,
    search_fn: Callable[..., SearchResult] = search,
) -> PlanResult:
    """Everything gpuplan can say about a scenario.

    ``search_fn`` is the plan search (:func:`gpuplan.search.plans.search`); sweeps pass a
    cached one (:func:`gpuplan.studies.rows.cached_plan`) so that scenarios sharing a search
    key share its result.
    """
    scenario, catalog = as_scenario(scenario), as_catalog(catalog)  # a mapping is parsed
    if scenario.stages is not None:
        return plan_stages(scenario, lambda one: plan(one, catalog, search_fn=search_fn))
    r = resolve(scenario, catalog)
    assumptions: list[str] = []
    extra_sources: list[SourceRef] = []
    flops_per_token, transformer_flops_per_token = _flops_per_token(r, catalog, assumptions)

    batch = r.global_batch
    if batch is None:
        choice = default_global_batch(r, catalog, flops_per_token)
        batch = choice.sequences
        assumptions.append(choice.note)
        extra_sources.append(SourceRef("default global batch", choice.source, choice.retrieved))

    parallel, step, searched, infeasible = _choose_plan(r, catalog, batch, search_fn, assumptions)
    assumptions += marginal_memory_notes(step) if step is not None else []

    run: RunAccounts | None = None
    if infeasible is None:
        assert step is not None
        peak, utilisation = _utilisation(r, step, transformer_flops_per_token, assumptions)
        utilisation = _with_encoders(r, catalog, parallel, transformer_flops_per_token, peak,
                                     utilisation, assumptions)  # fmt: skip
        state_bytes = step.memory.weights_bytes + step.memory.optimizer_bytes
        run = account_run(catalog, r, flops_per_token, peak, utilisation, assumptions,
                          state_bytes_per_gpu=state_bytes)  # fmt: skip
        infeasible = _no_progress(r, run) or _under_one_step(run, step)
        run = None if infeasible else run

    vae_rate = [VAE_RATE_ID] if _encoder_flops_per_token(r)[1] > 0 else []
    used = sources(catalog, r, list(SYSTEM_IDS) + vae_rate, r.framework.id)
    used += cluster_sources(catalog, r.cluster) + extra_sources
    return PlanResult(
        resolved=r,
        global_batch=batch,
        params=parameter_count(r.model),
        parallel_plan=parallel,
        search=searched,
        step=step,
        infeasible=infeasible,
        run=run,
        assumptions=tuple(assumptions),
        sources=tuple(used),
    )


def _utilisation(
    r: ResolvedScenario, step: StepEstimate, transformer_flops_per_token: float, notes: list[str]
) -> tuple[float, float]:
    """(peak FLOP/s, utilisation of it) the run is accounted at: a given MFU (what-if) or
    the modelled step's."""
    if r.mfu is not None:
        notes.append(
            f"Throughput from the given MFU of {r.mfu:.0%} (a what-if against the dense "
            f"BF16 peak), not from the modelled step ({step.mfu:.0%} MFU); the plan is "
            "the model's and decides memory."
        )
        best, words = above_measured_mfu(r.precision.value)
        if r.mfu > best:
            notes.append(f"Warning: training.mfu = {r.mfu:g} is above {words}.")
        return r.mfu_peak_flops_per_s, r.mfu
    peak = r.peak_flops_per_s
    # the transformer's utilisation (a video model's encoders: _with_encoders)
    return peak, step.tokens_per_s * transformer_flops_per_token / (r.gpus * peak)


def _with_encoders(
    r: ResolvedScenario,
    catalog: Catalog,
    parallel: ParallelPlan | None,
    transformer_flops_per_token: float,
    peak: float,
    utilisation: float,
    notes: list[str],
) -> float:
    """The utilisation of the run's model FLOPs (transformer T + frozen encoders E per
    token) once a video model's encoders are paid. Per token and GPU the transformer takes
    ``T / (u P)``; the text encoders, transformers themselves, run at its utilisation
    (``E_text / (u P)``); the VAE encoder by its roofline (:func:`vae_seconds_per_clip`,
    per token). Each of the ``k`` TP x CP x PP ranks that share a clip
    encodes the whole clip (Open-Sora 2.0, scripts/diffusion/train.py: the loader shards the
    batch over the data-parallel group only and ``prepare_inputs`` runs the VAE, T5 and CLIP
    on every rank): the model FLOPs count the encoders once, the time ``k`` times. Returns
    ``(T + E) / (P t)``; ``u`` when nothing is encoded."""
    text, vae = _encoder_flops_per_token(r)
    if parallel is None or text + vae <= 0:
        return utilisation
    k = parallel.tensor_parallel * parallel.context_parallel * parallel.pipeline_parallel
    if k > 1:
        notes.append(
            f"Video model: the frozen encoders run on each of the {k} ranks (TP x CP x PP) "
            "that share a clip, as Open-Sora 2.0's training loop does: counted once in the "
            f"model FLOPs, {k} times in the time."
        )
    seconds = (transformer_flops_per_token + k * text) / (utilisation * peak)
    seconds += k * _vae_seconds_per_token(r, catalog, parallel.microbatch)
    return (transformer_flops_per_token + text + vae) / (peak * seconds)


def _vae_seconds_per_token(r: ResolvedScenario, catalog: Catalog, per_call: int | None) -> float:
    """Seconds one GPU takes for the VAE encoder per token of the clip, ``per_call`` clips
    (a micro-batch) per encoder call (None: per-call costs left out; encoders module)."""
    if _encoder_flops_per_token(r)[1] <= 0:
        return 0.0
    model, chip = r.model, r.accelerator.id
    return vae_encoder_seconds_per_clip(catalog, model, chip, r.framework, per_call) / r.seq_len


def _encoder_flops_per_token(r: ResolvedScenario) -> tuple[float, float]:
    """A video model's frozen text encoders' and VAE encoder's forward FLOPs per token of
    its clip; (0, 0) for other models and when latents are precomputed."""
    if r.model.video is None or r.precomputed_latents:
        return 0.0, 0.0
    text = text_encoder_flops_per_sample(r.model) / r.seq_len
    vae = vae_encoder_flops_per_sample(r.model) + vae_attention_flops_per_sample(r.model)
    return text, vae / r.seq_len


def _flops_per_token(
    r: ResolvedScenario, catalog: Catalog, assumptions: list[str]
) -> tuple[float, float]:
    """Model FLOPs per token, and the transformer's alone. A video model trained on raw
    clips adds its frozen VAE and text encoders' forward per clip (they add run time, not
    step.time_s, which is the transformer's step: :func:`_with_encoders`)."""
    flops_per_token = training_flops_per_token(r.model, r.seq_len)
    if r.model.video is None:
        return flops_per_token, flops_per_token
    if r.precomputed_latents:
        assumptions.append(
            "Video model: VAE latents and text embeddings precomputed (training.precomputed_"
            "latents; the model's paper default), so no encoder runs during training."
        )
        return flops_per_token, flops_per_token
    text, vae = _encoder_flops_per_token(r)
    fraction = catalog.system(VAE_RATE_ID).for_accelerator(r.accelerator.id)
    vae_bytes = vae_encoder_bytes_per_sample(r.model) / r.seq_len
    assumptions.append(
        f"Video model: VAE encoder and frozen text encoders run forward on every clip "
        f"({(text + vae) / flops_per_token:.1%} of the transformer's FLOPs, the VAE "
        f"{vae / flops_per_token:.1%}); the VAE by a roofline: its causal 3D convolutions at "
        f"{fraction:.1%} of the dense BF16 peak ({VAE_RATE_ID}: solved from two measured "
        f"CogVideoX VAE timings, systems.yaml) plus its memory-bound passes ({vae_bytes:,.0f} "
        "bytes per token: GroupNorm, SiLU, padding, residual adds, models.yaml) at the chip's "
        "achieved HBM bandwidth; the text encoders (transformers) at the transformer's "
        "utilisation; counted in the run's time and FLOPs, not in step.time_s."
        + vae_attention_note(r.model, r.seq_len)
    )
    return flops_per_token + text + vae, flops_per_token


def _choose_plan(
    r: ResolvedScenario,
    catalog: Catalog,
    batch: int,
    search_fn: Callable[..., SearchResult],
    assumptions: list[str],
) -> tuple[ParallelPlan | None, StepEstimate | None, SearchResult | None, Infeasible | None]:
    """The plan (given or searched), its step, the search, or why there is none."""
    if (unrunnable := head_width_error(catalog, r.model, r.framework)) is not None:
        return None, None, None, Infeasible(InfeasibleKind.KERNEL, unrunnable)
    given, framework, chip = r.scenario.parallelism, r.framework, r.accelerator.id
    fields = {} if given is None else given.model_dump()
    fold, dual = framework.moe_parallel_folding, framework.pipeline_schedule == "dualpipe"
    edges = edge_chunks(framework)
    context = Context(r.model, r.gpus, batch, r.seq_len, r.accelerator, experts_fold_tp=fold,
                      dualpipe=dual, edge_chunks=edges)  # fmt: skip
    errors = rule_errors(context, fields)
    if errors:
        return None, None, None, Infeasible(InfeasibleKind.LAYOUT, "; ".join(errors))
    profile = (
        f"the '{framework.id}' framework profile ({framework.name}); kernel efficiencies in "
        "efficiency.yaml, one constant (training_kernel_efficiency) fitted on Korthikanti "
        "et al. 2022"
    ) + _stack_note(framework)
    fp8, cv = r.precision is Precision.FP8, catalog.at_scale[STRAGGLER_ID].for_accelerator(chip)
    assumptions.append(cluster_note(r.cluster, cv))
    if given is not None and is_complete(given):
        parallel = given_plan(given)
        # The plan's own GPU count is what estimate() checks it against; here the scenario's.
        mismatch = plan_errors(parallel, r.model, r.gpus, batch, r.seq_len,
                               experts_fold_tp=fold, dualpipe=dual, edge_chunks=edges)  # fmt: skip
        if mismatch:
            return parallel, None, None, Infeasible(InfeasibleKind.LAYOUT, "; ".join(mismatch))
        assumptions.append(f"Parallel plan as given; step time and memory from {profile}.")
        outcome = estimate(catalog, r.model, r.accelerator, parallel, seq_len=r.seq_len,
                           global_batch=batch, fp8=fp8, framework_id=framework.id,
                           cluster=r.cluster)  # fmt: skip
        if isinstance(outcome, Infeasible):
            return parallel, None, None, outcome
        return parallel, outcome, None, None
    searched = search_fn(catalog, r.model, r.accelerator, r.gpus, global_batch=batch,
                         seq_len=r.seq_len, fp8=fp8, options=_options(r, catalog),
                         framework_id=framework.id, cluster=r.cluster)  # fmt: skip
    fixed = [k for k, v in fields.items() if v is not None]
    assumptions.append(
        f"Parallel plan found by search over {searched.enumerated:,} plans "
        f"({searched.feasible:,} fit in memory"
        + (f"; fixed by the scenario: {', '.join(fixed)}" if fixed else "")
        + f"); ranked by {_objective_note(r)}; step time and memory from {profile}. "
        "Searched plans leave "
        f"{catalog.system('allocator_headroom_fraction').for_accelerator(r.accelerator.id):.0%} "
        "of HBM free for the allocator and communication buffers (allocator_headroom_fraction)."
    )
    assumptions += list(searched.notes)
    if searched.best is None:
        return None, None, searched, _no_plan(r, searched)
    if fields.get("recompute") is None:
        assumptions += _block_note(searched.best.plan, framework)
    return searched.best.plan, searched.best, searched, None


def _block_note(plan: ParallelPlan, framework: Framework) -> list[str]:
    """What a searched block recompute is (gpuplan.search.block_recompute), if it is one."""
    if (n := plan.recompute_layers) is None:
        return []
    return [
        f"Block recompute: only the first {n} layer{'s' if n > 1 else ''} of each pipeline "
        f"chunk recompute{'s' if n == 1 else ''}, the fewest that fit in memory; the others "
        f"keep their activations ('{framework.id}' offers Megatron's recompute_method "
        "block, frameworks.yaml block_recompute)."
    ]


def _options(r: ResolvedScenario, catalog: Catalog) -> SearchOptions:
    """The search's fixed fields, and its ranking: wall-clock time per step with failures
    (checkpoint writes, restarts, lost work) unless the scenario asks for step time."""
    options = search_options(r.scenario.parallelism)
    if r.scenario.training.objective is Objective.STEP_TIME:
        return options
    params = parameter_count(r.model).total
    share = _encoder_flops_per_token(r)[0] / training_flops_per_token(r.model, r.seq_len)
    vae_s = _vae_seconds_per_token(r, catalog, None)  # per-call costs left out
    rank = TimeToTrainRank(params, plan_rates(catalog), share, vae_s_per_token=vae_s)
    return replace(options, rank_by=rank)


def _objective_note(r: ResolvedScenario) -> str:
    if r.scenario.training.objective is Objective.STEP_TIME:
        return "step time (training.objective: step_time; failures do not enter the choice)"
    return (
        "time to train: step time / goodput, each plan with its own checkpoint write (its "
        "sharding), restart and job MTBI, checkpoints at the optimal interval"
    )


def _no_plan(r: ResolvedScenario, searched: SearchResult) -> Infeasible:
    where = f"{r.model.id} on {r.gpus:,} x {r.accelerator.id}"
    reasons = ", ".join(f"{k}: {v:,}" for k, v in searched.pruned.items())
    counts = f"of {searched.enumerated:,} plans, {reasons or 'none could be formed'}"
    if searched.min_memory_bytes is None or "does not fit in memory" not in searched.pruned:
        return Infeasible(InfeasibleKind.LAYOUT, f"no parallel plan fits {where}: {counts}")
    need, have = searched.min_memory_bytes / units.GiB, r.accelerator.hbm_bytes / units.GiB
    return Infeasible(
        InfeasibleKind.MEMORY,
        f"{where} does not fit in memory: the smallest plan needs {need:,.1f} GiB per GPU, "
        f"a {r.accelerator.id} has {have:,.1f} GiB ({need / have:,.1f}x over); {counts}",
    )


def _under_one_step(run: RunAccounts, step: StepEstimate) -> Infeasible | None:
    """Fewer tokens than one optimizer step: ``training: {tokens: 1}`` (or ``samples: 1``)
    was a run of a fraction of a second, shorter than its own step, and fit."""
    per_step = step.tokens_per_s * step.time_s  # the global batch, in tokens
    if run.compute.tokens >= per_step * (1 - 1e-9):
        return None
    return Infeasible(
        InfeasibleKind.PROGRESS,
        f"{run.compute.tokens:,.0f} training tokens are less than one optimizer step of this "
        f"plan ({per_step:,.0f} tokens: the global batch); give more tokens or a smaller "
        "global batch",
    )


def _no_progress(r: ResolvedScenario, run: RunAccounts) -> Infeasible | None:
    """Why the run cannot be done: it takes longer than a scenario may run, or the job never
    gets work done (:attr:`gpuplan.reliability.analytical.ReliabilityEstimate.can_progress`)."""
    failures = run.reliability
    overhead_s = failures.progress_overhead_s
    wall_days = failures.wall_time_s / units.DAY_S
    # a run given in days is rebuilt from its goodput to within rounding (3650 days came
    # back as 3650.0000000001 and was refused as longer than 3,650)
    if failures.can_progress and wall_days > MAX_DAYS * (1 + 1e-9):
        return Infeasible(
            InfeasibleKind.PROGRESS,
            f"the run would take {wall_days:,.0f} days on {r.gpus:,} x {r.accelerator.id}, "
            f"more than the {MAX_DAYS:,.0f} days (10 years) a scenario may run; use more "
            "GPUs, fewer tokens or a smaller model",
        )
    if failures.can_progress:
        return None
    return Infeasible(
        InfeasibleKind.PROGRESS,
        f"{r.gpus:,} x {r.accelerator.id} cannot make progress: one interruption every "
        f"{failures.mtbi_s:,.0f} s on average (the catalog's failure rate per GPU-hour times "
        f"{r.gpus:,} GPUs), shorter than a restart and a checkpoint write ({overhead_s:,.0f} s); "
        "use fewer GPUs",
    )


def _stack_note(framework: Framework) -> str:
    """How the stack's own efficiency enters, where it was fitted on a run of the stack."""
    fit = framework.stack_efficiency_fit
    if fit is None and framework.stack_efficiency == 1:
        return ""
    basis = (
        f"fitted on {fit.model}'s published {fit.hardware_tflops_per_gpu:g} TFLOP/s per GPU"
        if fit is not None
        else "carried from the fitted profile of the same engine, frameworks.yaml"
    )
    return f", times this stack's stack_efficiency {framework.stack_efficiency:g} ({basis})"
