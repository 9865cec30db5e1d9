"""The gather half of Megatron-LM's scatter/gather of pipeline sends (Narayanan et al. 2021
sec. 4.1): each TP rank sends 1/t of the activation, the receiver all-gathers it over NVLink."""

from __future__ import annotations

import pytest

from gpuplan.catalog import Catalog
from gpuplan.catalog.loader import load_catalog
from gpuplan.model.collectives import Link, Network
from gpuplan.model.pipeline_io import stage_sends

# Scale-up 100 GB/s, scale-out 10 GB/s, no latency: every time below is bytes / bandwidth.
NET = Network(scaleup=Link(100e9, 0.0), scaleout=Link(10e9, 0.0), domain=8)


def _sends(framework_id: str, tp: int, sp: bool, interleave: int = 1) -> tuple[float, float]:
    catalog = load_catalog()
    model = catalog.model("megatron-530b")  # hidden 20480
    on_link, exposed = stage_sends(model, tp, 1, 1, 4, interleave, sp, 2048.0, NET,
                                   catalog.framework(framework_id))  # fmt: skip
    return float(on_link), float(exposed)


def test_the_receiver_gathers_what_the_tp_ranks_sent(catalog: Catalog) -> None:
    activation = 2048 * 20480 * 2  # one micro-batch of 2,048 tokens, 16-bit: 83.9 MB
    send = activation / 8 / 10e9  # each TP rank's eighth over its own NIC
    gather = 7 / 8 * activation / 100e9  # ring all-gather of the whole tensor over 8 ranks
    assert catalog.framework("megatron-lm-2021").p2p_gather_on_receive
    on_link, exposed = _sends("megatron-lm-2021", 8, False)
    assert on_link == pytest.approx(2 * (send + gather), rel=1e-12)  # forward and backward
    assert exposed == on_link  # blocking sends (batch_isend_irecv + cuda.synchronize)
    # interleaved: once per chunk
    assert _sends("megatron-lm-2021", 8, False, 3)[0] == pytest.approx(3 * on_link, rel=1e-12)
    # sequence parallelism keeps the activation split: no gather (the 2022 code turns
    # scatter/gather off under --sequence-parallel); nor with one TP rank
    assert _sends("megatron-2022", 8, True)[0] == pytest.approx(2 * send, rel=1e-12)
    assert _sends("megatron-2022", 8, False)[0] == pytest.approx(on_link, rel=1e-12)
    # (one TP rank: neighbouring stages share the server, the send goes over NVLink)
    assert _sends("megatron-lm-2021", 1, False)[0] == pytest.approx(2 * activation / 100e9)
    # a stack not known to gather: the send alone
    assert not catalog.framework("modern").p2p_gather_on_receive
    assert _sends("modern", 8, False)[0] == pytest.approx(2 * send, rel=1e-12)
