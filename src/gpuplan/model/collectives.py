"""Collective communication over a two-level network, with alpha-beta costs.

A link level has a bus bandwidth ``B`` (bytes/s per GPU, one direction, times the achieved
fraction) and a per-step latency ``alpha``. For ``n`` ranks and ``S`` bytes per rank
(Thakur, Rabenseifner & Gropp 2005; NCCL's bus-bandwidth convention):

- ring reduce-scatter or all-gather: ``(n - 1) (alpha + S / (n B))``;
- all-reduce = reduce-scatter + all-gather;
- all-to-all (pairwise exchange): ``(n - 1) (alpha + S / (n B))``;
- point-to-point: ``alpha + S / B``.

With NCCL's latency model (:class:`NcclRing`, a network's ``nccl``: docs/model.md RULE
NCCL-LAT), a ring collective (reduce-scatter, all-gather, all-reduce), flat or hierarchical,
pays NCCL's latency of one ring over its ``n`` ranks and the domains they span once, in
place of ``alpha`` per step; its bandwidth terms stay. All-to-all and point-to-point keep
``alpha``.

Two levels (scale-up domain, scale-out network): a group of ``n`` ranks spaced ``stride``
apart in the rank order sits in ``local = max(1, domain // stride)`` GPUs per domain (at
most ``n``). A group inside one domain uses the scale-up link. A group across domains is
hierarchical (NCCL's tree/ring hierarchy, Megatron's rail-optimised layout): the local step
runs on the scale-up link, and ``local`` inter-domain rings, one per GPU, each carry
``S / local`` bytes on the GPU's own NIC.

Fabric tiers (a cluster profile, ``clusters.yaml``): tier ``t`` groups ``g_t`` GPUs under
one unit whose uplinks are oversubscribed ``o_t`` : 1. A group of ``n`` ranks ``stride``
apart spans ``n x stride`` GPUs (ranks are placed in order) and crosses tier ``t`` when
that span exceeds ``g_t``. When every GPU of a unit sends out at once, each gets ``1/o_t``
of its NIC through the uplinks. A ring enters and leaves a unit once, so the
``r_t = (members of the group in one unit) / local`` domains of one inter-domain ring that
sit in the unit share the unit's ``1/o_t`` per GPU between ``g_t / r_t`` rings: a ring's
bandwidth across the tier is ``min(1, r_t / o_t)`` of the NIC, and a ring runs at its
slowest hop, the worst tier it crosses. In an all-to-all every rank sends ``S/n`` to every
other: ``S (n - m_t) / n`` per GPU leaves a unit holding ``m_t`` members, at ``B / o_t``;
the slowest level (NIC or a tier) sets the time. On a rail-optimised fabric the leaf links
only the GPUs of one rail, so all-to-all traffic to other rails crosses the spine (NCCL's
PXN relay over NVLink is not modelled): of a GPU's peers only its own server's and the
same-rail GPU of each other server under its leaf are reached without the spine. Rings,
which join the same GPU index of every server, stay rail-aligned.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from gpuplan.model import xp


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
class NcclRing:
    """NCCL's tuning model of a ring collective's latency (``src/graph/tuning.cc``, Ring /
    Simple; docs/model.md RULE NCCL-LAT): ``base_s`` once, ``intra_s`` per step inside a
    scale-up domain, ``inter_s`` per step between domains; an all-reduce over ``N > 1``
    domains counts ``2 (N - 1)`` steps between them, ``2 N`` with ``allreduce_extra``."""

    base_s: float
    intra_s: float
    inter_s: float
    allreduce_extra: bool = False

    def latency(self, kind: Collective, n: Any, domains: Any) -> Any:
        """Seconds of latency of one ring collective over ``n`` ranks in ``domains``
        scale-up domains (NCCL's nodes)."""
        steps, inter = n - 1.0, domains - 1.0
        if kind is Collective.ALL_REDUCE:
            steps = 2.0 * steps
            inter = 2.0 * inter + (2.0 * (domains > 1) if self.allreduce_extra else 0.0)
        return self.base_s + (steps - inter) * self.intra_s + inter * self.inter_s


@dataclass(frozen=True)
class Tier:
    """One fabric tier: GPUs under one unit and the oversubscription of its uplinks."""

    gpus: int
    oversubscription: float

    def __post_init__(self) -> None:
        assert self.gpus >= 1 and self.oversubscription >= 1


@dataclass(frozen=True)
class Network:
    scaleup: Link
    scaleout: Link
    domain: int
    """GPUs in one scale-up domain."""
    tiers: tuple[Tier, ...] = ()
    """Fabric tiers above the NICs, bottom up; none: one non-blocking fabric."""
    rail_optimized: bool = True
    rank_speed_cv: float = 0.0
    """Coefficient of variation of per-rank compute speed (stragglers, see step.py)."""
    nccl: NcclRing | None = None
    """NCCL's latency model of the ring collectives; None: each step the link's latency."""


Arrayish = float | int | np.ndarray
"""Scalars or numpy arrays of equal shape: the plan search evaluates many plans at once."""


def _ring(
    kind: Collective, size_bytes: Arrayish, n: Arrayish, link: Link, slowdown: Arrayish = 1.0,
    latency: Arrayish | None = None,
) -> Any:  # fmt: skip
    """One-level ring (or pairwise) collective over ``n`` ranks of ``size_bytes`` each, on a
    link whose bandwidth is divided by ``slowdown`` (oversubscribed tiers), each step paying
    the link's latency, or the whole ring ``latency`` where given (:class:`NcclRing`);
    ``n`` and ``size_bytes`` are floats (Python or arrays: :func:`xp.floats` of the
    callers, once per group of ranks and not per ring)."""
    ranks = xp.maximum(n, 1.0)
    alpha = link.latency_s if latency is None else 0.0
    step = alpha + size_bytes / ranks / link.bus_bytes_per_s * slowdown
    steps = 2 * (n - 1) if kind is Collective.ALL_REDUCE else n - 1
    total = steps * step if latency is None else steps * step + latency
    return xp.where((n > 1) & (size_bytes > 0), total, 0.0)


def local_ranks(n: Arrayish, stride: Arrayish, domain: int) -> Any:
    """Members of a group of ``n`` ranks, ``stride`` apart, that share a scale-up domain."""
    n = xp.floats(n)
    stride = xp.floats(stride)
    fitted = xp.clip(xp.floor(domain / stride), 1.0, xp.maximum(n, 1.0))
    return xp.where(stride <= domain, fitted, 1.0)


def collective_times(
    kind: Collective, size_bytes: Arrayish, n: Arrayish, stride: Arrayish, network: Network
) -> Any:
    """Seconds for one collective of ``size_bytes`` per rank over ``n`` ranks (arrays; a
    float of Python numbers).

    A group inside one scale-up domain runs one flat ring, any other the hierarchical
    collective (:func:`_hierarchical`); each is computed only when some group needs it. One
    value (one plan) runs the same formulas on Python floats (:mod:`gpuplan.model.xp`)."""
    return collectives_times(((kind, size_bytes),), n, stride, network)[0]


def collectives_times(
    sizes: Sequence[tuple[Collective, Arrayish]], n: Arrayish, stride: Arrayish,
    network: Network,
) -> list[Any]:  # fmt: skip
    """:func:`collective_times` of each (kind, bytes per rank) of ``sizes`` over the same
    ranks (``n``, ``stride`` apart): what depends on the ranks alone (:class:`_Geometry`)
    computed once, for the first that moves bytes (nothing where none does)."""
    values: list[Any] = []
    geometry: _Geometry | None = None
    if (one := xp.scalars(n, stride, *[size for _, size in sizes])) is not None:
        n_one, stride_one, *size_one = one
        arrays = isinstance(n, np.ndarray) or isinstance(stride, np.ndarray)  # (or a size)
        for (kind, size_bytes), bytes_one in zip(sizes, size_one, strict=True):
            value = 0.0
            if n_one > 1 and bytes_one > 0:
                if geometry is None:
                    geometry = _Geometry(n_one, stride_one, network)
                value = _collective(kind, bytes_one, geometry)
            shaped = arrays or isinstance(size_bytes, np.ndarray)  # numbers stay numbers
            values.append(xp.shaped(value, size_bytes, n, stride) if shaped else value)
        return values
    n = np.asarray(n, dtype=float)
    for kind, size_bytes in sizes:
        size = np.asarray(size_bytes, dtype=float)
        if not ((n > 1) & (size > 0)).any():  # nothing moves (e.g. no experts): skip the rest
            values.append(np.zeros(np.broadcast(n, size, np.asarray(stride)).shape))
            continue
        if geometry is None:
            geometry = _Geometry(n, stride, network)
        values.append(np.asarray(_collective(kind, size, geometry)))
    return values


class _Geometry:
    """What a collective over ``n`` ranks ``stride`` apart costs whatever its kind and
    bytes: the members a scale-up domain holds (:func:`local_ranks`), whether the group
    fits in one domain, and for a hierarchical collective the domains it spans, the ranks
    of its inner ring and how much slower than its NIC its outer ring runs
    (:func:`ring_slowdown`); each computed once per group of ranks (the data-parallel
    all-gather, reduce-scatter and all-reduce of one stage share them), the hierarchy's
    only when some group leaves its domain."""

    __slots__ = ("across", "flat", "inner", "inner_ring", "inside", "local", "n", "network",
                 "remote", "slowdown", "stride")  # fmt: skip

    def __init__(self, n: Any, stride: Any, network: Network) -> None:
        self.n, self.stride, self.network = n, stride, network
        self.local = local = local_ranks(n, stride, network.domain)
        self.inside = inside = local >= n
        self.flat = xp.any_(inside)  # some group inside one domain: a flat ring
        self.across = not xp.all_(inside)  # some group across domains: the hierarchy
        if self.across:
            self.remote = xp.maximum(xp.floor(n / local), 1.0)
            self.inner = xp.minimum(local, n)
            self.inner_ring = xp.any_(self.inner > 1)  # (one rank per domain: no inner ring)
        self.slowdown: Any = None  # (:func:`_hierarchical`: not for an all-to-all)


def _collective(kind: Collective, size: Any, geometry: _Geometry) -> Any:
    """:func:`collective_times` on float arrays, or on Python floats, over the ranks of
    ``geometry``."""
    g, network = geometry, geometry.network
    nccl = network.nccl if kind is not Collective.ALL_TO_ALL else None
    latency = nccl.latency(kind, g.n, 1.0) if nccl is not None and g.flat else None
    flat = _ring(kind, size, g.n, network.scaleup, latency=latency) if g.flat else 0.0
    hierarchical = _hierarchical(kind, size, g, nccl) if g.across else 0.0
    return xp.where((g.n <= 1) | (size <= 0), 0.0, xp.where(g.inside, flat, hierarchical))


def _hierarchical(kind: Collective, size: Any, g: _Geometry, nccl: NcclRing | None) -> Any:
    """A collective over the ranks of ``g``, ``g.local`` of them per scale-up domain: inside
    each domain over NVLink, then between the domains over the NICs; ``nccl``: NCCL's ring
    latency model (None for an all-to-all or without one)."""
    n, local, remote, network = g.n, g.local, g.remote, g.network
    zero = None if nccl is None else 0.0  # NCCL: the latency once, for the whole ring
    inner = _ring(kind, size, g.inner, network.scaleup, latency=zero) if g.inner_ring else 0.0
    if kind is Collective.ALL_TO_ALL:
        # Pairwise exchange: the (n - local)/n share bound for other domains crosses NICs,
        # and what leaves each tier's unit crosses its oversubscribed uplinks.
        crossing = _all_to_all_bytes(size, n, g.stride, local, network)
        outer = xp.where(
            remote > 1,
            (remote - 1) * network.scaleout.latency_s + crossing / network.scaleout.bus_bytes_per_s,
            0.0,
        )
    else:
        # Reduce-scatter inside the domain, the inter-domain collective on 1/local of the
        # data over each GPU's NIC, then all-gather inside the domain (for all-reduce).
        if g.slowdown is None:
            g.slowdown = ring_slowdown(n, g.stride, local, network)
        outer = _ring(kind, size / local, remote, network.scaleout, g.slowdown, latency=zero)
        if nccl is not None:  # one NCCL ring over the n ranks in `remote` domains
            outer = outer + nccl.latency(kind, n, remote)
    return inner + outer


def _members_per_unit(n: Any, stride: Any, tier: Tier) -> Any:
    """Members of a group (``n`` ranks ``stride`` apart) inside one unit of ``tier``."""
    return xp.clip(xp.floor(tier.gpus / stride), 1.0, xp.maximum(n, 1.0))


def ring_slowdown(n: Arrayish, stride: Arrayish, local: Arrayish, network: Network) -> Any:
    """How many times slower than its NIC an inter-domain ring runs: the worst tier it
    crosses, ``max(1, o_t / r_t)`` with ``r_t`` of its domains in one unit (1: none)."""
    n = xp.floats(n)
    stride = xp.floats(stride)
    local = xp.floats(local)
    worst: Any = 1.0 if type(n) is type(stride) is type(local) is float else (
        np.ones(np.broadcast(n, stride, local).shape)
    )  # fmt: skip
    for tier in network.tiers:
        crosses = n * stride > tier.gpus
        domains = xp.maximum(xp.floor(_members_per_unit(n, stride, tier) / local), 1.0)
        worst = xp.maximum(worst, xp.where(crosses, tier.oversubscription / domains, 1.0))
    return worst


def _all_to_all_bytes(size: Any, n: Any, stride: Arrayish, local: Any, network: Network) -> Any:
    """Bytes per GPU of an all-to-all at NIC speed: the most loaded level, the NIC (what
    leaves the domain) or a tier's uplinks (what leaves its unit, times ``o_t``)."""
    stride = xp.floats(stride)
    ranks = xp.maximum(n, 1.0)
    worst = size * (n - local) / ranks
    for index, tier in enumerate(network.tiers):
        members = _members_per_unit(n, stride, tier)
        crosses = n * stride > tier.gpus
        if index == 0 and network.rail_optimized:  # the leaf joins one rail only:
            # the own server (NVLink) and the same-rail GPU of each other server in the leaf
            members = local + xp.maximum(members / local - 1.0, 0.0)
            crosses = crosses | (local > 1)
        leaving = size * (n - members) / ranks * tier.oversubscription
        worst = xp.maximum(worst, xp.where(crosses, leaving, 0.0))
    return worst


@functools.lru_cache(maxsize=65536)
def collective_time(
    kind: Collective, size_bytes: float, n: int, stride: int, network: Network
) -> float:
    """Seconds for one collective of ``size_bytes`` per rank over ``n`` ranks.

    The scalar form of :func:`collective_times`; cached, since a plan search asks for the
    same few collectives many times.
    """
    return float(collective_times(kind, size_bytes, n, stride, network))


def p2p_slowdown(stride: Arrayish, span: Arrayish, network: Network) -> Any:
    """How many times slower than its NIC a send to the rank ``stride`` places on runs, in
    a chain of ranks (a pipeline) spanning ``span`` GPUs: at a boundary between units of a
    crossed tier, the ``min(stride, g_t)`` GPUs of a unit that send out at once share its
    ``g_t / o_t`` NICs' worth of uplinks; the worst boundary sets the pace."""
    stride = xp.floats(stride)
    span = xp.floats(span)
    worst: Any = 1.0 if type(stride) is type(span) is float else (
        np.ones(np.broadcast(stride, span).shape)
    )  # fmt: skip
    for tier in network.tiers:
        share = tier.oversubscription * xp.minimum(stride, tier.gpus) / tier.gpus
        worst = xp.maximum(worst, xp.where(span > tier.gpus, share, 1.0))
    return worst


def p2p_times(
    size_bytes: Arrayish,
    same_domain: Arrayish,
    network: Network,
    stride: Arrayish = 1.0,
    span: Arrayish = 0.0,
) -> Any:
    """Seconds for one send of ``size_bytes``; between domains, slowed by the tiers a chain
    of ranks ``stride`` apart over ``span`` GPUs crosses (:func:`p2p_slowdown`). One value
    (one plan) runs on Python floats (:mod:`gpuplan.model.xp`)."""
    if (one := xp.scalars(size_bytes, same_domain, stride, span)) is not None:
        size, same, stride_one, span_one = one
        value = _p2p(size, same == 1.0, stride_one, span_one, network)
        return xp.shaped(value, size_bytes, same_domain, stride, span)
    return _p2p(np.asarray(size_bytes, dtype=float), same_domain, stride, span, network)


def _p2p(size: Any, same_domain: Any, stride: Any, span: Any, network: Network) -> Any:
    """:func:`p2p_times` on float arrays, or on Python numbers."""
    up = network.scaleup.latency_s + size / network.scaleup.bus_bytes_per_s
    slowdown = p2p_slowdown(stride, span, network)
    out = network.scaleout.latency_s + size / network.scaleout.bus_bytes_per_s * slowdown
    return xp.where(size > 0, xp.where(same_domain, up, out), 0.0)


@functools.lru_cache(maxsize=65536)
def p2p_time(size_bytes: float, same_domain: bool, network: Network) -> float:
    """The scalar form of :func:`p2p_times` (one send, no tier crossed); cached, since the
    per-layer costs of a search ask for the same few sends many times."""
    return float(p2p_times(size_bytes, same_domain, network))
