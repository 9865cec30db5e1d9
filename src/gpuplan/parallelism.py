"""A parallel plan (how a model is split over GPUs) and the rules that make one valid.

Degrees: tensor (TP), pipeline (PP), data (DP), context (CP) and expert (EP) parallelism.
GPUs = TP x PP x DP x CP; experts are spread over EP ranks taken from the DP x CP group
(as Megatron-core does). Ranks are laid out TP innermost, then CP, DP and PP outermost
(Megatron's default order), so a TP group sits in one scale-up domain when it fits.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpuplan.catalog.schema import Model
from gpuplan.model.flops import Recompute


@dataclass(frozen=True)
class ParallelPlan:
    """A fully specified way to run one training step."""

    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    data_parallel: int = 1
    context_parallel: int = 1
    expert_parallel: int = 1
    microbatch: int = 1
    """Sequences per micro-batch on one pipeline."""
    interleave: int = 1
    """Virtual pipeline stages per GPU (interleaved 1F1B when > 1)."""
    recompute: Recompute = Recompute.NONE
    sequence_parallel: bool = False
    zero: int = 0
    """ZeRO stage: 1 shards optimizer states, 2 also gradients, 3 also weights (FSDP)."""

    @property
    def gpus(self) -> int:
        return (
            self.tensor_parallel
            * self.pipeline_parallel
            * self.data_parallel
            * self.context_parallel
        )

    @property
    def shard_group(self) -> int:
        """Ranks that hold the same weights: ZeRO and gradient reduction span DP x CP."""
        return self.data_parallel * self.context_parallel

    def as_dict(self) -> dict[str, object]:
        return {
            "tp": self.tensor_parallel,
            "pp": self.pipeline_parallel,
            "dp": self.data_parallel,
            "cp": self.context_parallel,
            "ep": self.expert_parallel,
            "microbatch": self.microbatch,
            "interleave": self.interleave,
            "recompute": self.recompute.value,
            "sequence_parallel": self.sequence_parallel,
            "zero": self.zero,
        }


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def plan_errors(
    plan: ParallelPlan, model: Model, gpus: int, global_batch: int, seq_len: int
) -> list[str]:
    """Why a plan cannot run this model on these GPUs (empty when it can).

    Each message names the field, the value, the rule and the valid values.
    """
    errors: list[str] = []
    tp, pp, cp = plan.tensor_parallel, plan.pipeline_parallel, plan.context_parallel
    if plan.gpus != gpus:
        errors.append(
            f"tp x pp x dp x cp = {tp} x {pp} x {plan.data_parallel} x {cp} = {plan.gpus}, "
            f"not gpus = {gpus}"
        )
    if model.heads % tp:
        valid = ", ".join(str(d) for d in divisors(model.heads) if d <= 64)
        errors.append(
            f"parallelism.tp = {tp} does not divide heads = {model.heads}; valid: {valid}"
        )
    elif model.kv_heads % tp and tp % model.kv_heads:
        errors.append(
            f"parallelism.tp = {tp} and kv_heads = {model.kv_heads}: one must divide the other"
        )
    stages = pp * plan.interleave
    if stages > model.layers:
        errors.append(f"parallelism.pp x interleave = {stages} exceeds layers = {model.layers}")
    if seq_len % cp:
        errors.append(f"parallelism.cp = {cp} does not divide seq_len = {seq_len}")
    per_step = plan.microbatch * plan.data_parallel
    if global_batch % per_step:
        errors.append(
            f"training.global_batch = {global_batch} is not a multiple of "
            f"microbatch x dp = {plan.microbatch} x {plan.data_parallel} = {per_step}"
        )
    ep = plan.expert_parallel
    if model.moe is None:
        if ep != 1:
            errors.append(f"parallelism.ep = {ep} but {model.id} has no experts; valid: 1")
    else:
        if model.moe.experts % ep:
            valid = ", ".join(str(d) for d in divisors(model.moe.experts))
            errors.append(
                f"parallelism.ep = {ep} does not divide experts = {model.moe.experts}; "
                f"valid: {valid}"
            )
        if plan.shard_group % ep:
            errors.append(f"parallelism.ep = {ep} must divide dp x cp = {plan.shard_group}")
    if plan.sequence_parallel and tp == 1:
        errors.append("parallelism.sequence_parallel needs tp > 1")
    return errors


def stage_layers(layers: int, stages: int) -> list[int]:
    """Layers per pipeline stage. When they do not divide, the last and first stages,
    which also hold the logits and the embedding, get one layer fewer, then their
    neighbours inwards.

    Llama 3 405B put 126 layers on 16 stages this way (Dubey et al. 2024 sec. 3.3.2): one
    layer fewer on the first and on the last stage.
    """
    per_stage = -(-layers // stages)
    counts = [per_stage] * stages
    deficit = per_stage * stages - layers
    order = [i for pair in zip(range(stages - 1, -1, -1), range(stages), strict=True) for i in pair]
    for index in list(dict.fromkeys(order))[:deficit]:
        counts[index] -= 1
    return counts
