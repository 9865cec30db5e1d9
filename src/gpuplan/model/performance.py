"""The performance model's entry point: catalog records in, a step estimate out.

This module turns catalog records (accelerator, efficiency profile, framework) into the
SI inputs of :func:`gpuplan.model.step.estimate_step`; the model itself reads no files.
"""

from __future__ import annotations

from gpuplan import units
from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import Accelerator, Cluster, Framework, Model
from gpuplan.model.collectives import Link, Network, Tier
from gpuplan.model.kept import by_identity, canonical
from gpuplan.model.kernels import Device, device
from gpuplan.model.step import Infeasible, StepEstimate, estimate_step
from gpuplan.scenario.plan import ParallelPlan
from gpuplan.scenario.resolve import DEFAULT_FRAMEWORK


def network_of(
    catalog: Catalog, accelerator: Accelerator, cluster: Cluster | None = None
) -> Network:
    """The network of a cluster profile (default: the accelerator's reference server), with
    the accelerator's achieved bus fractions and latencies (efficiency.yaml) and the per-rank
    speed spread (clusters.yaml ``at_scale``)."""
    cluster = cluster or catalog.default_cluster(accelerator.id)
    assert cluster.accelerator == accelerator.id, "resolve refuses a mismatched cluster"
    profile = catalog.efficiency_profile(accelerator.id)
    return Network(
        scaleup=Link(
            cluster.scaleup_bytes_per_s * profile.scaleup_bus,
            profile.scaleup_latency_us * 1e-6,
        ),
        scaleout=Link(
            cluster.scaleout_bytes_per_s * profile.scaleout_bus,
            profile.scaleout_latency_us * 1e-6,
        ),
        domain=cluster.scaleup_domain,
        tiers=tuple(Tier(t.gpus, t.oversubscription) for t in cluster.fabric),
        rail_optimized=cluster.rail_optimized,
        rank_speed_cv=catalog.at_scale["rank_speed_cv"].for_accelerator(accelerator.id),
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
    framework = catalog.framework(framework_id)
    return device(
        accelerator,
        catalog.efficiency_profile(accelerator.id),
        fp8,
        catalog.system("training_kernel_efficiency").for_accelerator(accelerator.id)
        * framework.stack_efficiency,
        framework.attention,
        catalog.system("overlap_compute_slowdown").for_accelerator(accelerator.id),
        mxfp8=framework.fp8_recipe == "mxfp8",
        fast_forward=framework.fp8_recipe in FAST_FORWARD_RECIPES,
    )


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
    model, accelerator, framework, overhead_bytes, dev, network = _inputs(
        catalog, model, accelerator, cluster, fp8, framework_id
    )
    return estimate_step(
        model,
        accelerator,
        plan,
        seq_len=seq_len,
        global_batch=global_batch,
        dev=dev,
        network=network,
        framework=framework,
        peak_flops_per_s=accelerator.peak_bf16_flops_per_s,
        overhead_bytes=overhead_bytes,
        allow_tp_beyond_domain=allow_tp_beyond_domain,
    )


@by_identity(records=4, maxsize=256)
def _inputs(
    catalog: Catalog, model: Model, accelerator: Accelerator, cluster: Cluster | None,
    fp8: bool, framework_id: str,
) -> tuple[Model, Accelerator, Framework, float, Device, Network]:  # fmt: skip
    """What :func:`estimate` reads besides the plan (the model and the accelerator, the
    framework, its memory overhead, the device and the network), kept per catalog, model,
    accelerator and cluster (by identity: :mod:`gpuplan.model.kept`), precision and
    framework; each record the first equal one seen (:func:`canonical`): the same objects
    for every plan of a scenario, and of a scenario resolved again, which the caches after
    it key by identity."""
    framework = catalog.framework(framework_id)
    overhead = catalog.system("framework_memory_overhead_gib").for_accelerator(accelerator.id)
    return (
        canonical(model),
        canonical(accelerator),
        canonical(framework),
        overhead * units.GiB,
        canonical(device_of(catalog, accelerator, fp8, framework_id)),
        canonical(network_of(catalog, accelerator, cluster)),
    )
