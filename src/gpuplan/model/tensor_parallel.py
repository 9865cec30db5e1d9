"""Tensor-parallel communication of one layer and micro-batch (:mod:`gpuplan.model.layer`).

A Megatron-style block splits each of its sub-layers over the TP ranks column-wise in, row-
wise out (Shoeybi et al. 2019, sec. 3): one all-reduce forward and one backward per
sub-layer, or with sequence parallelism an all-gather before its column-parallel linear and
a reduce-scatter after its row-parallel one (Korthikanti et al. 2022, sec. 4.2.2). An LLM
block has two such regions (attention, MLP); a video block with cross-attention to the text
has three (self-attention, cross-attention, MLP: Megatron-core's ``CrossAttention`` has its
own column-parallel ``linear_q`` and row-parallel ``linear_proj``, as NeMo DFM's
``DiTCrossAttention``, dfm/src/megatron/model/common/dit_attention.py).

A block whose QK-norms span all heads (``video.qk_norm_tp_gather``: DFM's Wan,
``layernorm_across_heads``) gathers Q and K over the TP ranks before the norm and splits them
after it (``gather_from_tensor_model_parallel_region`` and
``scatter_to_tensor_model_parallel_region``): all-gathers of the self-attention's Q and K and
of the cross-attention's Q in the forward, of their gradients in the backward (the split's
backward is a gather), again in a full recompute. The cross-attention's K over the text
tokens is left out (a few percent of one gather at 512 text tokens). The same path copies
each gathered tensor (of ``S`` bytes after the gather) around the collectives and runs its
norm at the full width (:func:`qk_gather_copy_time`).
"""

from __future__ import annotations

from gpuplan.catalog.schema import Model, TextConditioning
from gpuplan.model.collectives import Collective, Network, collective_time
from gpuplan.model.kernels import BF16_BYTES, Device, streaming_time
from gpuplan.scenario.plan import ParallelPlan, Recompute


def tp_regions(model: Model) -> int:
    """Column- then row-parallel regions of one block: attention and MLP, and the
    cross-attention of a video block conditioned on the text by cross-attention."""
    video = model.video
    if video is not None and video.text_conditioning is TextConditioning.CROSS_ATTENTION:
        return 3
    return 2


def qk_gather_bytes(model: Model, tokens: float) -> tuple[float, ...]:
    """Gathered bytes (per rank, after the gather) of each all-gather that a block whose
    QK-norms span all heads makes in one pass: the self-attention's Q and K, and the
    cross-attention's Q where it has one; none for other blocks."""
    video = model.video
    if video is None or not video.qk_norm_tp_gather:
        return ()
    q = tokens * model.heads * model.head_size * BF16_BYTES
    k = tokens * model.kv_heads * model.head_size * BF16_BYTES
    return (q, k, q) if tp_regions(model) == 3 else (q, k)


def qk_gather_copy_time(
    model: Model, tokens: float, t: int, sequence_parallel: bool, dev: Device
) -> tuple[float, float]:
    """Forward and backward seconds of the HBM traffic of the QK gathers' path on ``t`` TP
    ranks (dit_attention.py at DFM 9eaace1, Megatron-core's tensor_parallel/mappings.py).
    Forward, per gathered tensor of ``S`` bytes: the transposed shard made contiguous before
    the all-gather moves ``2S / t`` (read and write), the concatenation of the chunks along
    the heads ``2S``, the reshape of the transposed result for the norm ``2S``, the split
    shard and its transpose made contiguous again ``2S / t`` each: ``4S + 6S / t``. Backward:
    the split's backward (a gather: ``2S / t + 2S``) and the gather's (a split: ``2S / t``):
    ``2S + 4S / t`` (autograd's copies of transposed gradients are not counted). With
    sequence parallelism the block's elementwise bytes count the norm on a ``1 / t`` share
    (``2S / t``) where it runs over all heads (``2S``): ``2S (1 - 1 / t)`` more forward and
    twice that backward; without it they already count the full width. Nothing without TP."""
    sizes = qk_gather_bytes(model, tokens)
    if t <= 1 or not sizes:
        return 0.0, 0.0
    gathered, norm = sum(sizes), (2 - 2 / t if sequence_parallel else 0.0)
    forward = streaming_time((4 + 6 / t + norm) * gathered, 5 * len(sizes), dev)
    backward = streaming_time((2 + 4 / t + 2 * norm) * gathered, 3 * len(sizes), dev)
    return float(forward), float(backward)


def tp_time(
    model: Model, plan: ParallelPlan, tokens: float, network: Network, op_sac: bool = False
) -> float:
    """Seconds of TP communication of one layer and micro-batch of ``tokens`` tokens on a
    GPU: per region an all-reduce (or an all-gather + reduce-scatter pair with SP) in the
    forward, the same in the backward, again in a full recompute; with SP the backward also
    all-gathers the saved input shard of each column-parallel linear again for its weight
    gradient (Megatron keeps only the shard: Korthikanti et al. 2022 sec. 4.2; Megatron-LM's
    ColumnParallelLinear backward since commit 02bb1f5c, 2022-03); torchtitan's op-level
    recompute re-runs the unsaved ones (:mod:`.op_sac`); and the QK gathers of
    :func:`qk_gather_bytes` in every pass."""
    t = plan.tensor_parallel
    activation, regions, regather = tokens * model.hidden * BF16_BYTES, tp_regions(model), 0.0
    if plan.sequence_parallel:
        gather = collective_time(Collective.ALL_GATHER, activation, t, 1, network)
        one = gather + collective_time(Collective.REDUCE_SCATTER, activation, t, 1, network)
        regather = regions * gather
    else:
        one = collective_time(Collective.ALL_REDUCE, activation, t, 1, network)
    passes = 3 if plan.recompute is Recompute.FULL else 2
    if op_sac and plan.recompute is Recompute.SELECTIVE:
        regather += 2 * gather if plan.sequence_parallel else 2 * one
    qk = sum(
        collective_time(Collective.ALL_GATHER, size, t, 1, network)
        for size in qk_gather_bytes(model, tokens)
    )
    return regions * one * passes + regather + passes * qk
