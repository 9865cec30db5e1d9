"""Context parallelism as a ring (Liu et al. 2023, ring attention): the K/V blocks each rank
sends round the ring per layer and micro-batch, forward and backward, and what the stack's
implementation adds to it (frameworks.yaml ``cp_rings``, counted from its code): the HBM
traffic of its output corrections, gradient accumulations, copies and casts, FP32 gradient
sends, and whether each pass's ring hides only behind that pass's attention.

Per layer and micro-batch on one GPU with ``cp`` ranks, ``cp - 1`` later steps: the forward
sends one K/V block per step, the backward one K/V block and one dK/dV block (in the
implementation's gradient bytes). Without a ``CpRing`` record: a plain ring of BF16 blocks,
no added traffic, hidden behind the attention of both passes together.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpuplan.catalog.schema import CpRing
from gpuplan.model.collectives import Network, p2p_time
from gpuplan.model.kernels import Device, streaming_time


@dataclass(frozen=True)
class RingShape:
    """One micro-batch of one layer on one GPU, as the ring sees it."""

    cp: int
    tp: int
    q_elements: float
    """Elements of the local query (and output) on this GPU."""
    kv_elements: float
    """Elements of the local K (and of V) on this GPU."""
    causal: bool


@dataclass(frozen=True)
class RingCost:
    """Seconds of one layer's ring for one micro-batch."""

    forward_s: float
    """Memory-bound kernels the implementation adds to the forward."""
    backward_s: float
    """... and to the backward."""
    link_forward_s: float
    link_backward_s: float
    last_send_s: float = 0.0
    """The backward's last dK/dV send where the implementation sends after every step
    (``grad_send_every_step``): in ``link_backward_s``, waited for at once, exposed whole."""


def ring_bytes(x: RingShape, ring: CpRing | None) -> tuple[float, float]:
    """(forward, backward) HBM bytes the implementation moves beyond the attention kernels.

    >>> from gpuplan.catalog import load_catalog
    >>> te = load_catalog().framework("megatron-bridge-llm-2025").cp_ring
    >>> ring_bytes(RingShape(2, 1, 1.0, 1.0, False), te)  # 4 + 2 x 4 + 6; 4 + 2 x 8 + 6 + 2 x 6
    (18.0, 38.0)
    """
    if ring is None or x.cp <= 1:
        return 0.0, 0.0
    later = (x.cp - 1) * (ring.causal_step_fraction if x.causal else 1.0)
    q, kv = x.q_elements, 2 * x.kv_elements
    forward = ring.once_forward_q * q + ring.once_forward_kv * kv + later * ring.step_forward_q * q
    backward = (ring.once_backward_q * q + ring.once_backward_kv * kv
                + later * (ring.step_backward_q * q + ring.step_backward_kv * kv))  # fmt: skip
    return forward, backward


def ring_cost(x: RingShape, ring: CpRing | None, network: Network, dev: Device) -> RingCost:
    """The ring's link seconds per pass and the kernels its implementation adds."""
    if x.cp <= 1:
        return RingCost(0.0, 0.0, 0.0, 0.0)
    block = 2 * 2 * x.kv_elements  # K and V in BF16
    same = x.tp * x.cp <= network.domain
    send = p2p_time(block, same, network)
    grad_bytes = 2 if ring is None else ring.grad_send_bytes
    grad = p2p_time(block * grad_bytes / 2, same, network)
    steps = x.cp - 1
    fwd_bytes, bwd_bytes = ring_bytes(x, ring)
    fwd = float(streaming_time(fwd_bytes, steps + 2, dev)) if fwd_bytes else 0.0
    bwd = float(streaming_time(bwd_bytes, 3 * steps + 3, dev)) if bwd_bytes else 0.0
    last = grad if ring is not None and ring.grad_send_every_step else 0.0
    return RingCost(fwd, bwd, steps * send, steps * (send + grad) + last, last)


def ring_exposed(
    cost: RingCost, ring: CpRing | None, attention_forward_s: float, attention_s: float
) -> float:
    """Ring seconds not hidden behind the attention: per pass where the implementation waits
    in each pass (``hidden_per_pass``), else behind the attention of both passes together;
    a last dK/dV send after the last step (``last_send_s``) hides behind nothing."""
    last = cost.last_send_s
    if ring is not None and ring.hidden_per_pass:
        backward = attention_s - attention_forward_s
        return (
            max(0.0, cost.link_forward_s - attention_forward_s)
            + max(0.0, cost.link_backward_s - last - backward)
            + last
        )
    return max(0.0, cost.link_forward_s + cost.link_backward_s - last - attention_s) + last
