"""What a plan says about its cluster: the assumption line and the sources it rests on."""

from __future__ import annotations

from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import Cluster
from gpuplan.planning.accounts import SourceRef

STRAGGLER_ID = "rank_speed_cv"
"""clusters.yaml ``at_scale`` record of the per-rank speed spread (model/step.py)."""


def cluster_note(cluster: Cluster, rank_speed_cv: float) -> str:
    """One sentence: the cluster profile and the network numbers the model used."""
    tiers = ", ".join(
        f"{t.name} {t.gpus:,} GPUs"
        + (f" {t.oversubscription:g}:1" if t.oversubscription > 1 else "")
        for t in cluster.fabric
    )
    fabric = f"fabric tiers: {tiers}" if tiers else "one non-blocking fabric"
    rail = "rail-optimised" if cluster.rail_optimized else "not rail-optimised"
    return (
        f"Cluster profile '{cluster.id}' ({cluster.name}): scale-up domain of "
        f"{cluster.scaleup_domain:,} at {cluster.scaleup_unidir_gb_per_s:g} GB/s per GPU, "
        f"{cluster.scaleout_gbit_per_s:g} Gb/s {cluster.transport.value} per GPU, {fabric}, "
        f"{rail}. Stragglers: per-GPU speed spread {rank_speed_cv:.2%} (coefficient of "
        "variation); each step waits for the slowest of its GPUs (step.straggler_s)."
    )


def cluster_sources(catalog: Catalog, cluster: Cluster) -> list[SourceRef]:
    record = catalog.at_scale[STRAGGLER_ID]
    return [
        SourceRef(f"cluster profile {cluster.id}", cluster.source, str(cluster.retrieved)),
        SourceRef("straggler speed spread", record.source, str(record.retrieved)),
    ]
