"""The scenario's ``cluster:``: a catalog profile id, or its fields written inline.

``cluster: meta-roce-24k`` names a profile of ``gpuplan catalog clusters``;
``cluster: {id: meta-roce-24k, oversubscription: 2}`` overrides fields of one; a block
without ``id`` overrides the accelerator's reference profile. Without ``cluster`` the
accelerator's reference profile (its accelerators.yaml server) is used.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator

from gpuplan.catalog.loader import Catalog, unknown_id_message
from gpuplan.catalog.schema import Accelerator, Cluster, FabricTier, Transport
from gpuplan.catalog.schema.base import Number, Strict
from gpuplan.errors import ScenarioError

MIN_GB_PER_S = 1.0
"""The slowest scale-up link an inline cluster may have, GB/s per GPU one way (a PCIe 3.0 x1
lane; real scale-up links are 16-900). Slower ones made a step take longer than a float
holds (1e-300 GB/s gave MFU 0 and a run of 1e290 days)."""
MIN_GBIT_PER_S = 1.0
"""The slowest scale-out NIC an inline cluster may have, Gb/s per GPU (1 Gigabit Ethernet)."""


class InlineTier(Strict):
    name: str = "tier"
    gpus: Annotated[int, Number, Field(gt=0, le=100_000_000)]
    """GPUs under one unit of the tier."""
    oversubscription: Annotated[float, Number, Field(ge=1, le=1000)] = 1.0
    """Downlink over uplink bandwidth of one unit (1: non-blocking)."""

    @field_validator("name")
    @classmethod
    def _named(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("must not be empty; allowed: a label such as leaf, spine or core")
        return name


class InlineCluster(Strict):
    """A cluster written in the scenario, or overrides of a catalog profile's fields."""

    id: str | None = None
    """The catalog profile to start from (default: the accelerator's reference profile)."""
    name: str | None = None
    scaleup_domain: Annotated[int, Number, Field(gt=0, le=100_000)] | None = None
    """GPUs in one scale-up (NVLink/ICI) domain."""
    scaleup_unidir_gb_per_s: Annotated[float, Number, Field(ge=MIN_GB_PER_S, le=100_000)] | None = (
        None
    )
    """Scale-up bandwidth per GPU, one direction, GB/s."""
    scaleout_gbit_per_s: Annotated[float, Number, Field(ge=MIN_GBIT_PER_S, le=100_000)] | None = (
        None
    )
    """Scale-out (NIC) bandwidth per GPU, one direction, Gb/s."""
    gpus_per_node: Annotated[int, Number, Field(gt=0, le=1024)] | None = None
    nics_per_node: Annotated[int, Number, Field(gt=0, le=1024)] | None = None
    fabric: tuple[InlineTier, ...] | None = None
    """Fabric tiers bottom up: [{name, gpus, oversubscription}, ...]."""
    oversubscription: Annotated[float, Number, Field(ge=1, le=1000)] | None = None
    """Replaces the ratio of the profile's most oversubscribed tier (its top tier when
    all are non-blocking)."""
    rail_optimized: bool | None = None
    transport: Transport | None = None

    @field_validator("fabric")
    @classmethod
    def _tiers_grow(cls, fabric: tuple[InlineTier, ...] | None) -> tuple[InlineTier, ...] | None:
        sizes = [t.gpus for t in fabric or ()]
        if any(b <= a for a, b in itertools.pairwise(sizes)):
            raise ValueError(f"tiers must hold more GPUs bottom up, got gpus {sizes}")
        names = [t.name for t in fabric or () if "name" in t.model_fields_set]  # given ones
        if len(set(names)) < len(names):
            raise ValueError(f"tier names must differ (each names one tier), got {names}")
        return fabric


def _overridden(base: Cluster, inline: InlineCluster) -> Cluster:
    fields: dict[str, Any] = {
        k: v
        for k, v in inline.model_dump(exclude={"id", "fabric", "oversubscription"}).items()
        if v is not None
    }
    fabric = base.fabric
    if inline.fabric is not None:
        fabric = tuple(FabricTier(**t.model_dump()) for t in inline.fabric)
    if inline.oversubscription is not None:
        if not fabric:
            raise ScenarioError(
                f"cluster.oversubscription = {inline.oversubscription:g}",
                f"profile '{base.id}' has no fabric tiers to oversubscribe; give cluster.fabric "
                "([{name, gpus, oversubscription}, ...])",
            )
        worst = max(range(len(fabric)), key=lambda i: (fabric[i].oversubscription, i))
        tier = fabric[worst].model_copy(update={"oversubscription": inline.oversubscription})
        fabric = (*fabric[:worst], tier, *fabric[worst + 1 :])
    draft = base.model_dump() | fields | {"fabric": fabric, "reference": False}
    draft["id"] = f"{base.id}+inline" if inline.model_fields_set - {"id"} else base.id
    draft["name"] = inline.name or (
        f"{base.name}, with {', '.join(sorted(inline.model_fields_set - {'id', 'name'}))} given"
        if draft["id"] != base.id
        else base.name
    )
    try:
        return Cluster.model_validate(draft)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(["cluster", *(str(p) for p in error["loc"])])
        raise ScenarioError(where, str(error["msg"]).removeprefix("Value error, ")) from None


def resolve_cluster(
    given: str | InlineCluster | None, accelerator: Accelerator, catalog: Catalog
) -> Cluster:
    """The scenario's cluster profile; refuses an unknown id or another accelerator's."""
    # an id (or none) is read as is: an InlineCluster for it would build its validator
    cluster_id = given.id if isinstance(given, InlineCluster) else given
    if cluster_id is not None and cluster_id not in catalog.clusters:
        raise ScenarioError(
            f"cluster = '{cluster_id}'",
            unknown_id_message("cluster profile", cluster_id, list(catalog.clusters)),
        )
    base = catalog.cluster(cluster_id) if cluster_id else catalog.default_cluster(accelerator.id)
    if base.accelerator != accelerator.id:
        same = sorted(c.id for c in catalog.clusters.values() if c.accelerator == accelerator.id)
        raise ScenarioError(
            f"cluster = '{base.id}'",
            f"is a cluster of {base.accelerator}, not of hardware = {accelerator.id}; "
            f"clusters of {accelerator.id}: {', '.join(same)}",
        )
    return _overridden(base, given) if isinstance(given, InlineCluster) else base
