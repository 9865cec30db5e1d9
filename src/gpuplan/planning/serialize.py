"""JSON of a plan result: the stable keys of DESIGN.md, built from the result objects.

Kept apart from :mod:`gpuplan.planning.run` so that the orchestration reads without the
serialisation; ``PlanResult.to_dict`` calls these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gpuplan import units
from gpuplan.model.step import StepEstimate
from gpuplan.search.plans import SearchResult

if TYPE_CHECKING:
    from gpuplan.planning.run import PlanResult, RunAccounts


def step_dict(result: PlanResult) -> dict[str, Any]:
    keys = (
        "time_s", "compute_s", "recompute_s", "exposed_comm_s", "bubble_s", "optimizer_s",
        "overlap_slowdown_s", "tokens_per_s", "tokens_per_s_per_gpu", "model_tflops_per_gpu",
        "mfu", "hfu",
    )  # fmt: skip
    out: dict[str, Any] = dict.fromkeys(keys)
    step, run = result.step, result.run
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
            hfu=step.hfu,
        )
    elif result.step_time_s is not None:
        out.update(time_s=result.step_time_s, compute_s=result.step_time_s)
    if run is not None:
        c = run.compute
        out.update(
            tokens_per_s=c.tokens_per_s,
            tokens_per_s_per_gpu=c.tokens_per_s_per_gpu,
            model_tflops_per_gpu=c.model_flops_per_s_per_gpu / units.TERA,
            mfu=c.mfu,
        )
    return out


def run_dict(result: PlanResult, run: RunAccounts) -> dict[str, Any]:
    r, c = result.resolved, run.compute
    return {
        "run": {
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
            "restart_s": run.reliability.restart_s,
            "lost_gpu_hours": run.reliability.lost_gpu_hours,
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
            "cloud_usd_per_hour": r.gpus * r.cloud_usd_per_gpu_hour,
        },
        "scaling": {
            "law": run.scaling.law_id,
            "predicted_loss": run.scaling.predicted_loss,
            "compute_optimal_params": run.scaling.optimal.params,
            "compute_optimal_tokens": run.scaling.optimal.tokens,
            "compute_optimal_loss": run.scaling.optimal.loss,
        },
    }


def search_dict(result: SearchResult) -> dict[str, Any]:
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
        "top": [row(s) for s in result.top],
        "pareto": [row(s) for s in result.pareto],
        "notes": list(result.notes),
    }
