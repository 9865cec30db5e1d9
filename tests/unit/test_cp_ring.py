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


def test_fp32_gradient_sends_after_every_open_sora_step(catalog: Catalog) -> None:
    """RULE RING-LAST-DKV: at CP 4 Open-Sora's backward sends its K/V block (1e7 elements
    each of K and V in BF16: 4e7 bytes) 3 times and its FP32 dK/dV (8e7 bytes) 4 times,
    the last one exposed whole; the plain ring sends each 3 times in BF16."""
    from gpuplan.model.collectives import p2p_time

    h100 = catalog.accelerator("h100-sxm")
    network, dev = network_of(catalog, h100), device_of(catalog, h100, False)
    ring = catalog.framework("colossalai-zero2-2025").cp_ring
    assert ring.grad_send_every_step and ring.ring_only
    x = RingShape(4, 1, 1e7, 1e7, False)
    plain, fp32 = ring_cost(x, None, network, dev), ring_cost(x, ring, network, dev)
    kv, dkv = p2p_time(4e7, True, network), p2p_time(8e7, True, network)  # CP 4 in one node
    assert plain.link_forward_s == fp32.link_forward_s == pytest.approx(3 * kv)
    assert plain.link_backward_s == pytest.approx(6 * kv)
    assert fp32.link_backward_s == pytest.approx(3 * kv + 4 * dkv)
    assert fp32.last_send_s == pytest.approx(dkv) and plain.last_send_s == 0.0
    # behind 1,000 s of attention in each pass only the last send stays
    assert ring_exposed(fp32, ring, 1e3, 2e3) == pytest.approx(dkv)
    assert ring_exposed(plain, None, 1e3, 2e3) == 0.0


def test_a_ring_only_stack_keeps_its_ring(catalog: Catalog) -> None:
    """RULE RING-ONLY: Open-Sora's stage 2 runs its ring (ring_attn) even where Ulysses'
    all-to-alls would expose less; the same ring without the mark takes them."""
    from gpuplan.model.layer import _context_parallel, _Shape
    from gpuplan.model.ulysses import ulysses_time
    from gpuplan.scenario.plan import ParallelPlan

    h200 = catalog.accelerator("h200")
    network, dev = network_of(catalog, h200), device_of(catalog, h200, False)
    ring = catalog.framework("colossalai-zero2-2025").cp_ring
    model = catalog.model("open-sora-2-11b")
    x = _Shape.of(model, ParallelPlan(context_parallel=4, microbatch=14), 2816)  # s2 33f
    a2a = ulysses_time(x.tokens, x.q_width, x.kv_width, 1, 4, network)
    tiny = (1e-6, 3e-6)  # almost no attention to hide behind: the ring is exposed
    kept, link, exposed = _context_parallel(model, x, tiny, network, dev, ring)
    assert kept.link_forward_s > 0 and exposed > a2a
    assert link == pytest.approx(kept.link_forward_s + kept.link_backward_s)
    free = ring.model_copy(update={"ring_only": False})
    switched, link, exposed = _context_parallel(model, x, tiny, network, dev, free)
    assert switched.link_forward_s == 0.0 and link == exposed == pytest.approx(a2a)


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
