"""The rules that make a parallel plan valid for a model, a batch and a GPU count.

One table, used by a single plan (:func:`plan_errors`) and by the search (which prunes by
the same rules and counts plans per rule).
"""

from __future__ import annotations

from gpuplan.catalog.schema import Model
from gpuplan.scenario.plan import ParallelPlan


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
