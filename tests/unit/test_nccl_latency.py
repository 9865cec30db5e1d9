"""RULE NCCL-LAT (docs/model.md): each ring collective's latency from NCCL's tuning model
(src/graph/tuning.cc, Ring/Simple) at the release each framework profile ran. Golden values
are derived by hand from tuning.cc's formula ``baseLat + (nsteps - nInterSteps) intraLat +
nInterSteps interLat`` and the constants read at the tags, not from the code under test."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from gpuplan.catalog import load_catalog
from gpuplan.model.collectives import Collective, Link, NcclRing, Network, collective_time
from gpuplan.model.data_parallel import flat_collective_times, flat_ring_latency
from gpuplan.model.performance import network_of

US = 1e-6
V2_9 = NcclRing(8.4 * US, 3.4 * US, 9.6 * US)  # v2.9.9-1: nInterSteps 2(N-1)
V2_12 = NcclRing(8.4 * US, 3.4 * US, 28 * US, allreduce_extra=True)  # v2.12.12-1: 2N


def test_ring_latency_by_hand() -> None:
    # all-gather, 64 ranks on 8 servers: 8.4 + (63 - 7) x 3.4 + 7 x 9.6 = 266.0 us
    assert V2_9.latency(Collective.ALL_GATHER, 64.0, 8.0) == pytest.approx(266.0 * US)
    # all-reduce, 16 ranks on 2 servers, v2.9: 30 steps, 2 between servers:
    # 8.4 + 28 x 3.4 + 2 x 9.6 = 122.8 us
    assert V2_9.latency(Collective.ALL_REDUCE, 16.0, 2.0) == pytest.approx(122.8 * US)
    # v2.12 counts 2N = 4 steps between servers: 8.4 + 26 x 3.4 + 4 x 28 = 208.8 us
    assert V2_12.latency(Collective.ALL_REDUCE, 16.0, 2.0) == pytest.approx(208.8 * US)
    # inside one server the 2N rule does not apply (N = 1): 8.4 + 14 x 3.4 = 56.0 us
    assert V2_12.latency(Collective.ALL_REDUCE, 8.0, 1.0) == pytest.approx(56.0 * US)
    # the colleague's ZeRO-3 finding (8.4 + 3.4 per NVLink step + 9.6 per server crossing)
    assert V2_9.latency(Collective.REDUCE_SCATTER, 16.0, 2.0) == pytest.approx(
        (8.4 + 14 * 3.4 + 9.6) * US
    )


def _network(nccl: NcclRing | None) -> Network:
    return Network(Link(100e9, 2 * US), Link(20e9, 6 * US), domain=8, nccl=nccl)


def test_nccl_latency_replaces_the_per_step_alpha_and_keeps_the_bandwidth() -> None:
    size = 64e6
    # flat all-reduce inside a server: 14 steps of size / 8 at 100 GB/s, plus 56.0 us
    flat = collective_time(Collective.ALL_REDUCE, size, 8, 1, _network(V2_12))
    assert flat == pytest.approx(14 * size / 8 / 100e9 + 56.0 * US)
    # without NCCL: 14 steps of (2 us + size / 8 at 100 GB/s)
    plain = collective_time(Collective.ALL_REDUCE, size, 8, 1, _network(None))
    assert plain == pytest.approx(14 * (2 * US + size / 8 / 100e9))
    # hierarchical all-gather over 16 ranks (2 servers of 8): NVLink ring of 7 steps of
    # size / 8, one ring of 1 step of size / 8 / 8 over the NIC, plus v2.9's latency
    hier = collective_time(Collective.ALL_GATHER, size, 16, 1, _network(V2_9))
    bandwidth = 7 * size / 8 / 100e9 + size / 8 / 2 / 20e9
    assert hier == pytest.approx(bandwidth + (8.4 + 14 * 3.4 + 9.6) * US)
    # all-to-all keeps the link's alpha (no entry in NCCL's tuning model)
    a2a = collective_time(Collective.ALL_TO_ALL, size, 8, 1, _network(V2_9))
    assert a2a == collective_time(Collective.ALL_TO_ALL, size, 8, 1, _network(None))


def test_flat_ring_of_zero3_takes_nccl_latency() -> None:
    # one flat reduce-scatter over 32 ranks, one per server (stride 8): all steps between
    # servers, 8.4 + 31 x 9.6 = 306.0 us
    latency = flat_ring_latency(32.0, 8.0, _network(V2_9))
    assert float(latency) == pytest.approx(306.0 * US)
    size = 1e9
    time = flat_collective_times(Collective.REDUCE_SCATTER, size, 32.0, 8.0, _network(V2_9))
    assert float(time) == pytest.approx(31 * size / 32 / 20e9 + 306.0 * US)


NAMED = {"megatron-lm-2021": "v2.8.3-1"}  # RULE NCCL-VER: a document names the release


def test_each_profile_runs_the_last_release_by_30_june_of_its_year() -> None:
    catalog = load_catalog()
    releases = {f.nccl.id: f.nccl for f in catalog.frameworks.values() if f.nccl is not None}
    stated = {"deepspeed-zero3": 2021, "llm-foundry-fa2": 2023, "deepseek-hai-llm": 2024,
              "modern": 2026}  # fmt: skip
    for framework in catalog.frameworks.values():
        assert framework.nccl is not None, framework.id
        if framework.id in NAMED:
            continue
        found = re.search(r"20[12]\d", framework.id)
        year = stated.get(framework.id) or int(found.group(0)) if found else stated[framework.id]
        cutoff = dt.date(year, 6, 30)
        assert framework.nccl.tagged <= cutoff, framework.id
        later = [r.id for r in releases.values() if framework.nccl.tagged < r.tagged <= cutoff]
        assert not later, (framework.id, later)


def test_release_constants_as_read_from_tuning_cc() -> None:
    catalog = load_catalog()
    by_tag = {f.nccl.id: f.nccl for f in catalog.frameworks.values() if f.nccl is not None}
    # Ring/Simple hwLat NET: 9.6 us in v2.9, 28 in v2.12-2.13, 14.0 from v2.18
    assert by_tag["v2.9.9-1"].net_step_us == 9.6
    assert by_tag["v2.12.12-1"].net_step_us == 28
    assert by_tag["v2.22.3-1"].net_step_us == 14.0
    assert {r.base_us for r in by_tag.values()} == {8.4}
    assert {r.nvlink_step_us for r in by_tag.values()} == {3.4}
    assert by_tag["v2.12.12-1"].allreduce_inter_steps == "2N"
    assert by_tag["v2.27.5-1"].allreduce_inter_steps == "2(N-1)"
    assert catalog.framework("megatron-2022").nccl == by_tag["v2.12.12-1"]
    # v2.8.3-1 (tuning.cc lines 56, 65, 69, 112): the values of v2.9.9-1
    assert by_tag["v2.8.3-1"].net_step_us == 9.6
    assert by_tag["v2.8.3-1"].allreduce_inter_steps == "2(N-1)"


def test_named_profiles_take_the_release_their_documents_name() -> None:
    catalog = load_catalog()
    for framework_id, tag in NAMED.items():
        nccl = catalog.framework(framework_id).nccl
        assert nccl is not None and nccl.id == tag, framework_id
        assert f"at tag {tag} (commit {nccl.commit[:10]})" in nccl.source, framework_id
        # the profile's notes give the document that names it
        assert f"nccl {tag} (named, RULE NCCL-VER" in (catalog.framework(framework_id).notes or "")


def test_only_nvidia_chips_take_nccls_model() -> None:
    catalog = load_catalog()
    h100 = network_of(catalog, catalog.accelerator("h100-sxm"), None, "meta-llama3-2024")
    assert h100.nccl == NcclRing(8.4 * US, 3.4 * US, 14.0 * US, allreduce_extra=True)
    tpu = network_of(catalog, catalog.accelerator("tpu-v4"), None, "jax-palm-2022")
    assert tpu.nccl is None
    mi300x = network_of(catalog, catalog.accelerator("mi300x"), None, "modern")
    assert mi300x.nccl is None
