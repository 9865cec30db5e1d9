"""The performance model's entry point: catalog records in, a step estimate out.

This module turns catalog records (accelerator, efficiency profile, framework) into the
SI inputs of :func:`gpuplan.model.step.estimate_step`; the model itself reads no files.
"""

from __future__ import annotations

from gpuplan import units
from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import (
    Accelerator,
    AttentionKernel,
    Cluster,
    EfficiencyProfile,
    Framework,
    Model,
    SystemParameter,
    Vendor,
)
from gpuplan.model.collectives import Link, NcclRing, Network, Tier
from gpuplan.model.kept import by_identity, canonical_of
from gpuplan.model.kernels import Device, device
from gpuplan.model.step import Infeasible, StepEstimate, estimate_step
from gpuplan.scenario.plan import ParallelPlan
from gpuplan.scenario.resolve import DEFAULT_FRAMEWORK


def network_of(
    catalog: Catalog, accelerator: Accelerator, cluster: Cluster | None = None,
    framework_id: str = DEFAULT_FRAMEWORK,
) -> Network:  # fmt: skip
    """The network of a cluster profile (default: the accelerator's reference server), with
    the accelerator's achieved bus fractions and latencies (efficiency.yaml; a cluster's own
    published scale-out fraction in place of the accelerator's), the per-rank speed spread
    (clusters.yaml ``at_scale``) and, on an NVIDIA accelerator, the ring latency of the NCCL
    release the framework ran (:func:`nccl_of`)."""
    chip = accelerator.id
    _, profile, cluster = _records(catalog, accelerator, catalog.efficiency_profile(chip),
                                   cluster or catalog.default_cluster(chip))  # fmt: skip
    return _network(cluster, profile, catalog.at_scale["rank_speed_cv"].for_accelerator(chip),
                    nccl_of(accelerator, catalog.framework(framework_id)))  # fmt: skip


def nccl_of(accelerator: Accelerator, framework: Framework) -> NcclRing | None:
    """NCCL's ring latency model at the release the framework ran (frameworks.yaml ``nccl``;
    docs/model.md RULE NCCL-LAT), on NVIDIA accelerators only (RCCL and TPU ICI: None, the
    efficiency profile's per-step latencies)."""
    release = framework.nccl
    if release is None or accelerator.vendor is not Vendor.NVIDIA:
        return None
    return NcclRing(release.base_us * 1e-6, release.nvlink_step_us * 1e-6,
                    release.net_step_us * 1e-6, release.allreduce_inter_steps == "2N")  # fmt: skip


def _records(
    catalog: Catalog, accelerator: Accelerator, profile: EfficiencyProfile, cluster: Cluster
) -> tuple[Accelerator, EfficiencyProfile, Cluster]:
    """The accelerator, its efficiency profile and the cluster, each the catalog's own
    record or the first equal one seen (:func:`gpuplan.model.kept.canonical_of`): the
    device and the network are kept per these records' identity, so equal records give
    the same objects, which the caches after them key by identity."""
    chip = accelerator.id
    assert cluster.accelerator == chip, "resolve refuses a mismatched cluster"
    return (
        canonical_of(catalog.accelerators.get(chip), accelerator),
        canonical_of(catalog.efficiency.get(chip), profile),
        canonical_of(catalog.clusters.get(cluster.id), cluster),
    )


@by_identity(records=2, maxsize=256)
def _network(
    cluster: Cluster, profile: EfficiencyProfile, rank_speed_cv: float, nccl: NcclRing | None
) -> Network:
    """:func:`network_of`, kept per cluster and profile (by identity: :mod:`gpuplan.model.kept`)
    and spread: the same object for every plan of a scenario, which the caches after it key
    by identity."""
    return Network(
        scaleup=Link(
            cluster.scaleup_bytes_per_s * profile.scaleup_bus,
            profile.scaleup_latency_us * 1e-6,
        ),
        scaleout=Link(
            cluster.scaleout_bytes_per_s * (cluster.scaleout_bus or profile.scaleout_bus),
            profile.scaleout_latency_us * 1e-6,
        ),
        domain=cluster.scaleup_domain,
        tiers=tuple(Tier(t.gpus, t.oversubscription) for t in cluster.fabric),
        rail_optimized=cluster.rail_optimized,
        rank_speed_cv=rank_speed_cv,
        nccl=nccl,
    )


FAST_FORWARD_RECIPES = ("delayed", "current")
"""FP8 recipes (frameworks.yaml ``fp8_recipe``) whose forward GEMMs accumulate fast:
Transformer Engine's per-tensor recipes (``_2X_ACC_FPROP = False`` from v0.10,
Float8CurrentScaling ``fp8_gemm_fprop`` without split accumulator) and torchao's Float8
training (``gemm_config_output`` with ``use_fast_accum=True``). Their data- and
weight-gradient GEMMs promote (split) the accumulator, as do all GEMMs of 'blockwise'
(DeepSeek-V3 sec. 3.3.2); 'mxfp8' runs on Blackwell, where no gain is published
(efficiency.yaml ``gemm_fp8_fast_accum_vs_fp8``; docs/model.md, FP8)."""


