"""DeepSpeed ZeRO-3 as it ran in 2021 (Narayanan et al. 2021 sec. 5.2's baseline): flat
parameter all-gathers over every data-parallel rank, a third gather under full recompute;
and FSDP's BACKWARD_POST prefetch (Composer, llm-foundry), which waits for each backward
gather."""

from __future__ import annotations

import numpy as np
import pytest

from gpuplan.catalog import load_catalog
from gpuplan.catalog.schema import Framework
from gpuplan.model.batch import PlanBatch
from gpuplan.model.collectives import Collective, Link, Network, collective_times
from gpuplan.model.data_parallel import data_parallel_times, flat_collective_times
from gpuplan.model.performance import estimate
from gpuplan.model.step import StepEstimate
from gpuplan.scenario.plan import ParallelPlan, Recompute

CATALOG = load_catalog()
A100 = CATALOG.accelerator("a100-80gb")
# 8 GPUs per server at 200 GB/s each on NVLink, 20 GB/s each on the NIC, 5 us per step.
NET = Network(scaleup=Link(200e9, 5e-6), scaleout=Link(20e9, 5e-6), domain=8)


def _zero3(model: str, gpus: int, microbatch: int, recompute: Recompute) -> StepEstimate:
    plan = ParallelPlan(
        tensor_parallel=1, pipeline_parallel=1, data_parallel=gpus, microbatch=microbatch,
        recompute=recompute, zero=3,
    )  # fmt: skip
    step = estimate(
        CATALOG, CATALOG.model(model), A100, plan, seq_len=2048, global_batch=gpus * microbatch,
        framework_id="deepspeed-zero3",
    )  # fmt: skip
    assert isinstance(step, StepEstimate), step
    return step


def test_flat_all_gather_by_hand() -> None:
    # 64 ranks over 8 servers, 1 GB per rank: 63 steps of (5 us + 1e9 / 64 / 20e9 s).
    seconds = flat_collective_times(
        Collective.ALL_GATHER, np.array(1e9), np.array(64), np.array(1), NET
    )
    assert float(seconds) == pytest.approx(63 * (5e-6 + 1e9 / 64 / 20e9))
    # Inside one server the ring runs on NVLink: 7 steps of (5 us + 1e9 / 8 / 200e9).
    inside = flat_collective_times(
        Collective.ALL_GATHER, np.array(1e9), np.array(8), np.array(1), NET
    )
    assert float(inside) == pytest.approx(7 * (5e-6 + 1e9 / 8 / 200e9))


@pytest.mark.parametrize("n", [16, 64, 384, 1536])
def test_a_flat_ring_is_never_faster_than_the_hierarchy(n: int) -> None:
    for kind in (Collective.ALL_GATHER, Collective.REDUCE_SCATTER):
        flat = flat_collective_times(kind, np.array(3.5e11), np.array(n), np.array(1), NET)
        hierarchical = collective_times(kind, np.array(3.5e11), np.array(n), np.array(1), NET)
        assert float(flat) >= float(hierarchical)


def test_zero3_step_grows_with_model_size_at_fixed_gpus() -> None:
    small = _zero3("megatron-175b-korthikanti", 1536, 1, Recompute.FULL)
    large = _zero3("megatron-530b", 1536, 1, Recompute.FULL)
    assert large.time_s > small.time_s


def test_zero3_step_does_not_fall_in_proportion_to_gpus_at_a_fixed_batch() -> None:
    # Narayanan et al. 2021 Table 2: 175B, batch 1536, 768 -> 1536 GPUs, 88 -> 44 TFLOP/s per
    # GPU: the step time does not fall. The per-GPU gathers do not shrink with more GPUs.
    at_768 = _zero3("megatron-175b-korthikanti", 768, 2, Recompute.FULL)
    at_1536 = _zero3("megatron-175b-korthikanti", 1536, 1, Recompute.FULL)
    assert at_1536.time_s > 0.75 * at_768.time_s


def test_full_recompute_gathers_all_but_the_last_matrix_a_third_time() -> None:
    # RULE ZERO3-SYNC: the last matrix of a checkpointed layer is kept from its recompute to
    # its backward (reuse distance 0). Llama 2 7B (h 4096, FFN 11008, SwiGLU): the MLP-out
    # matrix is 4096 x 11008 of 4 x 4096^2 + 3 x 4096 x 11008, 11008 / 49408 = 0.2228 of the
    # layer; gather and reduce-scatter move the same bytes: (3 - 0.2228 + 1) / (2 + 1).
    full = _zero3("llama2-7b", 64, 1, Recompute.FULL)
    none = _zero3("llama2-7b", 64, 1, Recompute.NONE)
    ratio = (4 - 11008 / 49408) / 3
    assert full.comm_on_link_s["dp"] == pytest.approx(none.comm_on_link_s["dp"] * ratio, rel=0.02)


