"""JSON of a plan result: its stable keys (docs/design.md), built from the parts of a result.

``PlanResult.to_dict`` (:mod:`gpuplan.planning.result`) calls these; they take the parts
(step, run accounts, resolved scenario), not the result, so that imports point one way.

MFU and HFU have one definition, used by every output: model (hardware) FLOPs per second
per GPU over the accelerator's dense BF16 peak, whatever the training precision, per GPU
the plan uses (``step.gpus_used``, as ``search`` ranks plans and as published runs count
their job's GPUs). When no layout uses every GPU of the scenario the idle ones are still
paid for: GPU-hours, cost and power count all of them, MFU does not.
``step.mfu_vs_precision_peak`` divides by the peak of the training precision instead (the
convention of NVIDIA's FP8 tables, which halves the figure for FP8 runs).
"""

from __future__ import annotations

from typing import Any

from gpuplan import units
from gpuplan.model.step import StepEstimate
from gpuplan.planning.accounts import RunAccounts
from gpuplan.reliability.analytical import ReliabilityEstimate
from gpuplan.scenario.resolve import ResolvedScenario
from gpuplan.search.plans import SearchResult


def gpus_used(r: ResolvedScenario, step: StepEstimate | None) -> int:
    """The GPUs the run's throughput comes from: the modelled plan's; all the scenario's
    for a what-if MFU (a figure for the whole cluster) or without a plan."""
    return step.plan.gpus if step is not None and not r.mfu_is_what_if else r.gpus


def mfu(r: ResolvedScenario, run: RunAccounts, step: StepEstimate | None) -> float:
    """MFU, the one definition: model FLOPs per second per GPU used over the dense BF16
    peak (a what-if MFU is reported as given)."""
    if r.mfu is not None:
        return r.mfu
    flops_per_s = run.compute.model_flops_per_s_per_gpu * r.gpus  # the whole run's
    return flops_per_s / (gpus_used(r, step) * r.mfu_peak_flops_per_s)


def step_dict(
    r: ResolvedScenario,
    step: StepEstimate | None,
    run: RunAccounts | None,
    step_time_s: float | None,
) -> dict[str, Any]:
    """The ``step`` block. With a modelled step (and no MFU what-if) its breakdown; with an
    assumed MFU only the step time that MFU implies."""
    keys = (
        "time_s", "compute_s", "recompute_s", "exposed_comm_s", "bubble_s", "optimizer_s",
        "overlap_slowdown_s", "straggler_s",
        "tokens_per_s", "tokens_per_s_per_gpu", "model_tflops_per_gpu",
        "mfu", "hfu", "mfu_vs_precision_peak", "gpus_used",
    )  # fmt: skip
    out: dict[str, Any] = dict.fromkeys(keys)
    used = gpus_used(r, step)
    modelled = step
    if step is not None and r.mfu_is_what_if:
        step = None  # throughput comes from the given MFU, not from the step model
    if step is not None:
        out.update(
            time_s=step.time_s,
            compute_s=step.compute_s,
            recompute_s=step.recompute_s,
            exposed_comm_s=sum(step.exposed_comm_s.values()),
            exposed_comm_by_axis_s=dict(step.exposed_comm_s),
            comm_on_link_by_axis_s=dict(step.comm_on_link_s),
            bubble_s=step.bubble_s,
            optimizer_s=step.optimizer_s,
            overlap_slowdown_s=step.overlap_slowdown_s,
            straggler_s=step.straggler_s,
        )
    elif step_time_s is not None:
        out.update(time_s=step_time_s)
    if run is not None:
        c = run.compute
        flops_per_s = c.model_flops_per_s_per_gpu * r.gpus / used  # per GPU used
        out.update(
            gpus_used=used,
            tokens_per_s=c.tokens_per_s,
            tokens_per_s_per_gpu=c.tokens_per_s / used,
            model_tflops_per_gpu=flops_per_s / units.TERA,
            mfu=mfu(r, run, modelled),
            mfu_vs_precision_peak=flops_per_s / r.peak_flops_per_s,
        )
        if step is not None:
            out.update(hfu=_hfu(step, out["mfu"], c.tokens_per_s))
    elif step is not None:
        out.update(gpus_used=used, hfu=step.hfu)
    return out


def _hfu(step: StepEstimate, run_mfu: float, run_tokens_per_s: float) -> float:
    """HFU on the same footing as the run's MFU: the run's model FLOPs (with a video model's
    frozen encoders, which recompute nothing) plus the step's recomputed FLOPs at the run's
    token rate, per GPU used. For a language model it is the step's HFU."""
    recomputed = (step.hfu - step.mfu) * run_tokens_per_s / step.tokens_per_s
    return run_mfu + recomputed


def overheads_dict(failures: ReliabilityEstimate) -> dict[str, float]:
    """The whole-run overheads by name, in seconds of wall time."""
    return {
        "failures_and_restarts": failures.failure_loss_s,
        "checkpoint_writes": failures.checkpointing_s,
        "loss_spike_rollbacks": failures.redone_s,
        "planned_restarts": failures.planned_restart_s,
    }


