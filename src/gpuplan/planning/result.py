"""The plan result: everything gpuplan says about a scenario, and its one JSON form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpuplan import __version__, units
from gpuplan.catalog.shapes import ParameterCount, video_tokens_per_sample
from gpuplan.model.memory import MemoryEstimate
from gpuplan.model.step import Infeasible, StepEstimate
from gpuplan.planning.accounts import RunAccounts, SourceRef
from gpuplan.planning.intervals import interval_dict
from gpuplan.planning.serialize import run_dict, search_dict, staged_dict, step_dict
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
    stages: tuple[PlanResult, ...] = ()
    """A staged run's stages, each planned on its own (:mod:`gpuplan.planning.stages`)."""
    stage_labels: tuple[str, ...] = ()

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

    def to_dict(self, *, lists: bool = True) -> dict[str, Any]:
        """The stable JSON keys (docs/design.md); null where not modelled or not feasible.
        Without ``lists`` (flat rows drop them) the echoed scenario is null and the
        assumptions, sources and the search's plan lists are empty, not built."""
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
            if (layers := self.parallel_plan.recompute_layers) is not None:
                plan["recompute_layers"] = layers  # only when given: the stable keys stay
        plan["global_batch"] = self.global_batch
        out: dict[str, Any] = {
            "version": __version__,
            "scenario": r.scenario.model_dump(mode="json") if lists else None,
            "fits": self.fits,
            "infeasible_reason": self.infeasible.reason if self.infeasible else None,
            "plan": plan,
            "memory": _memory_dict(r, memory),
            "model": _model_dict(r, self.params),
            "framework": {"id": r.framework.id, "name": r.framework.name},
            "cluster": {"id": r.cluster.id, "name": r.cluster.name},
            "step": self.step_numbers(),
            "search": search_dict(self.search, lists) if self.search is not None else None,
            "run": None,
            "power": None,
            "energy": None,
            "emissions": None,
            "cost": None,
            "scaling": None,
            "assumptions": list(self.assumptions) if lists else [],
            "sources": [
                {"used_for": s.used_for, "source": s.source, "retrieved": s.retrieved}
                for s in (self.sources if lists else ())
            ],
        }
        blocks = run_dict(r, run) if run is not None else {}
        out.update(blocks)
        if self.stages:
            stages = [
                (label, one.to_dict())
                for label, one in zip(self.stage_labels, self.stages, strict=True)
            ]
            out.update(staged_dict(out, stages))
        out["intervals"] = interval_dict(r, self.step_time_s, blocks.get("run"), blocks.get("cost"))
        return out

    def intervals(self) -> dict[str, Any] | None:
        """The ``intervals`` block of :meth:`to_dict`: P10/P50/P90 of the step time, days,
        GPU-hours and cost from the validation's residuals (:mod:`gpuplan.planning.intervals`)."""
        blocks = run_dict(self.resolved, self.run) if self.run is not None else {}
        return interval_dict(self.resolved, self.step_time_s, blocks.get("run"), blocks.get("cost"))


def _memory_dict(r: ResolvedScenario, memory: MemoryEstimate | None) -> dict[str, Any]:
    return {
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
    }


def _model_dict(r: ResolvedScenario, params: ParameterCount) -> dict[str, Any]:
    return {
        "id": r.model.id,
        "params": params.total,
        "active_params": params.active,
        "params_published": r.model.params_published_b * units.GIGA,
        "seq_len": r.seq_len,
        "clip": _clip(r),
    }


def _clip(r: ResolvedScenario) -> dict[str, Any] | None:
    """A video model's training clip: pixels and the latent tokens they make."""
    video = r.model.video
    if video is None:
        return None
    return {
        "frames": video.frames,
        "height": video.height,
        "width": video.width,
        "latent_tokens": video_tokens_per_sample(r.model),
        "precomputed_latents": r.precomputed_latents,
    }
