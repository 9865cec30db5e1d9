"""RULE ZERO3-SYNC (docs/model.md): DeepSpeed's 2021 stage-3 coordinator synchronises the
device at every module fetch, so each weight matrix's compute hides only the traffic issued
beside it. Expected values are derived by hand below, not read from the code."""

from __future__ import annotations

import numpy as np
import pytest

from gpuplan.catalog import load_catalog
from gpuplan.catalog.schema import Framework
from gpuplan.model.collectives import Link, Network
from gpuplan.model.data_parallel import flat_ring_latency
from gpuplan.model.zero3_sync import matrix_shares, synced_times

CATALOG = load_catalog()
SHARES = (3 / 12, 1 / 12, 4 / 12, 4 / 12)  # Q/K/V 3h^2, output h^2, MLP 4h^2 and 4h^2


def test_gpt3_layer_shares_by_hand() -> None:
    # h 12288, 96 heads of 128 (no GQA), FFN 4h, GELU: 3h^2, h^2, 4h^2, 4h^2 of 12h^2.
    shares = matrix_shares(CATALOG.model("megatron-175b-korthikanti"))
    assert shares == pytest.approx(SHARES)


def test_moe_models_keep_the_pooled_windows() -> None:
    moe = next(m for m in CATALOG.models.values() if m.moe is not None)
    assert matrix_shares(moe) is None


def test_full_recompute_intervals_by_hand() -> None:
    # Per micro-batch: forward 12 s, backward 24 s (compute 36), recompute 12 s, gather
    # 24 s, reduce-scatter 12 s. Per matrix (twelfths 3, 1, 4, 4): forward 3, 1, 4, 4;
    # recompute 3, 1, 4, 4; backward 6, 2, 8, 8; gather 6, 2, 8, 8; reduce-scatter 3, 1, 4, 4.
    # Forward, i beside i+1's gather: (2-3)+, (8-1)+, (8-4)+, (6-4)+ = 0 + 7 + 4 + 2 = 13.
    # Recompute of the first three: (2-3)+, (8-1)+, (8-4)+ = 11. The last matrix's recompute
    # and backward (4 + 8) beside the MLP-in gather 8 and the Q/K/V reduce-scatter 3: 0.
    # Backward of MLP-in (8) beside output gather 2 + MLP-out reduce-scatter 4: 0; of the
    # output projection (2) beside Q/K/V gather 6 + MLP-in reduce-scatter 4: 8; of Q/K/V (6)
    # beside the next layer's Q/K/V gather 6 + output reduce-scatter 1: 1. Exposed 33.
    # On the link: gathers 24 + 24 + 24 x (1 - 4/12) = 64, plus 12 = 76.
    link, exposed = synced_times(SHARES, 36.0, 12.0, 24.0, 12.0, True)
    assert (link, exposed) == pytest.approx((76.0, 33.0))


def test_no_recompute_intervals_by_hand() -> None:
    # Forward as above: 13. Backward, i beside i-1's gather and i+1's reduce-scatter:
    # Q/K/V (6) beside MLP-out gather 8 + output 1: 3; output (2) beside 6 + 4: 8;
    # MLP-in (8) beside 2 + 4: 0; MLP-out (8) beside 8 + Q/K/V 3: 3. Exposed 27; on the
    # link 2 x 24 + 12 = 60.
    link, exposed = synced_times(SHARES, 36.0, 0.0, 24.0, 12.0, False)
    assert (link, exposed) == pytest.approx((60.0, 27.0))


@pytest.mark.parametrize("gather", [0.5, 6.0, 24.0, 96.0])
def test_matrix_by_matrix_never_hides_more_than_the_pooled_window(gather: float) -> None:
    # A sum of maxima is at least the maximum of the sums: the exposed time is at least
    # what the whole pass's compute leaves uncovered, and at most the whole traffic.
    compute, recompute = np.array([36.0, 9.0]), np.array([12.0, 3.0])
    link, exposed = synced_times(SHARES, compute, recompute, gather, gather / 2, np.array(True))
    assert np.all(exposed >= np.maximum(link - compute - recompute, 0) - 1e-12)
    assert np.all(exposed <= link + 1e-12)


def test_per_matrix_overlap_needs_the_regather_on_recompute() -> None:
    data = CATALOG.framework("deepspeed-zero3").model_dump()
    data["zero3_regather_on_recompute"] = False
    with pytest.raises(ValueError, match="per-matrix"):
        Framework(**data)


def test_each_matrix_is_its_own_ring_with_its_own_latency() -> None:
    # Two layers, 0.5 s of ring latency per collective; the stage's gather (24 s) and
    # reduce-scatter (12 s) each hold one ring's latency, so 23.5 s and 11.5 s are bytes.
    # Without recompute a micro-batch runs, per layer, 4 forward gathers, 4 backward
    # gathers and 4 reduce-scatters: 2 x 12 x 0.5 = 12 s of latency + 23.5 + 23.5 + 11.5.
    link, exposed = synced_times(SHARES, 1e6, 0.0, 24.0, 12.0, False, 2.0, 0.5)
    assert (link, exposed) == pytest.approx((70.5, 0.0))


def test_flat_ring_latency_by_hand() -> None:
    # 64 ranks, one per GPU, over 8 servers: 63 steps of the NIC's 5 us; 8 ranks in one
    # server: 7 steps of NVLink's 1 us.
    net = Network(scaleup=Link(200e9, 1e-6), scaleout=Link(20e9, 5e-6), domain=8)
    one = np.array(1)
    assert float(flat_ring_latency(np.array(64), one, net)) == pytest.approx(63 * 5e-6)
    assert float(flat_ring_latency(np.array(8), one, net)) == pytest.approx(7 * 1e-6)