def test_deepspeed_keeps_at_most_its_live_parameters_gathered() -> None:
    # Narayanan et al. 2021 Table 2 ran the 530B model under ZeRO-3 on 640 A100 80GB at
    # micro-batch 4: with DeepSpeed's 1e9 live parameters (2 GB) it fits; two gathered
    # 5G-parameter layers (20 GB) would not.
    step = _zero3("megatron-530b", 640, 4, Recompute.FULL)
    sharded = 530e9 / 640
    assert step.memory.weights_bytes == pytest.approx(2 * (sharded + 1e9), rel=0.02)


def _timings(
    framework: Framework, gather: float, scatter: float, *, compute: float = 10.0,
    recompute: float = 0.0, zero: int = 3,
) -> tuple[float, float]:  # fmt: skip
    """(on link, exposed) data-parallel seconds of one plan: two micro-batches of
    ``compute`` (10 s) and ``recompute`` seconds over 10 layers, the collectives given (a
    2 s all-reduce)."""
    plan = ParallelPlan(tensor_parallel=1, pipeline_parallel=1, data_parallel=8, zero=zero)
    crit = {"compute": np.array([compute]), "recompute": np.array([recompute]),
            "layers": np.array([10.0])}  # fmt: skip
    times = (np.array([gather]), np.array([scatter]), np.array([2.0]))
    link, exposed = data_parallel_times(
        PlanBatch.from_plans([plan]), crit, np.array([2]), NET, framework, times
    )
    return float(link[0]), float(exposed[0])


def test_backward_prefetch_post_waits_for_every_backward_gather() -> None:
    # Per micro-batch a 1 s gather (forward), the same again (backward) and a 0.5 s
    # reduce-scatter, under 10 s of compute over 10 layers, two micro-batches. Prefetched
    # before each layer's gradients (BACKWARD_PRE) all 2.5 s hide but one layer's share:
    # 2 x 0.25 = 0.5 s exposed. Gathered only after the previous layer's gradients
    # (BACKWARD_POST, Composer's default) the backward's 1 s is waited for whole and the
    # other 1.5 s hide but one layer's share: 2 x (1 + 0.15) = 2.3 s. Both move 2 x 2.5 s.
    post = CATALOG.framework("llm-foundry-2023")
    pre = post.model_copy(update={"zero3_backward_prefetch": "pre"})
    assert _timings(pre, 1.0, 0.5) == pytest.approx((5.0, 0.5))
    assert _timings(post, 1.0, 0.5) == pytest.approx((5.0, 2.3))


def test_llm_foundry_exposes_one_of_its_three_fsdp_collectives() -> None:
    # 8 H100, FSDP FULL_SHARD, micro-batch 2, no recompute (MosaicML's MPT-13B row): the
    # forward gather, the backward gather and the reduce-scatter move the same BF16 bytes,
    # and the backward gather is waited for, so at least a third of the link time shows.
    model = CATALOG.model("llama2-13b")
    plan = ParallelPlan(tensor_parallel=1, pipeline_parallel=1, data_parallel=8, microbatch=2,
                        recompute=Recompute.NONE, zero=3)  # fmt: skip
    step = estimate(
        CATALOG, model, CATALOG.accelerator("h100-sxm"), plan, seq_len=2048, global_batch=16,
        framework_id="llm-foundry-2023",
    )  # fmt: skip
    assert isinstance(step, StepEstimate), step
    assert step.exposed_comm_s["dp"] >= step.comm_on_link_s["dp"] / 3 * 0.999


def test_the_recomputed_forward_hides_data_parallel_traffic_too() -> None:
    # docs/model.md (issue 14, fid-moe): the collectives run beside the compute stream,
    # and a full recompute's forward is compute-stream work inside the backward.
    # ZeRO-3, per micro-batch: 2 s forward gather + 2 s backward gather + 1 s reduce-scatter
    # = 5 s on the link, beside 4 s of forward and backward and 1.5 s of recompute, 10
    # layers, two micro-batches. Under the 4 s alone: 2 x max(5 - 4, 0.5) = 2.0 s exposed;
    # under 4 + 1.5 s: 2 x max(5 - 5.5, 5 / 10) = 1.0 s (one layer's share).
    megatron = CATALOG.framework("megatron-moe-deepep-2025")
    assert _timings(megatron, 2.0, 1.0, compute=4.0) == pytest.approx((10.0, 2.0))
    assert _timings(megatron, 2.0, 1.0, compute=4.0, recompute=1.5) == pytest.approx((10.0, 1.0))
    # ZeRO-1: the last micro-batch's 3 s reduce-scatter under its backward (2/3 of 3 s of
    # compute) and its 0.5 s of recompute: max(3 - 2.5, 0.3) = 0.5 s, plus the 1 s gather
    # under the first forward (1 s, no recompute there): max(1 - 1, 0.1) = 0.1 s. Without
    # the recompute: max(3 - 2, 0.3) + 0.1 = 1.1 s. Both move 3 + 1 = 4 s.
    assert _timings(megatron, 1.0, 3.0, compute=3.0, zero=1) == pytest.approx((4.0, 1.1))
    assert _timings(megatron, 1.0, 3.0, compute=3.0, recompute=0.5, zero=1) == pytest.approx(
        (4.0, 0.6)
    )
