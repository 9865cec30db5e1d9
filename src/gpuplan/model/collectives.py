"""Collective communication over a two-level network, with alpha-beta costs.

A link level has a bus bandwidth ``B`` (bytes/s per GPU, one direction, times the achieved
fraction) and a per-step latency ``alpha``. For ``n`` ranks and ``S`` bytes per rank
(Thakur, Rabenseifner & Gropp 2005; NCCL's bus-bandwidth convention):

- ring reduce-scatter or all-gather: ``(n - 1) (alpha + S / (n B))``;
- all-reduce = reduce-scatter + all-gather;
- all-to-all (pairwise exchange): ``(n - 1) (alpha + S / (n B))``;
- point-to-point: ``alpha + S / B``.

Two levels (scale-up domain, scale-out network): a group of ``n`` ranks spaced ``stride``
apart in the rank order sits in ``local = max(1, domain // stride)`` GPUs per domain (at
most ``n``). A group inside one domain uses the scale-up link. A group across domains is
hierarchical (NCCL's tree/ring hierarchy, Megatron's rail-optimised layout): the local step
runs on the scale-up link, and ``local`` inter-domain rings, one per GPU, each carry
``S / local`` bytes on the GPU's own NIC.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Collective(StrEnum):
    ALL_REDUCE = "all-reduce"
    REDUCE_SCATTER = "reduce-scatter"
    ALL_GATHER = "all-gather"
    ALL_TO_ALL = "all-to-all"


@dataclass(frozen=True)
class Link:
    bus_bytes_per_s: float
    """Achieved bus bandwidth per GPU, one direction."""
    latency_s: float
    """Latency of one step of a collective."""

    def __post_init__(self) -> None:
        assert self.bus_bytes_per_s > 0 and self.latency_s >= 0


@dataclass(frozen=True)
class Network:
    scaleup: Link
    scaleout: Link
    domain: int
    """GPUs in one scale-up domain."""


def _ring(kind: Collective, size_bytes: float, n: int, link: Link) -> float:
    """One-level ring (or pairwise) collective over ``n`` ranks of ``size_bytes`` each."""
    if n <= 1 or size_bytes <= 0:
        return 0.0
    step = link.latency_s + size_bytes / n / link.bus_bytes_per_s
    steps = 2 * (n - 1) if kind is Collective.ALL_REDUCE else n - 1
    return steps * step


def local_ranks(n: int, stride: int, domain: int) -> int:
    """Members of a group of ``n`` ranks, ``stride`` apart, that share a scale-up domain."""
    return max(1, min(n, domain // stride)) if stride <= domain else 1


def collective_time(
    kind: Collective, size_bytes: float, n: int, stride: int, network: Network
) -> float:
    """Seconds for one collective of ``size_bytes`` per rank over ``n`` ranks."""
    if n <= 1 or size_bytes <= 0:
        return 0.0
    local = local_ranks(n, stride, network.domain)
    if local >= n:
        return _ring(kind, size_bytes, n, network.scaleup)
    remote = n // local
    inner = _ring(kind, size_bytes, local, network.scaleup)
    if kind is Collective.ALL_TO_ALL:
        # Pairwise exchange: the (n - local)/n share bound for other domains crosses NICs.
        outer = (remote - 1) * (
            network.scaleout.latency_s
            + size_bytes * (n - local) / n / (remote - 1) / network.scaleout.bus_bytes_per_s
        )
        return inner + outer
    # Reduce-scatter inside the domain, the inter-domain collective on 1/local of the data
    # over each GPU's NIC, then all-gather inside the domain (for all-reduce).
    outer = _ring(kind, size_bytes / local, remote, network.scaleout)
    return inner + outer


def p2p_time(size_bytes: float, same_domain: bool, network: Network) -> float:
    if size_bytes <= 0:
        return 0.0
    link = network.scaleup if same_domain else network.scaleout
    return link.latency_s + size_bytes / link.bus_bytes_per_s
