"""Cluster profiles: the catalog, the scenario's ``cluster:`` and the tiered collectives."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gpuplan.catalog import Catalog
from gpuplan.errors import ScenarioError
from gpuplan.model.collectives import (
    Collective,
    Link,
    Network,
    Tier,
    collective_times,
    p2p_times,
)
from gpuplan.model.performance import estimate, network_of
from gpuplan.model.step import StepEstimate
from gpuplan.model.stragglers import expected_max_normal, max_normal_bound, straggler_times
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario
from gpuplan.scenario.plan import ParallelPlan, Recompute
from gpuplan.scenario.resolve import resolve

BASE: dict[str, Any] = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64}

# A hand-made two-tier fabric: 8-GPU servers, leaves of 32 GPUs whose uplinks are
# oversubscribed 2:1, a non-blocking spine of 128. No latency, round bandwidths.
TWO_TIER = Network(
    scaleup=Link(100e9, 0.0),
    scaleout=Link(10e9, 0.0),
    domain=8,
    tiers=(Tier(32, 2.0), Tier(128, 1.0)),
    rail_optimized=False,
)


def resolved_cluster(catalog: Catalog, cluster: Any, **changes: Any) -> Any:
    return resolve(parse_scenario({**BASE, **changes, "cluster": cluster}), catalog).cluster


def test_every_profile_is_sourced_and_built_of_a_catalog_accelerator(catalog: Catalog) -> None:
    named = [c for c in catalog.clusters.values() if not c.reference]
    wanted = {"dgx-a100-superpod-selene", "dgx-h100-superpod", "meta-roce-24k", "meta-ib-24k",
              "jean-zay-a100", "aws-p4d", "aws-p5", "gcp-a3", "gcp-a3-mega", "tpu-v4-pod",
              "tpu-v5p-pod", "deepseek-h800"}  # fmt: skip
    assert wanted <= {c.id for c in named}
    for cluster in named:
        assert cluster.accelerator in catalog.accelerators
        assert len(cluster.source) > 20 and cluster.retrieved.year >= 2026
    # Every accelerator has its reference profile, the default.
    for chip in catalog.accelerators.values():
        assert catalog.default_cluster(chip.id).accelerator == chip.id


def test_meta_roce_profile_is_the_llama3_paper_fabric(catalog: Catalog) -> None:
    # Dubey et al. 2024 sec. 3.3.1: 16 GPUs per rack, 3,072-GPU pods, 24K GPUs, 1:7 above pods.
    meta = catalog.cluster("meta-roce-24k")
    assert [t.gpus for t in meta.fabric] == [16, 3072, 24576]
    assert [t.oversubscription for t in meta.fabric] == [1, 7, 1]
    assert meta.scaleout_bytes_per_s == 50e9  # 400 Gb/s per GPU
    assert not meta.rail_optimized


def test_ring_across_an_oversubscribed_leaf_by_hand() -> None:
    size = 1.6e9
    # 16 ranks, one per server (stride 8): 4 of the ring's servers share each leaf, more than
    # the 2:1 oversubscription, so the ring runs at the NIC: 2 (n - 1) S / (n B).
    packed = collective_times(Collective.ALL_REDUCE, size, 16, 8, TWO_TIER)
    assert float(packed) == pytest.approx(2 * 15 * size / 16 / 10e9)  # 0.3 s
    # Stride 32: one rank per leaf; every leaf's ring hop shares the 2:1 uplink: half speed.
    spread = collective_times(Collective.ALL_REDUCE, size, 16, 32, TWO_TIER)
    assert float(spread) == pytest.approx(2 * 15 * size / 16 / (10e9 / 2))  # 0.6 s
    # Inside one leaf (8 ranks x stride 4 = 32 GPUs) no tier is crossed: 2 servers, local 2.
    inside = collective_times(Collective.ALL_REDUCE, size, 8, 4, TWO_TIER)
    inner = 2 * 1 * (size / 2 / 100e9)  # all-reduce over the 2 local ranks on NVLink
    outer = 2 * 3 * (size / 2 / 4 / 10e9)  # 4 servers, S / local per NIC
    assert float(inside) == pytest.approx(inner + outer)


def test_all_to_all_across_an_oversubscribed_leaf_by_hand() -> None:
    size = 1e9
    # 64 ranks, stride 1: 8 per server, 32 per leaf. Per GPU, (64 - 8)/64 S leave the server
    # at 10 GB/s, (64 - 32)/64 S leave the leaf at 10/2 GB/s: the leaf (1.0 S / B) is slower.
    inner = 7 * (size / 8 / 100e9)
    result = collective_times(Collective.ALL_TO_ALL, size, 64, 1, TWO_TIER)
    assert float(result) == pytest.approx(inner + (64 - 32) / 64 * size * 2 / 10e9)
    # Rail-optimised leaves join one rail only: a GPU reaches its own server's 8 GPUs and the
    # same-rail GPU of the leaf's 3 other servers without the spine; the other 53/64 of its
    # bytes cross the 2:1 uplinks.
    rails = collective_times(
        Collective.ALL_TO_ALL, size, 64, 1, replace(TWO_TIER, rail_optimized=True)
    )
    assert float(rails) == pytest.approx(inner + (64 - 11) / 64 * size * 2 / 10e9)


def test_no_tiers_is_the_flat_network(catalog: Catalog) -> None:
    flat = replace(TWO_TIER, tiers=())
    for kind in Collective:
        for n, stride in ((16, 8), (16, 32), (64, 1), (8, 4)):
            assert float(collective_times(kind, 1e9, n, stride, flat)) <= float(
                collective_times(kind, 1e9, n, stride, TWO_TIER)
            )


def test_default_cluster_reproduces_the_accelerator_network(catalog: Catalog) -> None:
    # The reference profile is the accelerator record: the same links, bit for bit, and a
    # dense step on it equals the step on the accelerator-only network (straggler aside).
    h100 = catalog.accelerator("h100-sxm")
    profile = catalog.efficiency_profile("h100-sxm")
    network = network_of(catalog, h100)
    assert network.scaleup.bus_bytes_per_s == h100.scaleup_bytes_per_s * profile.scaleup_bus
    assert network.scaleout.bus_bytes_per_s == h100.scaleout_bytes_per_s * profile.scaleout_bus
    assert network.domain == h100.scaleup_domain and network.tiers == ()
    parallel = ParallelPlan(tensor_parallel=8, pipeline_parallel=2, data_parallel=4,
                            microbatch=1, recompute=Recompute.SELECTIVE,
                            sequence_parallel=True, zero=1)  # fmt: skip
    model = catalog.model("llama3-70b")
    kwargs: dict[str, Any] = dict(seq_len=8192, global_batch=64)
    named = estimate(catalog, model, h100, parallel, **kwargs,
                     cluster=catalog.cluster("h100-sxm-reference"))  # fmt: skip
    default = estimate(catalog, model, h100, parallel, **kwargs)
    assert isinstance(named, StepEstimate) and isinstance(default, StepEstimate)
    assert named.time_s == default.time_s
    assert named.exposed_comm_s == default.exposed_comm_s


def test_cluster_by_id_inline_and_override(catalog: Catalog) -> None:
    assert resolved_cluster(catalog, None).id == "h100-sxm-reference"
    assert resolved_cluster(catalog, "meta-roce-24k").id == "meta-roce-24k"
    # Override one field of a profile: the most oversubscribed tier (the pods' 1:7) moves.
    changed = resolved_cluster(catalog, {"id": "meta-roce-24k", "oversubscription": 2})
    assert [t.oversubscription for t in changed.fabric] == [1, 2, 1]
    assert changed.id == "meta-roce-24k+inline" and changed.scaleout_gbit_per_s == 400
    # Inline without an id starts from the accelerator's reference profile.
    inline = resolved_cluster(
        catalog, {"scaleout_gbit_per_s": 200, "fabric": [{"gpus": 256, "oversubscription": 4}]}
    )
    assert inline.scaleout_gbit_per_s == 200 and inline.scaleup_domain == 8
    assert inline.fabric[0].oversubscription == 4


@pytest.mark.parametrize(
    ("cluster", "hardware", "field", "words"),
    [
        ("meta-roce-24k", "a100-80gb", "cluster = 'meta-roce-24k'",
         "is a cluster of h100-sxm, not of hardware = a100-80gb"),
        ("meta-roce", "h100-sxm", "cluster = 'meta-roce'", "did you mean meta-roce-24k"),
        ({"id": "aws-p5", "oversubscription": 2}, "h100-sxm", "cluster.oversubscription = 2",
         "no fabric tiers"),
        ({"fabric": [{"gpus": 64}, {"gpus": 32}]}, "h100-sxm", "cluster.fabric",
         "more GPUs bottom up"),
        ({"fabric": [{"name": "leaf", "gpus": 32}, {"name": "leaf", "gpus": 256}]}, "h100-sxm",
         "cluster.fabric", "tier names must differ"),
    ],
)  # fmt: skip
def test_bad_clusters_are_one_line(
    catalog: Catalog, cluster: Any, hardware: str, field: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        resolved_cluster(catalog, cluster, hardware=hardware)
    assert caught.value.field.startswith(field)
    assert words in caught.value.message and "\n" not in str(caught.value)


def test_unknown_cluster_lists_the_allowed_ids(catalog: Catalog) -> None:
    with pytest.raises(ScenarioError) as caught:
        resolved_cluster(catalog, "nope")
    assert "known: " in caught.value.message and "dgx-h100-superpod" in caught.value.message


def test_a_parse_error_names_the_cluster_key() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario({**BASE, "cluster": {"id": "meta-roce-24k", "bogus": 1}})
    assert caught.value.field == "cluster.bogus"


def test_every_answer_names_its_cluster(catalog: Catalog) -> None:
    result = plan(parse_scenario({**BASE, "cluster": "aws-p5"}), catalog).to_dict()
    assert result["cluster"] == {"id": "aws-p5", "name": catalog.cluster("aws-p5").name}
    assert any("Cluster profile 'aws-p5'" in a for a in result["assumptions"])
    assert any(s["used_for"] == "cluster profile aws-p5" for s in result["sources"])
    assert result["step"]["straggler_s"] > 0


def test_expected_maximum_of_normals() -> None:
    # Exact E[max] of N standard normals (tables of normal order statistics, e.g. Harter
    # 1961): N = 2: 1/sqrt(pi) = 0.5642; N = 8: 1.4236; N = 100: 2.5076.
    blom = expected_max_normal([1, 2, 8, 100])
    assert blom[0] == 0
    assert list(blom[1:]) == pytest.approx([0.5642, 1.4236, 2.5076], abs=0.03)
    # Never above the sqrt(2 ln N) bound, and approaching it slowly.
    n = [2, 8, 1024, 16384, 10**7]
    assert all(expected_max_normal(n) <= max_normal_bound(n))


def test_straggler_time_by_hand() -> None:
    # cv 1.48%, 10 s busy, N = 16,384: Blom's E[max] = ndtri(16383.625 / 16384.25) = 3.956.
    assert float(straggler_times(10.0, 16384, 0.0148)) == pytest.approx(
        0.0148 * 10 * 3.956, rel=1e-3
    )
    assert float(straggler_times(10.0, 1, 0.0148)) == 0


def test_pipeline_send_across_an_oversubscribed_leaf_by_hand() -> None:
    size = 1e9
    # Stages 32 GPUs apart over 128 GPUs: every stage fills a leaf, so at each leaf boundary
    # its 32 GPUs send out through 32 / 2 NICs' worth of uplinks: half speed.
    crossing = p2p_times(size, False, TWO_TIER, 32, 128)
    assert float(crossing) == pytest.approx(size / (10e9 / 2))
    # Stages 8 GPUs apart: 8 of a leaf's 32 GPUs send out at once, within its 16 NICs' worth.
    assert float(p2p_times(size, False, TWO_TIER, 8, 128)) == pytest.approx(size / 10e9)
    # A pipeline inside one leaf crosses nothing; inside a server it stays on NVLink.
    assert float(p2p_times(size, False, TWO_TIER, 8, 32)) == pytest.approx(size / 10e9)
    assert float(p2p_times(size, True, TWO_TIER, 2, 8)) == pytest.approx(size / 100e9)


def test_a_cluster_with_a_published_nccl_rate_uses_it(catalog: Catalog) -> None:
    # RULE CLUSTER-BUS (docs/model.md): p4d's EFA v1 runs NCCL all-reduce at 340 of its
    # 400 Gb/s (Bekman, ML Engineering); 50 Gb/s per GPU x 0.85 = 5.3125e9 B/s. A cluster
    # with no published rate keeps the accelerator's (the A100's 0.90 on Selene's HDR IB).
    a100 = catalog.accelerator("a100-40gb")
    p4d = catalog.cluster("aws-p4d")
    assert p4d.scaleout_bus == 0.85
    network = network_of(catalog, a100, p4d)
    assert network.scaleout.bus_bytes_per_s == pytest.approx(50e9 / 8 * 0.85)
    selene = catalog.cluster("dgx-a100-superpod-selene")
    assert selene.scaleout_bus is None
    a100_80 = catalog.accelerator(selene.accelerator)
    profile = catalog.efficiency_profile(selene.accelerator)
    assert network_of(catalog, a100_80, selene).scaleout.bus_bytes_per_s == pytest.approx(
        selene.scaleout_bytes_per_s * profile.scaleout_bus
    )
