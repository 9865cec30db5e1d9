"""Step time of a training iteration: compute, exposed communication, pipeline bubble.

For each pipeline stage, one micro-batch costs the forward and backward of its layers
(:mod:`gpuplan.model.kernels`), the recomputed forward, and the communication that is not
hidden: tensor-parallel collectives (minus what the framework overlaps), context-parallel
ring exchange beyond the attention it hides behind, expert all-to-alls, and the point-to-
point sends between stages. With ``m`` micro-batches, ``v`` virtual stages per GPU and
per-micro-batch stage times ``t_i`` (Narayanan et al. 2021 sec. 2.2, generalised to uneven
stages)::

    pipeline = m max(t_i) + (sum(t_i) - max(t_i)) / v        # bubble = the second term

The data-parallel gradient reduction (and the ZeRO parameter all-gather) follow, hidden
under the last backward (first forward) when the framework overlaps them; then the
optimizer update streams its states through HBM, and the step waits for its slowest GPU
(:mod:`gpuplan.model.stragglers`). The step time is the sum of these named
parts, each reported on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gpuplan import units
from gpuplan.catalog.schema import (
    Accelerator,
    Framework,
    Model,
)
from gpuplan.model.batch import BatchResult, PlanBatch, evaluate
from gpuplan.model.collectives import Network
from gpuplan.model.kept import by_identity
from gpuplan.model.kernels import (
    Device,
)
from gpuplan.model.memory import MemoryEstimate
from gpuplan.model.one_plan import built, on_numbers, plan_batch
from gpuplan.model.partial_recompute import recompute_layers_error
from gpuplan.model.plan_check import plan_errors
from gpuplan.model.rules import edge_chunks
from gpuplan.scenario.plan import ParallelPlan


class InfeasibleKind(StrEnum):
    LAYOUT = "layout"
    """The plan does not divide the model, the batch or the GPUs."""
    MEMORY = "memory"
    """The plan does not fit in the accelerator's memory."""
    PROGRESS = "progress"
    """The job is interrupted faster than it can restart and checkpoint: it cannot progress."""
    KERNEL = "kernel"
    """The framework's attention kernel does not run heads as wide as the model's."""


@dataclass(frozen=True)
class Infeasible:
    kind: InfeasibleKind
    reason: str
    memory: MemoryEstimate | None = None


@dataclass(frozen=True)
class StepEstimate:
    """One training step of a plan, by named parts (seconds) that add up to ``time_s``."""

    plan: ParallelPlan
    memory: MemoryEstimate
    capacity_bytes: float
    compute_s: float
    """Forward and backward kernels of the slowest stage, all its micro-batches."""
    recompute_s: float
    exposed_comm_s: dict[str, float]
    """Communication the step waits for, per axis (tp, cp, ep, pp, dp)."""
    comm_on_link_s: dict[str, float]
    """Communication time on the links, per axis, hidden or not."""
    bubble_s: float
    optimizer_s: float
    overlap_slowdown_s: float
    """Compute slowed by the collectives hidden under it (they share SMs and HBM)."""
    straggler_s: float
    """Waiting for the slowest GPU of the step (:mod:`gpuplan.model.stragglers`)."""
    tokens_per_step: float
    model_flops_per_step: float
    hardware_flops_per_step: float
    gpus: int
    peak_flops_per_s: float

    @property
    def time_s(self) -> float:
        return (
            self.compute_s
            + self.recompute_s
            + sum(self.exposed_comm_s.values())
            + self.bubble_s
            + self.optimizer_s
            + self.overlap_slowdown_s
            + self.straggler_s
        )

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_per_step / self.time_s

    @property
    def mfu(self) -> float:
        return self.model_flops_per_step / (self.time_s * self.gpus * self.peak_flops_per_s)

    @property
    def hfu(self) -> float:
        return self.hardware_flops_per_step / (self.time_s * self.gpus * self.peak_flops_per_s)


