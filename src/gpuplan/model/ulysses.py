"""Context parallelism by all-to-all (DeepSpeed-Ulysses; Jacobs et al. 2023, arXiv
2309.14509), the alternative to the ring exchange of K/V blocks (:mod:`gpuplan.model.layer`).

Each of the ``cp`` ranks holds ``s / cp`` tokens of every head. Before attention an
all-to-all turns that into all ``s`` tokens of ``H / cp`` heads (Q, K and V), after it
another turns the output back; the backward pass moves the gradients the same way: per
layer and micro-batch, two all-to-alls of Q/K/V-sized data and two of output-sized data.
Unlike the ring they cannot hide behind the attention they feed. It needs the heads on a
tensor-parallel rank (query and key/value) divisible by ``cp``. Megatron-core offers both
(``cp_comm_type`` ``p2p`` or ``a2a``); the layer takes whichever exposes less.
"""

from __future__ import annotations

from gpuplan.model.collectives import Collective, Network, collective_time
from gpuplan.model.kernels import BF16_BYTES


def ulysses_possible(heads: int, kv_heads: int, tp: int, cp: int) -> bool:
    """Whether every CP rank gets whole query and key/value heads."""
    return cp > 1 and (heads // tp) % cp == 0 and (kv_heads // tp) % cp == 0


def ulysses_time(
    tokens: float, q_width: int, kv_width: int, tp: int, cp: int, network: Network
) -> float:
    """Seconds of the all-to-alls of one layer and micro-batch, forward and backward, for a
    micro-batch of ``tokens`` tokens per GPU (the sequence split over ``cp``), the query and
    key/value widths before the TP split; the CP group's ranks lie ``tp`` apart."""
    if cp <= 1:
        return 0.0
    qkv = tokens * (q_width + 2 * kv_width) / tp * BF16_BYTES
    out = tokens * q_width / tp * BF16_BYTES
    one_way = collective_time(Collective.ALL_TO_ALL, qkv, cp, tp, network) + collective_time(
        Collective.ALL_TO_ALL, out, cp, tp, network
    )
    return 2 * one_way
