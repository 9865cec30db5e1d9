"""The CP ring as the stacks implement it (issues 13/14; frameworks.yaml ``cp_rings``).

Golden values are hand derivations from the code the records cite, op by op, not from
gpuplan: Transformer Engine 2.x AttnFuncWithCPAndKVP2P (BF16) per later ring step: the
output correction reads out and out_per_step and writes out (2 + 2 + 2 bytes per output
element), the backward adds dq_ into dq and dk_, dv_ into the received dkv buffer, all BF16
(6 per element each). Open-Sora 2.0's RingAttention: the same output correction (one
compiled kernel, BF16 out), dq and dK/dV accumulated in FP32 (read 4 + 2, write 4: 10 per
element) and dK/dV sent in FP32.
"""

from __future__ import annotations

import pytest

from gpuplan.catalog import Catalog
from gpuplan.model.performance import device_of, network_of
from gpuplan.model.ring import RingShape, ring_bytes, ring_cost, ring_exposed

Q, KV = 1000.0, 250.0  # elements of the local query and of K (GQA: a quarter as wide)


def _step(catalog: Catalog, framework: str, causal: bool) -> tuple[float, float]:
    """Bytes of one more ring step: CP 3 less CP 2 at the same local shape."""
    ring = catalog.framework(framework).cp_ring
    three = ring_bytes(RingShape(3, 1, Q, KV, causal), ring)
    two = ring_bytes(RingShape(2, 1, Q, KV, causal), ring)
    return three[0] - two[0], three[1] - two[1]


def test_one_transformer_engine_ring_step_by_hand(catalog: Catalog) -> None:
    # forward: 6 Q; backward: 6 Q (dq) + 6 x 2 KV (dk, dv)
    assert _step(catalog, "megatron-bridge-llm-2025", False) == pytest.approx((6000, 9000))
    # causal load balancing: the whole tensors on half the steps, halves on the rest (0.75)
    assert _step(catalog, "megatron-bridge-llm-2025", True) == pytest.approx((4500, 6750))
    assert catalog.framework("megatron-bridge-dfm-2025").cp_ring.id == "te-p2p-2"


def test_one_open_sora_ring_step_by_hand(catalog: Catalog) -> None:
    # forward: 6 Q; backward: 10 Q (FP32 dq) + 10 x 2 KV (FP32 dk, dv)
    assert _step(catalog, "colossalai-zero2-2025", False) == pytest.approx((6000, 15000))


def test_fp32_gradient_sends_double_the_backward_block(catalog: Catalog) -> None:
    h100 = catalog.accelerator("h100-sxm")
    network, dev = network_of(catalog, h100), device_of(catalog, h100, False)
    ring = catalog.framework("colossalai-zero2-2025").cp_ring
    x = RingShape(4, 1, 1e7, 1e7, False)
    plain, fp32 = ring_cost(x, None, network, dev), ring_cost(x, ring, network, dev)
    assert fp32.link_forward_s == pytest.approx(plain.link_forward_s)
    # plain backward: K/V and dK/dV, one block each per step; FP32 dK/dV: twice the bytes
    per_block = plain.link_backward_s / 2
    assert fp32.link_backward_s > plain.link_backward_s
    assert fp32.link_backward_s < 3 * per_block + 1e-12


def test_per_pass_hiding_exposes_what_the_pooled_ring_hides(catalog: Catalog) -> None:
    from gpuplan.model.ring import RingCost

    cost = RingCost(0.0, 0.0, 2.0, 4.0)
    te = catalog.framework("megatron-bridge-llm-2025").cp_ring
    # attention 1 s forward, 9 s in all: pooled hides everything, per pass 1 s stays
    assert ring_exposed(cost, None, 1.0, 9.0) == 0.0
    assert ring_exposed(cost, te, 1.0, 9.0) == pytest.approx(1.0)


@pytest.mark.parametrize("framework", ["megatron-bridge-llm-2025", "colossalai-zero2-2025"])
def test_cp_1_unchanged_and_more_ring_steps_never_faster(catalog: Catalog, framework: str) -> None:
    from gpuplan.model.layer import layer_costs
    from gpuplan.scenario.plan import ParallelPlan

    h100 = catalog.accelerator("h100-sxm")
    network, dev = network_of(catalog, h100), device_of(catalog, h100, False)
    ring = catalog.framework(framework).cp_ring
    model = catalog.model("llama3-8b")
    one = ParallelPlan(tensor_parallel=1, context_parallel=1)
    plain = layer_costs(model, (one,), 8192, False, dev, catalog.framework(framework).attention,
                        network)  # fmt: skip
    with_ring = layer_costs(model, (one,), 8192, False, dev,
                            catalog.framework(framework).attention, network, ring=ring)  # fmt: skip
    assert with_ring == plain
    previous = None
    for cp in range(1, 17):
        for causal in (False, True):
            x = RingShape(cp, 1, 4e6, 1e6, causal)
            cost = ring_cost(x, ring, network, dev)
            base = ring_cost(x, None, network, dev)
            assert cost.forward_s >= base.forward_s and cost.backward_s >= base.backward_s
            assert cost.link_backward_s >= base.link_backward_s
        total = (cost.forward_s + cost.backward_s + cost.link_forward_s + cost.link_backward_s
                 + ring_exposed(cost, ring, 1e-3, 3e-3))  # fmt: skip
        if previous is not None:
            assert total >= previous
        previous = total