def device_of(
    catalog: Catalog, accelerator: Accelerator, fp8: bool, framework_id: str = DEFAULT_FRAMEWORK
) -> Device:
    """The accelerator's kernel rates for a framework (its attention kernel and its
    ``stack_efficiency``) and precision."""
    chip = accelerator.id
    accelerator, profile, _ = _records(catalog, accelerator, catalog.efficiency_profile(chip),
                                       catalog.default_cluster(chip))  # fmt: skip
    return _device_of(accelerator, catalog.framework(framework_id), profile, fp8,
                      catalog.system("training_kernel_efficiency"),
                      catalog.system("overlap_compute_slowdown"))  # fmt: skip


def _device_of(
    accelerator: Accelerator, framework: Framework, profile: EfficiencyProfile, fp8: bool,
    kernel_efficiency: SystemParameter, overlap_slowdown: SystemParameter,
) -> Device:  # fmt: skip
    """:func:`device_of` of the catalog records it reads."""
    return _device(
        accelerator,
        profile,
        fp8,
        kernel_efficiency.for_accelerator(accelerator.id) * framework.stack_efficiency,
        framework.attention,
        overlap_slowdown.for_accelerator(accelerator.id),
        framework.fp8_recipe == "mxfp8",
        framework.fp8_recipe in FAST_FORWARD_RECIPES,
    )


@by_identity(records=2, maxsize=256)
def _device(
    accelerator: Accelerator, profile: EfficiencyProfile, fp8: bool, kernel_efficiency: float,
    attention: AttentionKernel, overlap_slowdown: float, mxfp8: bool, fast_forward: bool,
) -> Device:  # fmt: skip
    """:func:`gpuplan.model.kernels.device`, kept per accelerator and profile (by identity)
    and the numbers it reads: the same object for every plan of a scenario."""
    return device(accelerator, profile, fp8, kernel_efficiency, attention, overlap_slowdown,
                  mxfp8=mxfp8, fast_forward=fast_forward)  # fmt: skip


def estimate(
    catalog: Catalog,
    model: Model,
    accelerator: Accelerator,
    plan: ParallelPlan,
    *,
    seq_len: int,
    global_batch: int,
    fp8: bool = False,
    framework_id: str = DEFAULT_FRAMEWORK,
    allow_tp_beyond_domain: bool = False,
    cluster: Cluster | None = None,
) -> StepEstimate | Infeasible:
    """Step time and memory of one plan on one accelerator type (TP beyond one scale-up
    domain only when allowed, as in the search).

    MFU and HFU are against the dense BF16 peak, also for FP8 runs (a common convention;
    NVIDIA's tables divide FP8 runs by the FP8 peak, which halves the figure).
    """
    chip = accelerator.id
    accelerator, framework, dev, network, overhead = _inputs(  # the records read each call
        catalog, accelerator, catalog.framework(framework_id), catalog.efficiency_profile(chip),
        cluster or catalog.default_cluster(chip), catalog.system("training_kernel_efficiency"),
        catalog.system("overlap_compute_slowdown"),
        catalog.system("framework_memory_overhead_gib"), catalog.at_scale["rank_speed_cv"],
        fp8, FAST_FORWARD_RECIPES,
    )  # fmt: skip
    return estimate_step(  # each record the catalog's or the first equal one seen
        canonical_of(catalog.models.get(model.id), model),  # (kept.canonical_of): the caches
        accelerator,  # after it key them by identity (model/kept.py)
        plan,
        seq_len=seq_len,
        global_batch=global_batch,
        dev=dev,
        network=network,
        framework=framework,
        peak_flops_per_s=accelerator.peak_bf16_flops_per_s,
        overhead_bytes=overhead,
        allow_tp_beyond_domain=allow_tp_beyond_domain,
    )


@by_identity(records=9, maxsize=256)
def _inputs(
    catalog: Catalog, accelerator: Accelerator, framework: Framework,
    profile: EfficiencyProfile, cluster: Cluster, kernel_efficiency: SystemParameter,
    overlap_slowdown: SystemParameter, overhead_gib: SystemParameter,
    rank_speed_cv: SystemParameter, fp8: bool, fast_forward_recipes: tuple[str, ...],
) -> tuple[Accelerator, Framework, Device, Network, float]:  # fmt: skip
    """What :func:`estimate` passes on from the catalog records it read (``fp8`` and
    :data:`FAST_FORWARD_RECIPES` as they are now: a patched list is a new key): the
    accelerator and the framework, each the catalog's own record or the first equal one
    seen (:func:`gpuplan.model.kept.canonical_of`), the device (:func:`device_of`), the
    network (:func:`network_of`) and the memory overhead in bytes; kept per records, by
    identity, so a plan pays for the look-ups alone."""
    accelerator, profile, cluster = _records(catalog, accelerator, profile, cluster)
    chip = accelerator.id
    framework = canonical_of(catalog.frameworks.get(framework.id), framework)
    return (
        accelerator,
        framework,
        _device_of(accelerator, framework, profile, fp8, kernel_efficiency, overlap_slowdown),
        _network(
            cluster, profile, rank_speed_cv.for_accelerator(chip), nccl_of(accelerator, framework)
        ),
        overhead_gib.for_accelerator(chip) * units.GiB,
    )
