"""The plan result: everything gpuplan says about a scenario, and its one JSON form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpuplan import __version__, units
from gpuplan.catalog.shapes import ParameterCount
from gpuplan.model.step import Infeasible, StepEstimate
from gpuplan.planning.accounts import RunAccounts, SourceRef
from gpuplan.planning.intervals import interval_dict
from gpuplan.planning.serialize import run_dict, search_dict, step_dict
from gpuplan.scenario.plan import ParallelPlan
from gpuplan.scenario.resolve import ResolvedScenario
from gpuplan.search.plans import SearchResult


@dataclass(frozen=True)
class PlanResult:
    """Everything gpuplan says about a scenario. ``run`` is None when the plan does not fit."""

    resolved: ResolvedScenario
    global_batch: int | None
    """Sequences per step: the scenario's, or the default rule's (see ``assumptions``)."""
    params: ParameterCount
    parallel_plan: ParallelPlan | None
    search: SearchResult | None
    step: StepEstimate | None
    infeasible: Infeasible | None
    run: RunAccounts | None
    assumptions: tuple[str, ...]
    sources: tuple[SourceRef, ...]

    @property
    def fits(self) -> bool:
        """False when no plan fits (or the input cannot make one): see ``infeasible``."""
        return self.infeasible is None

    @property
    def step_time_s(self) -> float | None:
        """The modelled step time; with an MFU what-if, the time that MFU implies."""
        if self.step is not None and not self.resolved.mfu_is_what_if:
            return self.step.time_s
        if self.global_batch is None or self.run is None:
            return None
        return self.global_batch * self.resolved.seq_len / self.run.compute.tokens_per_s

    def step_numbers(self) -> dict[str, Any]:
        """The ``step`` block of :meth:`to_dict` alone (MFU and HFU by their one definition),
        without serialising the rest (the search's plan lists)."""
        return step_dict(self.resolved, self.step, self.run, self.step_time_s)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON keys (docs/design.md); null where not modelled or not feasible."""
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
        plan["global_batch"] = self.global_batch
        out: dict[str, Any] = {
            "version": __version__,
            "scenario": r.scenario.model_dump(mode="json"),
            "fits": self.fits,
            "infeasible_reason": self.infeasible.reason if self.infeasible else None,
            "plan": plan,
            "memory": {
                "per_gpu_bytes": memory.total_bytes if memory else None,
                "capacity_bytes": r.accelerator.hbm_bytes,
                "headroom_bytes": r.accelerator.hbm_bytes - memory.total_bytes if memory else None,
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
            "framework": {"id": r.framework.id, "name": r.framework.name},
            "step": self.step_numbers(),
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
            out.update(run_dict(r, run))
        out["intervals"] = self.intervals()
        return out

    def intervals(self) -> dict[str, Any] | None:
        """The ``intervals`` block of :meth:`to_dict`: P10/P50/P90 of the step time, days,
        GPU-hours and cost from the validation's residuals (:mod:`gpuplan.planning.intervals`)."""
        blocks = run_dict(self.resolved, self.run) if self.run is not None else {}
        return interval_dict(self.resolved, self.step_time_s, blocks.get("run"), blocks.get("cost"))
