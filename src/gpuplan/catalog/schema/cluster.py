"""Cluster profiles (``clusters.yaml``): the network a run's accelerators sit on.

A profile says how big the scale-up domain is and how fast, how much scale-out bandwidth
each accelerator has (Gb/s, one direction), and the fabric above the NICs: tiers from the
bottom up, each with the GPUs under one unit of the tier and the oversubscription of that
unit's uplinks (bandwidth offered by the GPUs below over the bandwidth of the uplinks; 1 is
non-blocking). The model uses them in :mod:`gpuplan.model.collectives`.
"""

from __future__ import annotations

import itertools
from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from gpuplan import units
from gpuplan.catalog.schema.base import Fraction, Positive, PositiveInt, Record, Strict


class Transport(StrEnum):
    INFINIBAND = "infiniband"
    ROCE = "roce"
    EFA = "efa"
    OMNI_PATH = "omni-path"
    ETHERNET = "ethernet"
    """Plain Ethernet with GPU-direct TCP (Google's GPUDirect-TCPX/TCPXO)."""
    ICI_TORUS_DCN = "ici-torus+dcn"
    """TPU inter-chip interconnect (a 3D torus inside a pod) plus the data-centre network."""


class FabricTier(Strict):
    """One tier of the scale-out fabric (leaf, spine, core, ...)."""

    name: str = Field(min_length=1)
    gpus: PositiveInt
    """Accelerators under one unit of this tier (a rack, a scalable unit, a pod)."""
    oversubscription: Annotated[float, Field(ge=1, le=1000)] = 1.0
    """Bandwidth the GPUs below one unit can offer over the bandwidth of its uplinks."""


class Cluster(Record):
    """A cluster profile: an accelerator type and the network around it."""

    id: str
    name: str
    accelerator: str
    """Accelerator id (accelerators.yaml) the cluster is built of."""
    scaleup_domain: PositiveInt
    """Accelerators in one scale-up domain (NVLink server, TPU pod)."""
    scaleup_unidir_gb_per_s: Positive
    """Scale-up bandwidth per accelerator, one direction, GB/s."""
    scaleout_gbit_per_s: Positive
    """Scale-out (NIC) bandwidth per accelerator, one direction, Gb/s."""
    gpus_per_node: PositiveInt = 8
    nics_per_node: PositiveInt = 8
    fabric: tuple[FabricTier, ...] = ()
    """Tiers above the NICs, bottom up; empty: one non-blocking fabric."""
    rail_optimized: bool = True
    """GPU i of every server on the same leaf (rail): rail-aligned traffic stays on the leaf."""
    transport: Transport = Transport.INFINIBAND
    scaleout_bus: Fraction | None = None
    """NCCL bus bandwidth across this cluster's instances over its NIC bandwidth, where
    published (docs/model.md, RULE CLUSTER-BUS); None: the accelerator's (efficiency.yaml)."""
    torus: tuple[PositiveInt, ...] | None = None
    """TPU pods: the ICI torus dimensions (chips per dimension)."""
    total_gpus: PositiveInt | None = None
    """Accelerators in the whole cluster, where published."""
    reference: bool = False
    """The accelerator's reference server (derived from accelerators.yaml): the default."""

    @model_validator(mode="after")
    def _tiers_grow(self) -> Cluster:
        sizes = [t.gpus for t in self.fabric]
        if any(b <= a for a, b in itertools.pairwise(sizes)):
            raise ValueError(f"fabric tiers must hold more GPUs bottom up, got {sizes}")
        return self

    @property
    def scaleup_bytes_per_s(self) -> float:
        return units.gb_per_s_to_bytes_per_s(self.scaleup_unidir_gb_per_s)

    @property
    def scaleout_bytes_per_s(self) -> float:
        return self.scaleout_gbit_per_s * 1e9 / 8


class MeasuredOn(Record):
    """The cluster a validation source ran on (clusters.yaml ``measured_on``)."""

    id: str
    rows: str = Field(min_length=1)
    """A glob over measurements.yaml row ids."""
    cluster: str
