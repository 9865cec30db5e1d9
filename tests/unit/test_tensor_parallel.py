"""Tensor-parallel communication of a layer (gpuplan.model.tensor_parallel): a cross-
attention block's third TP region and the Q/K gathers of QK-norms over all heads.

Golden values are hand derivations from the ring formula (Thakur et al. 2005): an
all-gather or reduce-scatter of ``S`` bytes over ``n`` ranks takes ``(n - 1)(alpha +
S / (n B))``, an all-reduce twice that.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import AttentionKernel, Model, TextConditioning
from gpuplan.model.kernels import device
from gpuplan.model.layer import layer_cost
from gpuplan.model.performance import network_of
from gpuplan.model.tensor_parallel import qk_gather_bytes, tp_regions, tp_time
from gpuplan.scenario.plan import ParallelPlan, Recompute

SEQ = 37_440  # the DFM Wan rows' clip
H = 5120  # Wan 2.1 14B: 40 heads of 128, MHA (K as wide as Q)


def _wan(catalog: Catalog, **video: object) -> Model:
    wan = catalog.model("wan-2.1-14b")
    assert wan.video is not None
    return wan.model_copy(update={"video": wan.video.model_copy(update=video)})


def _gather(catalog: Catalog, size: float, n: int) -> float:
    """One ring all-gather of ``size`` bytes over ``n`` ranks on the H100's NVLink, by hand:
    ``n - 1`` steps of ``size / n`` and NCCL's latency of the default framework's release
    (v2.30.7-1, RULE NCCL-LAT: 8.4 us once and 3.4 us per NVLink step)."""
    link = network_of(catalog, catalog.accelerator("h100-sxm")).scaleup
    return (n - 1) * size / n / link.bus_bytes_per_s + (8.4 + (n - 1) * 3.4) * 1e-6


def _plan(tp: int, sp: bool, recompute: Recompute) -> ParallelPlan:
    return replace(ParallelPlan(), tensor_parallel=tp, sequence_parallel=sp, recompute=recompute)


def test_cross_attention_block_has_three_tp_regions(catalog: Catalog) -> None:
    """Self-attention, cross-attention and MLP each gather before their column-parallel
    linear and reduce-scatter after their row-parallel one (with SP), forward and backward,
    and each column-parallel input is gathered again for its weight gradient: with ``g``
    one all-gather of the block's activation (a reduce-scatter takes as long), 3 x 2 x 2g +
    3g = 15g for Wan, where a block with joint text (two regions) takes 2 x 2 x 2g + 2g."""
    network = network_of(catalog, catalog.accelerator("h100-sxm"))
    cross, joint = _wan(catalog), _wan(catalog, text_conditioning=TextConditioning.JOINT)
    assert (tp_regions(cross), tp_regions(joint)) == (3, 2)
    g = _gather(catalog, SEQ * H * 2, 2)
    p = _plan(2, True, Recompute.NONE)
    assert tp_time(cross, p, SEQ, network) == pytest.approx(15 * g, rel=1e-9)
    assert tp_time(joint, p, SEQ, network) == pytest.approx(10 * g, rel=1e-9)
    # without SP: one all-reduce per region forward and backward, again in a recompute; an
    # all-reduce moves 2g's bytes and pays NCCL's base latency (8.4 us) once, not twice
    full = _plan(2, False, Recompute.FULL)
    reduce = 2 * g - 8.4e-6
    assert tp_time(cross, full, SEQ, network) == pytest.approx(3 * 3 * reduce, rel=1e-9)


def test_qk_norm_over_all_heads_gathers_q_and_k_in_every_pass(catalog: Catalog) -> None:
    """DFM's Wan gathers the self-attention's Q and K and the cross-attention's Q over TP
    (each as large as the block's activation: MHA, 40 x 128 = 5120) in the forward, their
    gradients in the backward and again in a full recompute: 2 x 3g more without
    recompute (15g -> 21g), 3 x 3g with it (21g -> 30g); nothing without TP."""
    network = network_of(catalog, catalog.accelerator("h100-sxm"))
    plain, gathering = _wan(catalog), _wan(catalog, qk_norm_tp_gather=True)
    assert qk_gather_bytes(gathering, SEQ) == (SEQ * H * 2,) * 3
    assert qk_gather_bytes(plain, SEQ) == ()
    g = _gather(catalog, SEQ * H * 2, 2)
    none, full = _plan(2, True, Recompute.NONE), _plan(2, True, Recompute.FULL)
    assert tp_time(gathering, none, SEQ, network) == pytest.approx(21 * g, rel=1e-9)
    assert tp_time(plain, full, SEQ, network) == pytest.approx(21 * g, rel=1e-9)
    assert tp_time(gathering, full, SEQ, network) == pytest.approx(30 * g, rel=1e-9)
    assert tp_time(gathering, _plan(1, False, Recompute.FULL), SEQ, network) == 0.0


def test_qk_gather_path_copies_by_hand(catalog: Catalog) -> None:
    """Per gathered tensor of S = 9,360 x 5,120 x 2 bytes on 2 TP ranks: forward copies
    S/t x 2 (contiguous shard) + 2S (concatenation) + 2S (reshape) + 2 x 2S/t (split shard,
    contiguous transpose) = 4S + 6S/t, the norm's extra 2S - 2S/t: 6S + 4S/t = 8S; backward
    2S/t + 2S (the split's gather) + 2S/t (the gather's split) + 2 x (2S - 2S/t) (the norm)
    = 6S. Three tensors (Q, K, cross Q): 24S forward and 18S backward at the HBM rate, 15
    and 9 kernel launches; the layer's TP seconds grow by 3 gathers per pass (9g with a
    full recompute), and its recompute repeats the forward."""
    h100 = catalog.accelerator("h100-sxm")
    dev = device(h100, catalog.efficiency_profile("h100-sxm"), False, 0.9)
    network = network_of(catalog, h100)
    p = replace(_plan(2, True, Recompute.FULL), context_parallel=4)  # as the DFM H100 rows
    tokens = SEQ / 4
    a = layer_cost(_wan(catalog), p, SEQ, False, dev, AttentionKernel.FLASH, network)
    b = layer_cost(_wan(catalog, qk_norm_tp_gather=True), p, SEQ, False, dev,
                   AttentionKernel.FLASH, network)  # fmt: skip
    s = tokens * H * 2
    forward = 24 * s / dev.hbm_bytes_per_s + 15 * dev.launch_s
    backward = 18 * s / dev.hbm_bytes_per_s + 9 * dev.launch_s
    assert b.forward_s - a.forward_s == pytest.approx(forward, rel=1e-9)
    assert b.backward_s - a.backward_s == pytest.approx(backward, rel=1e-9)
    assert b.recompute_s - a.recompute_s == pytest.approx(forward, rel=1e-9)
    assert b.tp_s - a.tp_s == pytest.approx(9 * _gather(catalog, s, 2), rel=1e-9)
    assert b.attention_s == a.attention_s
    # without SP the block's elementwise bytes already run the norm at the full width:
    # copies only, 3 x (4S + 3S) forward and 3 x (2S + 2S) backward
    no_sp = replace(p, sequence_parallel=False)
    e = layer_cost(_wan(catalog), no_sp, SEQ, False, dev, AttentionKernel.FLASH, network)
    f = layer_cost(_wan(catalog, qk_norm_tp_gather=True), no_sp, SEQ, False, dev,
                   AttentionKernel.FLASH, network)  # fmt: skip
    forward = 21 * s / dev.hbm_bytes_per_s + 15 * dev.launch_s
    assert f.forward_s - e.forward_s == pytest.approx(forward, rel=1e-9)
    backward = 12 * s / dev.hbm_bytes_per_s + 9 * dev.launch_s
    assert f.backward_s - e.backward_s == pytest.approx(backward, rel=1e-9)
    # without TP the path does not run
    one = replace(p, tensor_parallel=1, sequence_parallel=False)
    c = layer_cost(_wan(catalog), one, SEQ, False, dev, AttentionKernel.FLASH, network)
    d = layer_cost(_wan(catalog, qk_norm_tp_gather=True), one, SEQ, False, dev,
                   AttentionKernel.FLASH, network)  # fmt: skip
    assert c == d
