"""Collectives over the same ranks share their geometry (issue 15: collectives._Geometry, the
members a scale-up domain holds, the domains spanned, the inner ring and the tiers' slowdown
computed once per group of ranks), and the data-parallel step skips what it never reads (no
routed experts: no expert collectives; no ZeRO-3 plan: no gathers per micro-batch). Each
shortcut must give the numbers of the collectives computed one by one, to the bit, and the
hand-derived ring and hierarchical times."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplan.catalog import load_catalog
from gpuplan.model.collectives import Collective, collective_times, collectives_times
from gpuplan.model.data_parallel import Ranks, _dp_collectives, data_parallel_times
from gpuplan.model.performance import network_of
from gpuplan.scenario.resolve import DEFAULT_FRAMEWORK

CATALOG = load_catalog()
H100 = CATALOG.accelerator("h100-sxm")
FLAT = network_of(CATALOG, H100)  # one non-blocking fabric, 8 GPUs per NVLink domain
NETWORKS = (FLAT, network_of(CATALOG, H100, CATALOG.cluster("meta-roce-24k")))  # 7:1, rails
KINDS = tuple(Collective)


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.sampled_from((0.0, 1.0, 3e6, 2.5e9, 7.3e10)), min_size=4, max_size=4),
    ranks=st.sampled_from((1, 2, 3, 8, 16, 128, 1000, 16384)),
    stride=st.sampled_from((1, 2, 8, 16, 64, 512, 4096)),
    network=st.sampled_from(NETWORKS),
)
def test_collectives_together_equal_each_alone_on_numbers_and_arrays(
    sizes: list[float], ranks: int, stride: int, network: object
) -> None:
    """Every kind over the same ranks at once (one geometry) equals each kind alone, on
    Python numbers and on arrays (a row of each), to the bit."""
    pairs = list(zip(KINDS, sizes, strict=True))
    together = collectives_times(pairs, ranks, stride, network)  # type: ignore[arg-type]
    rows = collectives_times([(k, np.array([s, 2e9])) for k, s in pairs],
                             np.array([ranks, 16]), np.array([stride, 8]), network)  # type: ignore[arg-type]  # fmt: skip
    for (kind, size), value, row in zip(pairs, together, rows, strict=True):
        alone = collectives_times([(kind, size)], ranks, stride, network)[0]  # type: ignore[arg-type]
        assert isinstance(value, float) and value == alone == row[0]


def test_ring_and_hierarchical_times_by_hand() -> None:
    """H100 (8 GPUs per domain), S bytes per rank: DP 128 with TP 8 (stride 8) has one rank
    per domain, so no inner ring: 2 (n - 1) steps of S / (n B) on the NICs for an
    all-reduce, n - 1 for a reduce-scatter or all-gather; 16 ranks 1 apart: a ring of 8 in
    the domain, then 2 domains on S / 8; 4 ranks 2 apart: one NVLink ring of 4. Each pays
    the latency of NCCL v2.30.7-1's model (the default framework's release, RULE NCCL-LAT:
    Ring/Simple 8.4 us once, 3.4 us per NVLink step, 14.0 us per step between servers,
    2 (N - 1) of an all-reduce's steps between N servers)."""
    up, out, size, us = FLAT.scaleup, FLAT.scaleout, 3.2e9, 1e-6
    gather, scatter, reduce = collectives_times(
        [(Collective.ALL_GATHER, size / 2), (Collective.REDUCE_SCATTER, size),
         (Collective.ALL_REDUCE, size)], 128, 8, FLAT)  # fmt: skip
    beta = size / 128 / out.bus_bytes_per_s
    assert reduce == pytest.approx(254 * beta + (8.4 + 254 * 14.0) * us, rel=1e-12)
    assert scatter == pytest.approx(127 * beta + (8.4 + 127 * 14.0) * us, rel=1e-12)
    assert gather == pytest.approx(127 * beta / 2 + (8.4 + 127 * 14.0) * us, rel=1e-12)
    inner = 14 * size / 8 / up.bus_bytes_per_s
    outer = 2 * size / 8 / 2 / out.bus_bytes_per_s
    latency = (8.4 + 28 * 3.4 + 2 * 14.0) * us  # 30 steps, 2 of them between the servers
    assert collective_times(Collective.ALL_REDUCE, size, 16, 1, FLAT) == pytest.approx(
        inner + outer + latency, rel=1e-12)  # fmt: skip
    flat = 6 * size / 4 / up.bus_bytes_per_s + (8.4 + 6 * 3.4) * us
    assert collective_times(Collective.ALL_REDUCE, size, 4, 2, FLAT) == pytest.approx(
        flat, rel=1e-12)  # fmt: skip