def run_dict(r: ResolvedScenario, run: RunAccounts) -> dict[str, Any]:
    c = run.compute
    return {
        "run": {
            "samples": c.tokens / r.seq_len,
            "tokens": c.tokens,
            "model_flops": c.model_flops,
            "flops_per_token": c.flops_per_token,
            "days": run.reliability.wall_days,
            "compute_days": c.days,
            "gpu_hours": r.gpus * run.reliability.wall_time_s / units.HOUR_S,
            "goodput": run.reliability.goodput,
            "interruptions": run.reliability.interruptions,
            "mtbi_s": run.reliability.mtbi_s,
            "checkpoint_interval_s": run.reliability.checkpoint_interval_s,
            "checkpoint_bytes": run.reliability.checkpoint_bytes,
            "checkpoint_write_s": run.reliability.checkpoint_write_s,
            "restart_s": run.reliability.restart_s,
            "lost_gpu_hours": run.reliability.lost_gpu_hours,
            "overheads_s": overheads_dict(run.reliability),
            "planned_restarts": run.reliability.planned_restarts,
        },
        "power": {
            "it_w": run.power.it_w,
            "facility_w": run.power.facility_w,
            "peak_it_w": run.power.peak_it_w,
            "peak_facility_w": run.power.peak_facility_w,
            "pue": run.power.pue,
        },
        "energy": {
            "mwh": run.energy.mwh,
            "yearly_gwh": run.energy.yearly_gwh,
            "households_equivalent": run.households,
            "households_country": r.household.id,
        },
        "emissions": {
            "tco2e": run.energy.tco2e,
            "yearly_tco2e": run.energy.yearly_tco2e,
            "grid": r.grid.id,
            "kgco2e_per_kwh": r.grid.kgco2e_per_kwh,
        },
        "cost": {
            "gpu_capex_usd": run.capex.gpu_capex_usd,
            "server_capex_usd": run.capex.server_capex_usd,
            "network_capex_usd": run.capex.network_capex_usd,
            "facility_capex_usd": run.capex.facility_capex_usd,
            "cluster_capex_usd": run.capex.cluster_capex_usd,
            "amortized_usd": run.cost.amortized_usd,
            "amortized_hardware_usd": run.cost.amortized_hardware_usd,
            "amortized_facility_usd": run.cost.amortized_facility_usd,
            "energy_usd": run.cost.energy_usd,
            "cloud_usd": run.cost.cloud_usd,
            "cloud_usd_per_hour": run.cloud_usd_per_hour,
        },
        "scaling": _scaling_dict(run),
    }


def _scaling_dict(run: RunAccounts) -> dict[str, Any]:
    """The ``scaling`` block; for a model without a law (video) nulls and the reason."""
    s, optimal = run.scaling, run.scaling.optimal
    return {
        "law": s.law_id,
        "predicted_loss": s.predicted_loss,
        "compute_optimal_params": optimal.params if optimal else None,
        "compute_optimal_tokens": optimal.tokens if optimal else None,
        "compute_optimal_loss": optimal.loss if optimal else None,
        "note": s.note,
    }


def search_dict(result: SearchResult, lists: bool = True) -> dict[str, Any]:
    """The ``search`` block; without ``lists`` its top and Pareto plans are empty."""

    def row(step: StepEstimate) -> dict[str, Any]:
        return {
            "plan": step.plan.as_dict(),
            "gpus_used": step.plan.gpus,
            "step_time_s": step.time_s,
            "mfu": step.mfu,
            "memory_per_gpu_bytes": step.memory.total_bytes,
        }

    return {
        "gpus": result.gpus,
        "enumerated": result.enumerated,
        "evaluated": result.evaluated,
        "feasible": result.feasible,
        "pruned": dict(result.pruned),
        "elapsed_s": result.elapsed_s,
        "plans_per_s": result.plans_per_s,
        "min_memory_per_gpu_bytes": result.min_memory_bytes,
        "top": [row(s) for s in result.top] if lists else [],
        "pareto": [row(s) for s in result.pareto] if lists else [],
        "notes": list(result.notes),
    }


SUMMED = {
    "run": ("samples", "tokens", "model_flops", "days", "compute_days", "gpu_hours",
            "interruptions", "lost_gpu_hours"),
    "energy": ("mwh",),
    "emissions": ("tco2e",),
    "cost": ("amortized_usd", "amortized_hardware_usd", "amortized_facility_usd",
             "energy_usd", "cloud_usd"),
}  # fmt: skip
"""The keys of a staged run that are the sums of its stages' (one stage after another)."""
PEAKS = {"power": ("it_w", "facility_w", "peak_it_w", "peak_facility_w")}
"""The keys that are the largest stage's."""


def _stage_summary(label: str, d: dict[str, Any]) -> dict[str, Any]:
    """One stage of a staged run: what it ran on and what it took."""
    scenario = d["scenario"]
    return {
        "name": label,
        "gpus": scenario["gpus"],
        "clip": d["model"].get("clip"),
        "seq_len": d["model"].get("seq_len"),
        "fits": d["fits"],
        "infeasible_reason": d["infeasible_reason"],
        **{k: d[k] for k in ("plan", "step", "run", "power", "energy", "emissions", "cost")},
    }


def staged_dict(top: dict[str, Any], stages: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The blocks of a staged run: ``stages`` (each stage's numbers) and its totals in place
    of the largest stage's (sums; power the largest stage's); null when a stage does not
    fit."""
    out: dict[str, Any] = {"stages": [_stage_summary(label, d) for label, d in stages]}
    if not top["fits"] or any(d["run"] is None for _, d in stages):
        return out | dict.fromkeys(("run", "power", "energy", "emissions", "cost", "scaling"))
    for block, keys in SUMMED.items():
        out[block] = dict(top[block])
        for key in keys:
            out[block][key] = sum(d[block][key] for _, d in stages)
    for block, keys in PEAKS.items():
        out[block] = dict(top[block])
        for key in keys:
            out[block][key] = max(d[block][key] for _, d in stages)
    run = out["run"]
    run["goodput"] = run["compute_days"] / run["days"]
    run["flops_per_token"] = run["model_flops"] / run["tokens"]
    return out