def estimate_step(
    model: Model,
    accelerator: Accelerator,
    plan: ParallelPlan,
    *,
    seq_len: int,
    global_batch: int,
    dev: Device,
    network: Network,
    framework: Framework,
    peak_flops_per_s: float,
    overhead_bytes: float,
    allow_tp_beyond_domain: bool = False,
) -> StepEstimate | Infeasible:
    """Memory and step time of ``plan``, or why it cannot run (the rules of
    :mod:`gpuplan.model.rules`, with the accelerator's scale-up domain).

    The same arithmetic as the plan search: a batch of one plan through
    :func:`gpuplan.model.batch.evaluate`.
    """
    outcome = _one_plan(model, accelerator, dev, network, framework, plan, seq_len,
                        global_batch, overhead_bytes, allow_tp_beyond_domain)  # fmt: skip
    return step_of(outcome, plan, peak_flops_per_s)


@by_identity(records=5, maxsize=1024)
def _one_plan(
    model: Model, accelerator: Accelerator, dev: Device, network: Network, framework: Framework,
    plan: ParallelPlan, seq_len: int, global_batch: int, overhead_bytes: float,
    allow_tp_beyond_domain: bool,
) -> Infeasible | dict[str, Any]:  # fmt: skip
    """Why ``plan`` breaks a rule, or the :func:`plan_numbers` of
    :func:`gpuplan.model.batch.evaluate` of it, kept: all are pure in their inputs, and a
    Monte Carlo or a sweep over prices and sites asks for the same plan again, which then
    costs one look-up (its check and its numbers read from the batch included) and the
    StepEstimate built of them (:func:`step_of`); its records by identity
    (:mod:`gpuplan.model.kept`: none hashed; ``estimate`` passes the first equal record it
    saw of each). The batch holds Python numbers where the stages run on them
    (:mod:`gpuplan.model.one_plan`)."""
    errors = plan_errors(plan, model, plan.gpus, global_batch, seq_len, accelerator=accelerator,
                         allow_tp_beyond_domain=allow_tp_beyond_domain,
                         experts_fold_tp=framework.moe_parallel_folding,
                         dualpipe=framework.pipeline_schedule == "dualpipe",
                         edge_chunks=edge_chunks(framework))  # fmt: skip
    if (partial := recompute_layers_error(plan, model)) is not None:
        errors.append(partial)
    if errors:
        return Infeasible(InfeasibleKind.LAYOUT, "; ".join(errors))
    one = (
        plan_batch(PlanBatch, plan) if on_numbers(framework, plan.pipeline_parallel)
        else PlanBatch.from_plans([plan])
    )  # fmt: skip
    result = evaluate(model, accelerator, one, seq_len=seq_len, global_batch=global_batch,
                      dev=dev, network=network, framework=framework,
                      overhead_bytes=overhead_bytes, as_numbers=True)  # fmt: skip
    return plan_numbers(result, 0, accelerator)


def step_from_batch(
    result: BatchResult,
    index: int,
    plan: ParallelPlan,
    peak_flops_per_s: float,
    accelerator: Accelerator,
) -> StepEstimate | Infeasible:
    """Plan ``index`` of a batch result as a StepEstimate, or Infeasible when it does not
    fit; a result of one plan's numbers (``evaluate(as_numbers=True)``) is read as it is."""
    return step_of(plan_numbers(result, index, accelerator), plan, peak_flops_per_s)


def step_of(
    numbers: Infeasible | dict[str, Any], plan: ParallelPlan, peak_flops_per_s: float
) -> StepEstimate | Infeasible:
    """The StepEstimate of ``plan`` from its :func:`plan_numbers` (Infeasible as it is): a
    new object, its dicts copied, each time (the numbers may be kept, and a caller may
    change a StepEstimate's dicts)."""
    if isinstance(numbers, Infeasible):
        return numbers
    step = built(StepEstimate, plan=plan, **numbers, gpus=plan.gpus,
                 peak_flops_per_s=peak_flops_per_s)  # fmt: skip
    fields = step.__dict__  # (a key set again keeps its place: the fields stay in order)
    fields["exposed_comm_s"] = dict(numbers["exposed_comm_s"])
    fields["comm_on_link_s"] = dict(numbers["comm_on_link_s"])
    return step


