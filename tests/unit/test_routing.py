"""MoE token routing by hand: all-to-all volumes, node-limited routing, imbalance, and the
DualPipe schedule (gpuplan.model.routing, gpuplan.model.pipeline)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuplan.catalog.loader import load_catalog
from gpuplan.catalog.schema import Moe
from gpuplan.model.collectives import Link, Network
from gpuplan.model.routing import (
    FP8_BYTES,
    RoutingOptions,
    all_to_all_bytes,
    ep_all_to_all_time,
    routing,
)
from gpuplan.model.schedules import bubble as _bubble
from gpuplan.model.schedules import dualpipe as _dualpipe

NET = Network(scaleup=Link(100e9, 0.0), scaleout=Link(10e9, 0.0), domain=8)
DEEPSEEK = Moe(
    experts=256, top_k=8, shared_experts=1, expert_ffn_hidden=2048, expert_groups=8,
    topk_groups=4,
)  # fmt: skip
MIXTRAL = Moe(experts=8, top_k=2, expert_ffn_hidden=14336)
H = 7168
TOKENS = 4096.0


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@pytest.mark.parametrize("moe", [DEEPSEEK, MIXTRAL])
@pytest.mark.parametrize("dedup", [False, True])
def test_ep_1_and_ep_experts_bracket_the_all_to_all_volume(moe: Moe, dedup: bool) -> None:
    # EP = 1 sends nothing; EP = experts spreads the experts furthest, so it sends the most
    # over the NICs; no link carries more than every copy of every token (k h 2 bytes each;
    # a deduplicated token forwarded inside its domain uses both links).
    def legs(ep: int) -> tuple[float, float]:
        return all_to_all_bytes(moe, ep, 1, TOKENS, H, NET, dedup)

    assert legs(1) == (0.0, 0.0)
    every_copy = TOKENS * moe.top_k * H * 2
    for ep in _divisors(moe.experts):
        scaleout, scaleup = legs(ep)
        assert 0.0 <= scaleout <= every_copy * (1 + 1e-12)
        assert 0.0 <= scaleup <= every_copy * (1 + 1e-12)
        assert scaleout <= legs(moe.experts)[0] * (1 + 1e-12)
    assert sum(legs(moe.experts)) > 0.0


def test_flat_all_to_all_copies_by_hand() -> None:
    # EP 64 over 8 domains of 8, top-8: 8 x 56/64 = 7 copies cross the NIC, 8 x 7/64 stay.
    r = routing(DEEPSEEK, 64, 1, TOKENS, NET, node_dedup=False)
    assert (r.local, r.domains) == (8, 8)
    assert r.scaleout_copies == pytest.approx(7.0)
    assert r.scaleup_copies == pytest.approx(8 * 7 / 64)


def test_node_limited_dedup_sends_at_most_four_remote_copies() -> None:
    # DeepSeek-V3: at most 4 of 8 nodes per token (unconstrained, 8 (1 - (7/8)^8) = 5.25
    # distinct nodes would be reached); one copy per node, 7/8 of them remote: 3.5 copies
    # over IB instead of the flat all-to-all's 7. Inside a node, the picks fall on 32 GPUs
    # (4 nodes x 8): 32 (1 - (31/32)^8) distinct GPUs, 7/8 of them reached over NVLink.
    r = routing(DEEPSEEK, 64, 1, TOKENS, NET, node_dedup=True)
    assert r.scaleout_copies == pytest.approx(4 * 7 / 8)
    assert r.scaleup_copies == pytest.approx(32 * (1 - (31 / 32) ** 8) * 7 / 8)
    unlimited = Moe(experts=256, top_k=8, expert_ffn_hidden=2048)
    free = routing(unlimited, 64, 1, TOKENS, NET, node_dedup=True)
    assert free.scaleout_copies == pytest.approx(8 * (1 - (7 / 8) ** 8) * 7 / 8)


def test_fp8_dispatch_by_hand() -> None:
    # Inside one domain (EP 8, flat, no latency): each all-to-all moves k (7/8) copies of
    # the tokens at 100 GB/s; two dispatches at 1 + 4/128 bytes, two combines at 2 bytes.
    moe = Moe(experts=8, top_k=2, expert_ffn_hidden=1024)
    tokens, h = 4096.0, 4096
    r = routing(moe, 8, 1, tokens, NET, node_dedup=False)
    copies = tokens * 2 * 7 / 8 * r.imbalance * h
    want = (2 * FP8_BYTES + 2 * 2) * copies / 100e9
    got = ep_all_to_all_time(moe, 8, 1, tokens, h, NET, True, RoutingOptions(False, True))
    assert got == pytest.approx(want)
    bf16 = ep_all_to_all_time(moe, 8, 1, tokens, h, NET, True, RoutingOptions(False, False))
    assert bf16 == pytest.approx(8 * copies / 100e9)


@given(st.sampled_from([2, 4, 8, 16, 64, 256]), st.floats(16.0, 1e6))
def test_imbalance_is_the_gaussian_maximum(ep: int, tokens: float) -> None:
    r = routing(DEEPSEEK, ep, 1, tokens, NET, node_dedup=False)
    assert r.imbalance == pytest.approx(1 + math.sqrt(2 * math.log(ep) / (tokens * 8)))
    more = routing(DEEPSEEK, ep, 1, 4 * tokens, NET, node_dedup=False)
    assert 1.0 < more.imbalance < r.imbalance


def test_dualpipe_bubble_and_fold_by_hand() -> None:
    # 16 equal stages of t = 3 s: 1F1B idles (p - 1) t = 45 s; DualPipe (p/2 - 1)(F&B + B
    # - 3W) with F = 1, B = 2, W = 1, F&B = 3: 7 x (3 + 2 - 3) = 14 s.
    times = np.full((1, 16), 3.0)
    slowest = np.zeros(1, dtype=np.int64)
    assert _bubble(times, slowest, 16, 1, False)[0] == pytest.approx(45.0)
    assert _bubble(times, slowest, 16, 1, True)[0] == pytest.approx(14.0)
    # Stage i runs with stage p - 1 - i: a heavy last stage is shared with the first.
    uneven = np.asarray([[1.0, 2.0, 2.0, 5.0]])
    assert _dualpipe(uneven, True).tolist() == [[3.0, 2.0, 2.0, 3.0]]
    assert _dualpipe(uneven, False).tolist() == [[6.0, 4.0, 4.0, 6.0]]


def test_deepseek_framework_profile_is_sourced() -> None:
    fw = load_catalog().framework("deepseek-hai-llm")
    assert fw.pipeline_schedule == "dualpipe" and fw.ep_dispatch == "node-dedup"
    assert "2412.19437" in fw.source


def test_deepseek_selective_recompute_memory_by_hand() -> None:
    # DeepSeek-V3 MoE layer, FP8, 4,096 tokens, no TP: per token the two norm inputs
    # (4 x 7168), the MLA latents in BF16 (2 x (1536 + 512 + 64)), the attention output in
    # BF16 plus its FP8 copy (3 x 128 x 128), the FP32 log-sum-exp (4 x 128), and per each
    # of 8 routed + 1 shared experts its FP8 input and SwiGLU input (7168 + 2 x 2048).
    from gpuplan.catalog.schema import AttentionKernel
    from gpuplan.model.memory import activation_bytes_per_layer
    from gpuplan.scenario.plan import ParallelPlan, Recompute

    model = load_catalog().model("deepseek-v3")
    plan = ParallelPlan(recompute=Recompute.SELECTIVE)
    per_token = 4 * 7168 + 2 * (1536 + 512 + 64) + 3 * 128 * 128 + 4 * 128 + 9 * (7168 + 4096)
    got = activation_bytes_per_layer(
        model, plan, 4096, AttentionKernel.FLASH, True, True, "norm-mla-up-swiglu"
    )
    assert got == pytest.approx(4096 * per_token)
    default = activation_bytes_per_layer(model, plan, 4096, AttentionKernel.FLASH, True, True)
    assert got < default


def test_mtp_block_is_split_with_the_layers() -> None:
    # DeepSeek-V3: 61 layers + 1 MTP block = 62 over 16 stages: 4 each, two too many, so the
    # last and first stages hold 3 (the last: two transformer layers and the MTP block).
    from gpuplan.model.stage_structure import stage_structure

    model = load_catalog().model("deepseek-v3")
    assert model.mtp_modules == 1
    layers, moe = stage_structure(model, 16, 1)
    assert layers == (3,) + (4,) * 14 + (3,)
    assert sum(layers) == 62 and moe[-1] == 3 and moe[0] == 0  # first 3 layers dense


def test_token_drop_pads_every_rank_to_the_capacity() -> None:
    # Megatron's token drop with padding (capacity factor 1.0): each expert receives exactly
    # its mean share, so the dropless Gaussian-maximum factor (1 + sqrt(2 ln 8 / (4096 x 2)))
    # is replaced by 1.0, and the all-to-all carries exactly k (7/8) copies per token.
    moe = Moe(experts=8, top_k=2, expert_ffn_hidden=1024)
    tokens, h = 4096.0, 4096
    dropless = routing(moe, 8, 1, tokens, NET, node_dedup=False)
    padded = routing(moe, 8, 1, tokens, NET, node_dedup=False, capacity_factor=1.0)
    assert dropless.imbalance == pytest.approx(1 + math.sqrt(2 * math.log(8) / (tokens * 2)))
    assert padded.imbalance == 1.0
    assert routing(moe, 8, 1, tokens, NET, False, capacity_factor=1.25).imbalance == 1.25
    copies = tokens * 2 * 7 / 8 * h
    drop = RoutingOptions(capacity_factor=1.0)
    assert ep_all_to_all_time(moe, 8, 1, tokens, h, NET, False, drop) == pytest.approx(
        4 * 2 * copies / 100e9
    )


def test_token_drop_needs_the_all_to_all_dispatcher() -> None:
    from pydantic import ValidationError

    fw = load_catalog().framework("megatron-moe-tokendrop-2025")
    assert fw.moe_capacity_factor == 1.0 and fw.ep_dispatch == "all-to-all"
    with pytest.raises(ValidationError, match="moe_capacity_factor"):
        fw.model_validate(fw.model_dump() | {"ep_dispatch": "node-dedup"})


def test_token_drop_sizes_the_expert_gemms_at_the_mean_load() -> None:
    # The expert GEMMs of the busiest rank carry the dropless imbalance; padded to capacity
    # 1.0 they carry the mean, so the MoE layer's kernels take less time, and a capacity
    # of 2.0 (half the padded rows empty) more.
    from gpuplan.catalog.schema import AttentionKernel
    from gpuplan.model.kernels import Device
    from gpuplan.model.layer import layer_cost
    from gpuplan.scenario.plan import ParallelPlan

    model = load_catalog().model("qwen3-30b-a3b")
    dev = Device(4e14, 4e14, ((12.0, 3e14, 3e14),), 2e12, 0.0)
    plan = ParallelPlan(expert_parallel=8)

    def forward(options: RoutingOptions) -> float:
        cost = layer_cost(model, plan, 4096, True, dev, AttentionKernel.FLASH, NET, options)
        return cost.forward_s

    dropless = forward(RoutingOptions())
    assert forward(RoutingOptions(capacity_factor=1.0)) < dropless
    assert forward(RoutingOptions(capacity_factor=2.0)) > dropless


def test_expert_host_work_floors_short_expert_gemms() -> None:
    # 16 local experts of 128 rows on a 400 TFLOP/s device: the forward GEMMs (2 x 16 x 2 x
    # 128 x 1024 x 768 x ... FLOP) take well under 16 x 1 ms / 3, so with 1 ms of host work
    # per expert the forward grows to at least 16/3 ms and the backward to 32/3 ms; with
    # no host work (the default) nothing changes.
    from gpuplan.model.kernels import Device
    from gpuplan.model.layer import HOST_FORWARD_SHARE, _expert_gemms, _Linears

    dev = Device(4e14, 4e14, ((12.0, 3e14, 3e14),), 2e12, 0.0)
    free, busy = _Linears(dev), _Linears(dev)
    _expert_gemms(free, 128.0, (1536.0, 1024.0, 768.0), 16.0, 0.0)
    _expert_gemms(busy, 128.0, (1536.0, 1024.0, 768.0), 16.0, 1e-3)
    assert free.forward < 16 * 1e-3 * HOST_FORWARD_SHARE
    assert busy.forward == pytest.approx(16 * 1e-3 / 3)
    assert busy.backward == pytest.approx(16 * 1e-3 * 2 / 3)
    # Long GEMMs hide the host work: 16 experts of 65,536 rows.
    long_free, long_busy = _Linears(dev), _Linears(dev)
    _expert_gemms(long_free, 65536.0, (1536.0, 1024.0, 768.0), 16.0, 0.0)
    _expert_gemms(long_busy, 65536.0, (1536.0, 1024.0, 768.0), 16.0, 1e-3)
    assert long_busy.forward == long_free.forward
    assert long_busy.backward == long_free.backward


def test_ep_overlap_hides_its_share_of_the_all_to_all_up_to_the_compute() -> None:
    # One stage of one MoE layer: 3 s of kernels, all-to-alls of 2 s (and of 5 s). A
    # schedule hiding 40% exposes 1.2 s (3 s); DualPipe's 1.0 hides all of the 2 s, and of
    # the 5 s all but what exceeds the 3 s of compute beside it (2 s); 0 exposes all.
    from gpuplan.model.pipeline import StageInputs, _pipeline_stages, _stage_times

    model = load_catalog().model("mixtral-8x7b")
    s = _pipeline_stages(model, 1, 1)
    one = np.ones(1)

    def exposed(link_s: float, share: float) -> float:
        fields = ("forward_s", "backward_s", "recompute_s", "tp_s", "cp_s", "ep_s",
                  "cp_exposed_s", "attention_s")  # fmt: skip
        layer = {f: np.zeros(1) for f in fields}
        moe = layer | {"forward_s": one * 1.0 / s.moe_layers[0, 0],
                       "backward_s": one * 2.0 / s.moe_layers[0, 0],
                       "ep_s": one * link_s / s.moe_layers[0, 0]}  # fmt: skip
        ints = np.ones(1, dtype=np.int64)
        p = StageInputs(ints, ints, ints, ints, ints, ints, ints, one, np.zeros(1, bool),
                        recompute_layers=-ints, dense=layer, moe=moe, act_dense=one,
                        act_moe=one, act_transient=one, kept=(layer, moe, one, one),
                        logits=np.zeros(1), pp_exposed=np.zeros(1))  # fmt: skip
        return float(_stage_times(s, p.rows(np.arange(1)), 0.0, share)["exposed_ep"][0, 0])

    assert exposed(2.0, 0.4) == pytest.approx(1.2)
    assert exposed(5.0, 0.4) == pytest.approx(3.0)
    assert exposed(2.0, 1.0) == pytest.approx(0.0)
    assert exposed(5.0, 1.0) == pytest.approx(2.0)
    assert exposed(2.0, 0.0) == pytest.approx(2.0)


def test_in_flight_loads_by_hand() -> None:
    from gpuplan.model.schedules import in_flight_loads

    # Plain 1F1B, 4 stages, 8 micro-batches: stage i holds p - i = 4, 3, 2, 1; with only 2
    # micro-batches, at most 2 (Narayanan et al. 2021 sec. 2.2).
    assert in_flight_loads(4, 1, np.arange(4), 8).tolist() == [4.0, 3.0, 2.0, 1.0]
    assert in_flight_loads(4, 1, np.arange(4), 2).tolist() == [2.0, 2.0, 2.0, 1.0]
    # Interleaved, 4 stages x 2 chunks, 8 micro-batches: warm-up 2 (p - i - 1) + (v - 1) p
    # = 10, 8, 6, 4 chunks plus the one in its forward, over v = 2: 5.5, 4.5, 3.5, 2.5
    # stage-loads; the first is Korthikanti et al. 2022's p + (p - 1) / v = 4 + 3/2.
    assert in_flight_loads(4, 2, np.arange(4), 8).tolist() == [5.5, 4.5, 3.5, 2.5]
    # Llama 3 405B at 8,192 GPUs: 16 stages x 8 chunks, 32 micro-batches; stage 1 holds
    # 2 x 14 + 7 x 16 + 1 = 141 chunks, 17.625 stage-loads; all m v = 256 chunks cap it.
    assert float(in_flight_loads(16, 8, 1, 32)) == pytest.approx(141 / 8)
    assert float(in_flight_loads(2, 8, 0, 1)) == pytest.approx(1.0)
