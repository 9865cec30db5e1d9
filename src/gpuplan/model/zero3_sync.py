"""ZeRO-3 traffic hidden one weight matrix at a time (docs/model.md RULE ZERO3-SYNC).

DeepSpeed's stage-3 coordinator of 2021 (deepspeedai/DeepSpeed v0.3.13,
``deepspeed/runtime/zero/stage3.py``) synchronises the device at every module's fetch and
keeps one prefetch in flight, so a matrix's compute hides only the traffic issued beside it:
the next matrix's all-gather and, in the backward, the reduce-scatter of the matrix before
it. A pass then takes the sum over matrices of ``max(compute, traffic)``, not the larger of
the two sums. Works on numpy columns of plans or on one plan's Python numbers (:mod:`xp`).
"""

from __future__ import annotations

from typing import Any

from gpuplan.catalog.schema import Model
from gpuplan.model import xp


def matrix_shares(model: Model) -> tuple[float, ...] | None:
    """A dense text layer's weight matrices in the order its forward runs them (Q/K/V,
    output projection, MLP in (gate and up fused), MLP out), as shares of the layer's
    weights; None for MoE, MLA and video models (not modelled: the pooled windows)."""
    if model.moe is not None or model.mla is not None or model.video is not None:
        return None
    h, d = model.hidden, model.head_size
    q_width, kv_width = model.heads * d, model.kv_heads * d
    mlp_in = (model.ffn.matrices - 1) * h * model.ffn_hidden
    sizes = (h * (q_width + 2 * kv_width), q_width * h, mlp_in, model.ffn_hidden * h)
    total = sum(sizes)
    return tuple(size / total for size in sizes)


def _pairs(
    shares: tuple[float, ...], compute: Any, recompute: Any, g: Any, q: Any
) -> tuple[list[tuple[Any, Any]], list[tuple[Any, Any]], list[tuple[Any, Any]]]:
    """(traffic, compute) of each interval between two synchronisations: the forward's,
    the backward's without recompute, and the recomputed forward's and backward's under
    full recompute; ``g(i)``, ``q(i)``: matrix ``i``'s gather and reduce-scatter."""
    s, n = shares, len(shares)
    forward, backward = compute / 3, compute * 2 / 3
    ahead = [(g((i + 1) % n), s[i] * forward) for i in range(n)]  # i beside i+1's gather
    plain = [(g(i - 1) + q((i + 1) % n), s[i] * backward) for i in range(n)]
    # full recompute: the recomputed forward as the forward, the last matrix's recompute and
    # backward one interval, then the backward down to the next layer's first gather
    redo = [(g(i + 1), s[i] * recompute) for i in range(n - 1)]
    last = [(g(n - 2) + q(0), s[n - 1] * (recompute + backward))]
    down = [(g(i - 1) + q(i + 1), s[i] * backward) for i in range(1, n - 1)]
    first = [(g(0) + q(1), s[0] * backward)]
    return ahead, plain, redo + last + down + first


def synced_times(
    shares: tuple[float, ...], compute: Any, recompute: Any, gather: Any,
    reduce_scatter: Any, full: Any, layers: Any = 1.0, latency: Any = 0.0,
) -> tuple[Any, Any]:  # fmt: skip
    """Per micro-batch, the ZeRO-3 traffic on the link and exposed, of a stage of
    ``layers`` layers whose forward and backward take ``compute`` (one third forward), whose
    recomputed forward takes ``recompute``, and whose weights take ``gather`` to all-gather
    and ``reduce_scatter`` to reduce-scatter, each as one collective of ``latency`` seconds
    of latency; a matrix's own collective (one per matrix and layer) has that latency and
    its share of the rest. ``full``: full recompute, whose recomputed forward gathers every
    matrix again and whose backward the last matrix then needs no gather for (kept: its
    reuse distance is 0)."""

    def g(i: int) -> Any:
        return shares[i] * (gather - latency) + layers * latency

    def q(i: int) -> Any:
        return shares[i] * (reduce_scatter - latency) + layers * latency

    ahead, plain, recomputing = _pairs(shares, compute, recompute, g, q)

    def link(pairs: list[tuple[Any, Any]]) -> Any:
        return sum(traffic for traffic, _ in pairs)

    def over(pairs: list[tuple[Any, Any]]) -> Any:  # the traffic its compute leaves over
        return sum(xp.maximum(traffic - busy, 0.0) for traffic, busy in pairs)

    on_link = link(ahead) + xp.where(full, link(recomputing), link(plain))
    return on_link, over(ahead) + xp.where(full, over(recomputing), over(plain))
