"""Token routing of a mixture-of-experts layer as communication over the two-level network.

An expert-parallel group of ``ep`` ranks, spaced ``stride`` (TP x CP) apart in the rank
order, holds ``E / ep`` experts per rank and spans ``domains = ep / local`` scale-up
domains of ``local`` ranks each (:func:`gpuplan.model.collectives.local_ranks`). Each token
picks ``k`` experts; with balanced routing every pick lands on any rank with probability
``1 / ep`` (expected values over independent picks, no fitted constant):

- distinct ranks a token reaches: ``r = ep (1 - (1 - 1/ep)^k)``, distinct domains
  ``d = domains (1 - (1 - 1/domains)^k)``. Node-limited routing (DeepSeek-V3: experts in
  ``groups``, a token routed to at most ``topk_groups`` of them, report sec. 2.1.2) caps
  ``d`` at ``topk_groups x max(1, domains / groups)`` and confines the picks to that share of
  the ranks;
- a flat all-to-all (NCCL, Megatron's alltoall dispatcher) sends each of the ``k`` copies
  on its own: ``k (ep - local) / ep`` cross the NIC, ``k (local - 1) / ep`` stay on the
  scale-up link;
- node deduplication (DeepEP, DeepSeek-V3 sec. 3.2.2) sends a token once per remote domain
  over the NIC, ``d (domains - 1) / domains`` copies, and forwards it inside each domain to
  the ranks that hold its experts, ``r (local - 1) / local`` copies over the scale-up link,
  both at once (the slower link sets the time).

The busiest rank sets the pace: with ``mu`` token copies per rank per micro-batch, the most
loaded of ``ep`` ranks receives about ``mu + sqrt(2 mu ln ep)`` (the Gaussian maximum of
``ep`` balanced multinomial counts), so both the all-to-all bytes and the expert GEMM rows
are scaled by ``1 + sqrt(2 ln(ep) / mu)``. A router whose loads are less even than
chance (no balancing) is not modelled. Under token drop with padding (Megatron-core's
capacity factor ``c`` with moe_pad_expert_input_to_capacity) every rank sends each expert
exactly ``c`` times its mean share, so the load is ``c`` times the mean on every rank.

Per layer and micro-batch there are four all-to-alls: dispatch and combine forward, and
their transposes backward. FP8 runs that dispatch in FP8 (DeepSeek-V3 sec. 3.3.3) send the
forward dispatch and the backward gradient before the down-projection at one byte per
element plus one FP32 scale per 128 elements; both combines stay in BF16.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gpuplan.catalog.schema import Moe
from gpuplan.model.collectives import Collective, Network, collective_time, local_ranks

BF16_BYTES = 2.0
FP8_TILE = 128
"""Elements per FP8 scaling tile of an activation (DeepSeek-V3 sec. 3.3.2: 1 x 128 tiles)."""
FP8_BYTES = 1.0 + 4.0 / FP8_TILE
"""One byte per element and one FP32 scale per tile."""


@dataclass(frozen=True)
class RoutingOptions:
    """What the framework does with routed tokens (frameworks.yaml)."""

    node_dedup: bool = False
    fp8_dispatch: bool = False
    fold_tp: bool = False
    """Experts without TP on an EP group folded over TP x CP x DP (consecutive ranks), each
    rank routing its 1/TP share of the tokens (frameworks.yaml: moe_parallel_folding)."""
    capacity_factor: float | None = None
    """Token drop padded to capacity (frameworks.yaml: moe_capacity_factor); None: dropless."""
    expert_host_s: float = 0.0
    """Host seconds per local expert, layer and micro-batch (frameworks.yaml:
    expert_gemm_host_s)."""

    def expert_layout(self, tokens: float, tp: int, cp: int) -> tuple[float, int, int]:
        """Tokens each rank routes, the experts' TP degree and the EP group's rank stride."""
        if self.fold_tp:
            return tokens / tp, 1, 1
        return tokens, tp, tp * cp


FLAT_ROUTING = RoutingOptions()
"""A flat BF16 all-to-all (NCCL; Megatron's alltoall dispatcher)."""


@dataclass(frozen=True)
class Routing:
    """Where one micro-batch's routed tokens go, per token and per rank."""

    ep: int
    local: int
    """EP ranks per scale-up domain."""
    domains: int
    scaleout_copies: float
    """Copies of a token that cross the NIC (per token of this rank)."""
    scaleup_copies: float
    """Copies of a token on the scale-up link (per token of this rank)."""
    imbalance: float
    """Load of the busiest rank over the mean (>= 1 dropless; the capacity factor under
    token drop)."""


def _distinct(n: float, picks: int) -> float:
    """Expected distinct bins hit by ``picks`` uniform picks among ``n`` bins."""
    return n * (1.0 - (1.0 - 1.0 / n) ** picks) if n > 1 else 1.0


def routing(
    moe: Moe, ep: int, stride: int, tokens: float, network: Network, node_dedup: bool,
    capacity_factor: float | None = None,
) -> Routing:  # fmt: skip
    """The routing of ``tokens`` tokens per rank over an EP group of ``ep`` ranks (dropless,
    or padded to ``capacity_factor`` times the mean load)."""
    local = int(local_ranks(ep, stride, network.domain))
    domains = max(1, ep // local)
    k = moe.top_k
    reachable_domains = float(domains)
    if moe.expert_groups is not None and moe.topk_groups is not None:
        cap = moe.topk_groups * max(1.0, domains / moe.expert_groups)
        reachable_domains = min(float(domains), cap)
    share = reachable_domains / domains
    ranks_reached = _distinct(ep * share, k) if ep > 1 else 1.0
    domains_reached = min(_distinct(domains, k), reachable_domains)
    if ep <= 1:
        out = inside = 0.0
    elif node_dedup:
        out = domains_reached * (domains - 1) / domains
        inside = ranks_reached * (local - 1) / local
    else:
        out = k * (ep - local) / ep
        inside = k * (local - 1) / ep
    mean = tokens * k
    imbalance = 1.0 + math.sqrt(2.0 * math.log(ep) / mean) if ep > 1 and mean > 0 else 1.0
    if capacity_factor is not None:
        imbalance = capacity_factor
    return Routing(ep, local, domains, out, inside, imbalance)


def _one_all_to_all(r: Routing, tokens: float, h: int, element_bytes: float,
                    network: Network, stride: int) -> float:  # fmt: skip
    """Seconds of one dispatch (or combine) of ``tokens`` tokens of width ``h``: the NIC
    and scale-up legs run at once; each leg is the pairwise all-to-all of
    :func:`gpuplan.model.collectives.collective_time` carrying that leg's bytes."""
    token_bytes = tokens * h * element_bytes * r.imbalance
    scaleout = 0.0
    if r.domains > 1 and r.scaleout_copies > 0:
        # A pairwise exchange over ``domains`` ranks, one per domain, moves (n - 1)/n of S.
        size = token_bytes * r.scaleout_copies * r.domains / (r.domains - 1)
        scaleout = collective_time(
            Collective.ALL_TO_ALL, size, r.domains, stride * r.local, network
        )
    scaleup = 0.0
    if r.local > 1 and r.scaleup_copies > 0:
        size = token_bytes * r.scaleup_copies * r.local / (r.local - 1)
        scaleup = collective_time(Collective.ALL_TO_ALL, size, r.local, stride, network)
    return max(scaleout, scaleup)


def ep_all_to_all_time(
    moe: Moe, ep: int, stride: int, tokens: float, h: int, network: Network, fp8: bool,
    options: RoutingOptions,
) -> float:  # fmt: skip
    """Seconds of a MoE layer's four all-to-alls for one micro-batch of ``tokens`` tokens
    per rank (dispatch and combine forward, their transposes backward)."""
    if ep <= 1:
        return 0.0
    r = routing(moe, ep, stride, tokens, network, options.node_dedup, options.capacity_factor)
    dispatch_bytes = FP8_BYTES if (fp8 and options.fp8_dispatch) else BF16_BYTES
    dispatch = _one_all_to_all(r, tokens, h, dispatch_bytes, network, stride)
    combine = _one_all_to_all(r, tokens, h, BF16_BYTES, network, stride)
    return 2 * dispatch + 2 * combine


def all_to_all_bytes(moe: Moe, ep: int, stride: int, tokens: float, h: int,
                     network: Network, node_dedup: bool) -> tuple[float, float]:  # fmt: skip
    """Bytes one rank sends in one BF16 dispatch, over the NIC and over the scale-up link
    (balanced load, no imbalance factor): the all-to-all volume the tests bracket."""
    r = routing(moe, ep, stride, tokens, network, node_dedup)
    token_bytes = tokens * h * BF16_BYTES
    return token_bytes * r.scaleout_copies, token_bytes * r.scaleup_copies
