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


def _over(traffic: Any, compute: Any) -> Any:
    """What of one interval's traffic its compute does not cover."""
    return xp.maximum(traffic - compute, 0.0)


def synced_times(
    shares: tuple[float, ...], compute: Any, recompute: Any, gather: Any,
    reduce_scatter: Any, full: Any,
) -> tuple[Any, Any]:  # fmt: skip
    """Per micro-batch, the ZeRO-3 traffic on the link and exposed, of a stage whose
    forward and backward take ``compute`` (one third forward), whose recomputed forward
    takes ``recompute``, and whose weights take ``gather`` to all-gather and
    ``reduce_scatter`` to reduce-scatter; ``full``: full recompute, whose recomputed forward
    gathers every matrix again and whose backward the last matrix then needs no gather for
    (kept: its reuse distance is 0)."""
    s, n = shares, len(shares)
    forward, backward = compute / 3, compute * 2 / 3
    g, q = gather, reduce_scatter
    exposed_forward = sum(_over(s[(i + 1) % n] * g, s[i] * forward) for i in range(n))
    # no recompute: matrix i's backward beside i-1's gather and i+1's reduce-scatter
    plain = sum(
        _over(s[i - 1] * g + s[(i + 1) % n] * q, s[i] * backward) for i in range(n)
    )  # fmt: skip
    # full recompute: the recomputed forward as the forward, the last matrix's recompute and
    # backward one interval, then the backward down to the next layer's first gather
    redo = sum(_over(s[i + 1] * g, s[i] * recompute) for i in range(n - 1))
    last = _over(s[n - 2] * g + s[0] * q, s[n - 1] * (recompute + backward))
    down = sum(_over(s[i - 1] * g + s[i + 1] * q, s[i] * backward) for i in range(1, n - 1))
    first = _over(s[0] * g + s[1] * q, s[0] * backward)
    exposed = exposed_forward + xp.where(full, redo + last + down + first, plain)
    link = xp.where(full, (3 - s[n - 1]) * g, 2 * g) + q
    return link, exposed