@pytest.mark.parametrize("network", NETWORKS)
def test_a_dense_models_expert_collectives_add_exactly_nothing(network: object) -> None:
    """No routed experts (0 expert parameters): the three DP collectives are the dense
    parameters' alone, to the bit, on numbers and on arrays."""
    dense = 7.1e8
    crit = {"dense_params": dense, "expert_params": 0.0}
    values = _dp_collectives(Ranks(8, 128, 1, 1), crit, network, 2, False)  # type: ignore[arg-type]
    kinds = [(Collective.ALL_GATHER, dense * 2), (Collective.REDUCE_SCATTER, dense * 2),
             (Collective.ALL_REDUCE, dense * 2)]  # fmt: skip
    assert list(values) == collectives_times(kinds, 128, 8, network)  # type: ignore[arg-type]
    batch = Ranks(np.array([8, 4]), np.array([128, 256]), np.array([1, 1]), np.array([1, 1]))
    arrays = {"dense_params": np.array([dense, 2 * dense]), "expert_params": np.zeros(2)}
    rows = _dp_collectives(batch, arrays, network, 2, False)  # type: ignore[arg-type]
    assert [row[0] for row in rows] == [float(v) for v in values]


def test_without_zero3_plans_the_data_parallel_times_are_their_rows_with_them() -> None:
    """A batch of ZeRO 0-2 plans (the ZeRO-3 gathers per micro-batch skipped) gets the rows
    it gets beside a ZeRO-3 plan, to the bit; the ZeRO-3 plan's row is its own."""
    framework = CATALOG.framework(DEFAULT_FRAMEWORK)

    class Batch:  # the columns data_parallel_times reads
        def __init__(self, zero: list[int]) -> None:
            n = len(zero)
            self.tp, self.dp, self.cp, self.ep = (np.full(n, v) for v in (8, 64, 1, 1))
            self.zero, self.recompute = np.array(zero), np.zeros(n, dtype=np.int64)

    crit = {"compute": np.array([0.4, 0.3, 0.5, 0.45]),
            "recompute": np.array([0.0, 0.1, 0.0, 0.15]),
            "layers": np.array([8.0, 7, 8, 8]),
            "dense_params": np.array([7e8, 6e8, 7e8, 7.5e8]),
            "expert_params": np.zeros(4)}  # fmt: skip
    m = np.array([16, 16, 8, 8])
    mixed = data_parallel_times(Batch([0, 1, 2, 3]), crit, m, FLAT, framework)  # type: ignore[arg-type]
    head = {k: v[:3] for k, v in crit.items()}
    plain = data_parallel_times(Batch([0, 1, 2]), head, m[:3], FLAT, framework)  # type: ignore[arg-type]
    for with_zero3, without in zip(mixed, plain, strict=True):
        assert with_zero3[:3].tolist() == without.tolist()
    one = data_parallel_times(Batch([1]), {k: v[1:2] for k, v in crit.items()}, m[1:2], FLAT,
                              framework)  # type: ignore[arg-type]  # fmt: skip
    assert [v[0] for v in one] == [v[1] for v in mixed]
