"""torchtitan's op-level selective recompute ("every-other-mm"), by hand.

The policy (torchtitan parallelize_llama.py at 9dec370): per block, keep the SDPA output
and every odd aten.mm output (wq, wv, w1, w2 of wq, wk, wv, wo, w1, w3, w2), recompute the
rest; Float8 linears (aten._scaled_mm) are not in the save list and are all recomputed.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import AttentionKernel
from gpuplan.model import op_sac
from gpuplan.model.collectives import Link, Network
from gpuplan.model.kernels import device, gemm_time
from gpuplan.model.layer import layer_cost
from gpuplan.model.memory import activation_bytes_per_layer
from gpuplan.scenario.plan import ParallelPlan, Recompute

NET = Network(scaleup=Link(100e9, 0.0), scaleout=Link(10e9, 0.0), domain=8)
FLASH = AttentionKernel.FLASH2


def test_kept_bytes_of_a_llama3_8b_layer_by_hand(catalog: Catalog) -> None:
    # Llama 3 8B: h 4096, 32 heads of 128 (q 4096), 8 KV heads (kv 1024), f 14336. Per token,
    # BF16, no TP: block input 2 x 4096 + SDPA output 2 x 4096 + LSE 4 x 32 + wq, wv, w1
    # outputs 2 x (4096 + 1024 + 14336) + w2 output 2 x 4096 = 63,616 B. Float8 keeps the
    # block input, SDPA output and LSE: 16,512 B. TP 8 with SP, BF16: 1024 + (8192 + 128)/8
    # + two reduce-scatter outputs 2 x 1024 + 38,912/8 + 8192 = 17,168 B.
    model = catalog.model("llama3-8b")
    tokens = 2 * 8192
    plan = ParallelPlan(microbatch=2, recompute=Recompute.SELECTIVE)
    bf16 = activation_bytes_per_layer(model, plan, 8192, FLASH, False, False, op_sac.SCOPE)
    assert bf16 == 63_616 * tokens
    fp8 = activation_bytes_per_layer(model, plan, 8192, FLASH, False, True, op_sac.SCOPE)
    assert fp8 == 16_512 * tokens
    tp = ParallelPlan(
        tensor_parallel=8, sequence_parallel=True, microbatch=2, recompute=Recompute.SELECTIVE
    )
    assert op_sac.activation_bytes(model, tokens, 8, True, False) == 17_168 * tokens
    kept = activation_bytes_per_layer(model, tp, 8192, FLASH, False, False, op_sac.SCOPE)
    assert kept == 17_168 * tokens
    # Between a full recompute (the block input only) and no recompute at all.
    for fp8_on in (False, True):
        full = activation_bytes_per_layer(
            model, ParallelPlan(microbatch=2, recompute=Recompute.FULL), 8192, FLASH, False, fp8_on
        )
        none = activation_bytes_per_layer(
            model, ParallelPlan(microbatch=2, recompute=Recompute.NONE), 8192, FLASH, False, fp8_on
        )
        sac = activation_bytes_per_layer(model, plan, 8192, FLASH, False, fp8_on, op_sac.SCOPE)
        assert full < sac < none


def test_recompute_is_wk_wo_w3_in_bf16_and_every_linear_in_fp8(catalog: Catalog) -> None:
    model, h100 = catalog.model("llama3-8b"), catalog.accelerator("h100-sxm")
    plan = ParallelPlan(microbatch=1, recompute=Recompute.SELECTIVE)
    for fp8 in (False, True):
        dev = device(h100, catalog.efficiency_profile("h100-sxm"), fp8, 0.9)
        sac = layer_cost(model, plan, 8192, False, dev, FLASH, NET, recompute_scope=op_sac.SCOPE)
        core = layer_cost(model, plan, 8192, False, dev, FLASH, NET)
        full = layer_cost(
            model, replace(plan, recompute=Recompute.FULL), 8192, False, dev, FLASH, NET
        )
        assert core.recompute_s == 0.0  # flash attention: the attention-core scope is free
        assert 0.0 < sac.recompute_s < full.recompute_s
        assert sac.forward_s == core.forward_s and sac.backward_s == core.backward_s
        if not fp8:
            gemms = (
                gemm_time(8192, 1024, 4096, dev)
                + gemm_time(8192, 4096, 4096, dev)
                + gemm_time(8192, 14336, 4096, dev)
            )
            assert sac.recompute_s > gemms
    # Float8: the full forward less the attention core's forward (the SDPA output is kept),
    # which is under half of the core's forward + backward.
    dev = device(h100, catalog.efficiency_profile("h100-sxm"), True, 0.9)
    sac = layer_cost(model, plan, 8192, False, dev, FLASH, NET, recompute_scope=op_sac.SCOPE)
    full = layer_cost(model, replace(plan, recompute=Recompute.FULL), 8192, False, dev, FLASH, NET)
    assert full.recompute_s == full.forward_s
    assert 0.0 < full.recompute_s - sac.recompute_s < sac.attention_s / 2


def test_tp_collectives_rerun_are_the_all_gathers(catalog: Catalog) -> None:
    # TP 8 with SP inside the domain, 2,048 tokens: one all-gather or reduce-scatter of the
    # 16.8 MB activation is 0.147 ms; no recompute costs 10 of them (test_model), the op
    # policy re-runs the two all-gathers (the reduce-scatters are saved): 12.
    model, h100 = catalog.model("llama3-8b"), catalog.accelerator("h100-sxm")
    dev = device(h100, catalog.efficiency_profile("h100-sxm"), False, 0.9)
    one = 7 * (2048 * 4096 * 2 / 8) / 100e9
    plan = ParallelPlan(tensor_parallel=8, sequence_parallel=True, recompute=Recompute.SELECTIVE)
    cost = layer_cost(model, plan, 2048, False, dev, FLASH, NET, recompute_scope=op_sac.SCOPE)
    assert cost.tp_s == pytest.approx(12 * one)
    plain = layer_cost(model, plan, 2048, False, dev, FLASH, NET)
    assert plain.tp_s == pytest.approx(10 * one)


def test_only_dense_swiglu_layers_use_it(catalog: Catalog) -> None:
    assert op_sac.applies(catalog.model("llama3-8b"), False)
    assert not op_sac.applies(catalog.model("llama3-8b"), True)
    assert not op_sac.applies(catalog.model("deepseek-v3"), False)
