"""What a pipeline stage exchanges beyond its layers, for many plans at once (numpy): the
point-to-point sends between stages and the last stage's logits and loss. Split from
:mod:`gpuplan.model.pipeline`, which sums them into the stage times."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from gpuplan.catalog.schema import Framework, Model
from gpuplan.model import xp
from gpuplan.model.collectives import Collective, Network, collective_times, p2p_times
from gpuplan.model.kept import by_identity
from gpuplan.model.kernels import BF16_BYTES, Device, gemm_time, streaming_time
from gpuplan.model.pipeline import distinct_rows

IntArray = np.ndarray
FloatArray = np.ndarray


def logit_times(
    model: Model,
    tp: IntArray,
    cp: IntArray,
    microbatch: IntArray,
    seq_len: int,
    dev: Device,
    framework: Framework,
) -> FloatArray:
    """Per plan, the last stage's output layer for one micro-batch: the logit GEMMs forward
    and backward (kept in BF16 under FP8) and the cross-entropy loss over them
    (memory-bound, frameworks.yaml: loss_bytes_per_logit), once per distinct (tp, cp, mb)."""
    if not model.vocab:
        return xp.zeros_like(tp)  # type: ignore[no-any-return]
    if isinstance(tp, int):  # one plan's Python numbers: a number
        return _logit_time(model, dev, framework, tp, cp, microbatch, seq_len)
    if tp.size == 1:  # one plan: its own row
        unique, where = [[tp.item(), cp.item(), microbatch.item()]], np.zeros(1, dtype=np.int64)
    else:
        keys, where = distinct_rows(np.stack([tp, cp, microbatch], axis=1))
        unique = keys.tolist()
    values = np.empty(len(unique))
    for row, (kt, kc, kb) in enumerate(unique):
        values[row] = _logit_time(model, dev, framework, kt, kc, kb, seq_len)
    return np.asarray(values[where])


@by_identity(records=3, maxsize=4096)
def _logit_time(
    model: Model, dev: Device, framework: Framework, tp: int, cp: int, microbatch: int,
    seq_len: int,
) -> float:  # fmt: skip
    """:func:`logit_times` of one (tp, cp, micro-batch), kept per model, device and framework
    (by identity) and sequence: the plans of a scenario and of a search share them."""
    bf16_dev = _bf16(dev)
    rows = microbatch * seq_len / cp
    shard, h = model.vocab / tp, model.hidden
    return (  # type: ignore[no-any-return]
        gemm_time(rows, shard, h, bf16_dev)
        + gemm_time(rows, h, shard, bf16_dev)
        + gemm_time(h, shard, rows, bf16_dev)
        + streaming_time(framework.loss_bytes_per_logit * rows * shard, 9, dev)
    )


@by_identity(records=1, maxsize=256)
def _bf16(dev: Device) -> Device:
    """``dev`` with its GEMMs in BF16 (the logits stay out of FP8), kept per device;
    ``dev`` itself when its GEMMs already run in BF16 (the device ``replace`` would build
    equals it, field for field)."""
    if (not dev.fp8 and dev.gemm_flops_per_s == dev.bf16_gemm_flops_per_s
            and dev.gemm_k_overhead == dev.bf16_gemm_k_overhead):  # fmt: skip
        return dev
    return replace(dev, gemm_flops_per_s=dev.bf16_gemm_flops_per_s, fp8=False,
                   gemm_k_overhead=dev.bf16_gemm_k_overhead)  # fmt: skip


def stage_sends(
    model: Model,
    tp: IntArray,
    cp: IntArray,
    dp: IntArray,
    pp: IntArray,
    interleave: IntArray,
    sequence_parallel: IntArray,
    tokens: FloatArray,
    network: Network,
    framework: Framework,
) -> tuple[FloatArray, FloatArray]:
    """Per plan and micro-batch, the point-to-point sends between stages: on the link, and
    what the stage waits for.

    Activations go between stages scattered over the TP ranks (Narayanan et al. 2021
    sec. 4.1), once forward and once backward per chunk; a stack that gathers them back over
    the TP group on receipt (frameworks.yaml: p2p_gather_on_receive; not under sequence
    parallelism, whose activations stay split) adds that all-gather to each send.
    Interleaved schedules that overlap their sends (frameworks.yaml: overlap_p2p_comm) run
    them under the other chunks' compute; otherwise each stage waits for them. One plan
    runs on Python numbers (:mod:`gpuplan.model.xp`; a 1-element array's as floats).
    """
    if isinstance(tp, int):  # one plan's Python numbers (model/one_plan.py): as they are
        return _sends(model, tp, cp, dp, pp, interleave, sequence_parallel, tokens, network,
                      framework)  # fmt: skip
    if (one := xp.scalars(tp, cp, dp, pp, interleave, sequence_parallel, tokens)) is not None:
        t, c, d, p, v, sp, per_gpu = one
        on_link, exposed = _sends(model, t, c, d, p, v, sp, per_gpu, network, framework)
        return xp.shaped(on_link, tp), xp.shaped(exposed, tp)  # numbers stay numbers
    return _sends(model, tp, cp, dp, pp, interleave, sequence_parallel, tokens, network,
                  framework)  # fmt: skip


def _sends(
    model: Model, tp: Any, cp: Any, dp: Any, pp: Any, interleave: Any, sp: Any, tokens: Any,
    network: Network, framework: Framework,
) -> tuple[Any, Any]:  # fmt: skip
    """:func:`stage_sends` on arrays, or on one plan's Python numbers."""
    same_domain = tp * cp * dp * 2 <= network.domain
    activation = tokens * model.hidden * BF16_BYTES
    send = p2p_times(activation / tp, same_domain, network,
                     tp * cp * dp, tp * cp * dp * pp)  # fmt: skip
    if framework.p2p_gather_on_receive:  # Megatron-LM 2021-22: gather_split_1d_tensor
        gather = collective_times(Collective.ALL_GATHER, activation, tp, 1, network)
        send = send + xp.where(sp > 0.5, 0.0, gather)
    on_link = xp.where(pp > 1, 2 * interleave * send, 0.0)
    hidden = ((interleave > 1) & framework.overlap_p2p_comm) | (
        framework.pipeline_schedule == "dualpipe"
    )
    return on_link, xp.where(hidden, 0.0, on_link)