def plan_numbers(
    result: BatchResult, index: int, accelerator: Accelerator
) -> Infeasible | dict[str, Any]:
    """Plan ``index`` of a batch result: Infeasible when it does not fit the accelerator's
    memory, else the fields of its StepEstimate from ``memory`` to
    ``hardware_flops_per_step``, in order, as Python numbers (a result of one plan's
    numbers, ``evaluate(as_numbers=True)``, is read as it is)."""

    def row(values: Any) -> float:
        return float(values[index] if getattr(values, "ndim", 0) else values)

    at: Callable[[Any], float] = float if isinstance(result.compute_s, float) else row  # numbers

    memory = built(
        MemoryEstimate,
        weights_bytes=at(result.weights_bytes),
        grads_bytes=at(result.grads_bytes),
        optimizer_bytes=at(result.optimizer_bytes),
        activations_bytes=at(result.activations_bytes),
        overhead_bytes=result.overhead_bytes,
        stage=int(at(result.memory_stage)),
    )
    # Refused when what the model computes (weights, gradients, optimizer states,
    # activations) exceeds the HBM. When only the framework overhead, an assumption
    # (systems.yaml framework_memory_overhead_gib), takes it past, the plan is evaluated,
    # its headroom negative (planning.run notes it): a trained run (Llama 3 405B on Meta's
    # 8,192-GPU layout, 0.1 GiB over with the assumed 3 GiB) is not refused on an
    # assumption. A searched plan also leaves the allocator's headroom free.
    if memory.total_bytes - memory.overhead_bytes > accelerator.hbm_bytes:
        return Infeasible(
            InfeasibleKind.MEMORY,
            f"needs {memory.total_bytes / units.GiB:.1f} GiB per GPU on pipeline stage "
            f"{memory.stage} (weights {memory.weights_bytes / units.GiB:.1f}, gradients "
            f"{memory.grads_bytes / units.GiB:.1f}, optimizer "
            f"{memory.optimizer_bytes / units.GiB:.1f}, activations "
            f"{memory.activations_bytes / units.GiB:.1f}, assumed overhead "
            f"{memory.overhead_bytes / units.GiB:.1f}); {accelerator.id} has "
            f"{accelerator.hbm_gib:.1f} GiB, too little even without the overhead",
            memory,
        )
    return {
        "memory": memory,
        "capacity_bytes": accelerator.hbm_bytes,
        "compute_s": at(result.compute_s),
        "recompute_s": at(result.recompute_s),
        "exposed_comm_s": {k: at(v) for k, v in result.exposed_s.items()},
        "comm_on_link_s": {k: at(v) for k, v in result.on_link_s.items()},
        "bubble_s": at(result.bubble_s),
        "optimizer_s": at(result.optimizer_s),
        "overlap_slowdown_s": at(result.overlap_slowdown_s),
        "straggler_s": at(result.straggler_s),
        "tokens_per_step": result.tokens_per_step,
        "model_flops_per_step": result.model_flops_per_step,
        "hardware_flops_per_step": at(result.hardware_flops_per_step),
    }


def marginal_memory_notes(step: StepEstimate) -> list[str]:
    """The note of a plan given in full that only the assumed framework overhead takes past
    the HBM (:func:`plan_numbers` evaluates it); none for a plan within the HBM."""
    over = step.memory.total_bytes - step.capacity_bytes
    if over <= 0:
        return []
    gib = units.GiB
    return [
        f"Memory is marginal: {step.memory.total_bytes / gib:.1f} GiB per GPU is "
        f"{over / gib:.1f} GiB over the {step.capacity_bytes / gib:.1f} GiB of HBM, within "
        f"the {step.memory.overhead_bytes / gib:.1f} GiB assumed for the CUDA context, "
        "communication buffers and fragmentation (framework_memory_overhead_gib); the plan "
        "fits only if that overhead is smaller here. Evaluated as given."
    ]
