"""The performance model by hand: collectives, memory, pipeline layout, plan rules.

Physical sanity: memory never below the weights, MFU never above 1, step time the sum of
its parts.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from gpuplan import units
from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import AttentionKernel, Model
from gpuplan.model.collectives import Collective, Link, Network, collective_time, p2p_time
from gpuplan.model.kernels import Device, device, gemm_time, tile_efficiency
from gpuplan.model.layer import layer_cost
from gpuplan.model.memory import MemoryEstimate, activation_bytes_per_layer
from gpuplan.model.performance import estimate
from gpuplan.model.plan_check import plan_errors
from gpuplan.model.rules import stage_layers
from gpuplan.model.step import Infeasible, InfeasibleKind, StepEstimate
from gpuplan.scenario.plan import ParallelPlan, Recompute

NET = Network(scaleup=Link(100e9, 0.0), scaleout=Link(10e9, 0.0), domain=8)


def test_ring_all_reduce_by_hand() -> None:
    # 8 ranks inside one domain, 800 MB each: 2 x 7 steps of 100 MB at 100 GB/s = 14 ms.
    assert collective_time(Collective.ALL_REDUCE, 800e6, 8, 1, NET) == pytest.approx(0.014)
    assert collective_time(Collective.ALL_GATHER, 800e6, 8, 1, NET) == pytest.approx(0.007)


def test_sequence_parallel_backward_gathers_the_input_again(catalog: Catalog) -> None:
    # One layer of Llama 3 8B (hidden 4096), TP 8 inside the domain, 2,048 tokens: the
    # activation is 2048 x 4096 x 2 B = 16.8 MB; an all-gather or a reduce-scatter of it
    # takes 7 steps of 16.8 MB / 8 at 100 GB/s = 0.147 ms, an all-reduce twice that.
    # Without SP: 2 all-reduces forward + 2 backward = 4 x 0.294 ms. With SP: 2 (AG + RS)
    # forward + 2 (AG + RS) backward + the 2 all-gathers of the column-parallel linears'
    # saved input shards (Korthikanti et al. 2022 sec. 4.2) = 10 x 0.147 ms; a full
    # recompute adds the forward's 4 again.
    model, h100 = catalog.model("llama3-8b"), catalog.accelerator("h100-sxm")
    dev = device(h100, catalog.efficiency_profile("h100-sxm"), False, 0.9)
    one = 7 * (2048 * 4096 * 2 / 8) / 100e9
    for sp, recompute, collectives in ((False, Recompute.NONE, 8), (True, Recompute.NONE, 10),
                                       (True, Recompute.FULL, 14)):  # fmt: skip
        plan = ParallelPlan(tensor_parallel=8, sequence_parallel=sp, recompute=recompute)
        cost = layer_cost(model, plan, 2048, False, dev, AttentionKernel.FLASH, NET)
        assert cost.tp_s == pytest.approx(collectives * one)


def test_hierarchical_all_reduce_by_hand() -> None:
    # 16 ranks, 8 per domain: inner all-reduce of 800 MB on NVLink (14 ms), then 8 rings
    # over 2 domains of 100 MB each on 10 GB/s NICs: 2 x 1 x 50 MB / 10 GB/s = 10 ms.
    assert collective_time(Collective.ALL_REDUCE, 800e6, 16, 1, NET) == pytest.approx(0.024)


def test_group_spaced_across_domains_uses_the_network() -> None:
    # 4 ranks spaced 8 apart: one per domain, all on the NICs: 2 x 3 x 200 MB / 10 GB/s.
    assert collective_time(Collective.ALL_REDUCE, 800e6, 4, 8, NET) == pytest.approx(0.12)


def test_single_rank_and_empty_messages_cost_nothing() -> None:
    assert collective_time(Collective.ALL_REDUCE, 1e9, 1, 1, NET) == 0
    assert collective_time(Collective.ALL_TO_ALL, 0, 8, 1, NET) == 0
    assert p2p_time(1e9, True, NET) == pytest.approx(0.01)


def test_latency_counts_per_step() -> None:
    slow = Network(Link(100e9, 1e-5), Link(10e9, 1e-5), 8)
    assert collective_time(Collective.ALL_REDUCE, 8.0, 8, 1, slow) == pytest.approx(14e-5, rel=1e-3)


def test_stage_layers_follow_llama3() -> None:
    # Dubey et al. 2024: 126 layers on 16 stages, one fewer on the first and last stage.
    layers = stage_layers(126, 16)
    assert layers[0] == layers[-1] == 7 and set(layers[1:-1]) == {8} and sum(layers) == 126
    assert stage_layers(96, 8) == [12] * 8


def test_tile_efficiency_by_hand() -> None:
    # 256 x 256 output on 4 SMs: 2 tiles of 256x128 fill half a wave -> 1/2; 128x128 tiles
    # make 4 tiles, one full wave -> 1.
    assert tile_efficiency(256, 256, 1, 4) == 1.0
    assert tile_efficiency(200, 128, 1, 4) == pytest.approx(200 * 128 / (4 * 64 * 128))
    assert tile_efficiency(1000, 1000, 1, None) == 1.0


def test_gemm_roofline() -> None:
    dev = Device(1e15, 1e15, ((0.0, 1e15, 1e15),), 1e12, 0.0)
    # Compute-bound: 2 x 4096^3 FLOPs at 1 PFLOP/s.
    assert gemm_time(4096, 4096, 4096, dev) == pytest.approx(2 * 4096**3 / 1e15)
    # Memory-bound: a 1-row GEMM moves the whole weight matrix.
    assert gemm_time(1, 4096, 4096, dev) == pytest.approx(2 * (4096 + 4096**2 + 4096) / 1e12)


def gpt(**changes: object) -> Model:
    base: dict[str, object] = dict(
        id="gpt", name="gpt", kind="llm", params_published_b=1, layers=4, hidden=1024,
        heads=16, kv_heads=16, ffn_hidden=4096, ffn="gelu", vocab=1000, seq_len=2048,
        dropout=True, source="hand-made test model", retrieved="2026-11-27",
    )  # fmt: skip
    base.update(changes)
    return Model.model_validate(base)


def test_activations_match_korthikanti_eq1() -> None:
    # Korthikanti et al. 2022 eq. 1: sbh (34 + 5 a s / h) bytes per layer, no parallelism.
    s, b, h, a = 2048, 1, 1024, 16
    got = activation_bytes_per_layer(gpt(), ParallelPlan(), s, AttentionKernel.UNFUSED, False)
    assert got == pytest.approx(s * b * h * (34 + 5 * a * s / h))


def test_activations_with_tensor_and_sequence_parallel_match_eq4() -> None:
    # Eq. 4 (TP + SP): sbh/t (34 + 5 a s / h); selective recompute drops the s^2 term.
    s, b, h, a, t = 2048, 1, 1024, 16, 4
    plan = ParallelPlan(tensor_parallel=t, sequence_parallel=True)
    got = activation_bytes_per_layer(gpt(), plan, s, AttentionKernel.UNFUSED, False)
    assert got == pytest.approx(s * b * h / t * (34 + 5 * a * s / h))
    selective = ParallelPlan(
        tensor_parallel=t, sequence_parallel=True, recompute=Recompute.SELECTIVE
    )
    got = activation_bytes_per_layer(gpt(), selective, s, AttentionKernel.UNFUSED, False)
    assert got == pytest.approx(34 * s * b * h / t)
    full = ParallelPlan(tensor_parallel=t, sequence_parallel=True, recompute=Recompute.FULL)
    assert activation_bytes_per_layer(gpt(), full, s, AttentionKernel.UNFUSED, False) == (
        pytest.approx(2 * s * b * h / t)
    )


def memory_of(catalog: Catalog, plan: ParallelPlan, global_batch: int) -> MemoryEstimate:
    result = estimate(
        catalog, gpt(), catalog.accelerator("h100-sxm"), plan, seq_len=2048,
        global_batch=global_batch,
    )  # fmt: skip
    assert isinstance(result, StepEstimate)
    return result.memory


def test_model_states_by_hand(catalog: Catalog) -> None:
    # One GPU, no sharding: 2 + 4 + 12 bytes per parameter (BF16 weights, FP32 grads in
    # the default framework profile, FP32 master + Adam moments).
    m = memory_of(catalog, ParallelPlan(), 1)
    layer = 4 * 1024**2 + 2 * 1024 * 4096 + 2 * 1024
    params = 4 * layer + 2 * 1000 * 1024
    assert m.weights_bytes == pytest.approx(2 * params)
    assert m.grads_bytes == pytest.approx(4 * params)
    assert m.optimizer_bytes == pytest.approx(12 * params)


def test_model_states_of_nemo_sft_by_hand(catalog: Catalog) -> None:
    # NeMo 24.07's SFT config: FP8 parameters (1 byte), BF16 gradients (2) and the Adam
    # state (master weights and both moments) in BF16 (3 x 2 = 6): 9 bytes per parameter.
    result = estimate(
        catalog, gpt(), catalog.accelerator("h100-sxm"), ParallelPlan(), seq_len=2048,
        global_batch=1, fp8=True, framework_id="nemo-2024-sft",
    )  # fmt: skip
    assert isinstance(result, StepEstimate)
    layer = 4 * 1024**2 + 2 * 1024 * 4096 + 2 * 1024
    params = 4 * layer + 2 * 1000 * 1024
    assert result.memory.weights_bytes == pytest.approx(1 * params)
    assert result.memory.grads_bytes == pytest.approx(2 * params)
    assert result.memory.optimizer_bytes == pytest.approx(6 * params)


def test_zero_stages_shard_by_hand(catalog: Catalog) -> None:
    mems = [memory_of(catalog, ParallelPlan(data_parallel=8, zero=z), 8) for z in range(4)]
    assert mems[1].optimizer_bytes == pytest.approx(mems[0].optimizer_bytes / 8)
    assert mems[2].grads_bytes == pytest.approx(mems[0].grads_bytes / 8)
    assert mems[3].weights_bytes < mems[0].weights_bytes


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (ParallelPlan(tensor_parallel=3, data_parallel=1), "does not divide heads = 16"),
        (ParallelPlan(pipeline_parallel=8, data_parallel=1), "exceeds layers = 4"),
        (ParallelPlan(data_parallel=3), "not gpus"),
        (ParallelPlan(data_parallel=2, microbatch=3), "not a multiple of microbatch x dp"),
        (ParallelPlan(expert_parallel=2, data_parallel=2), "has no experts"),
        (ParallelPlan(sequence_parallel=True, data_parallel=2), "sequence_parallel needs tp > 1"),
    ],
)
def test_invalid_plans_name_the_rule(plan: ParallelPlan, message: str) -> None:
    errors = plan_errors(plan, gpt(), 2, 8, 2048)
    assert any(message in e for e in errors), errors


def test_plan_that_does_not_fit_is_a_result(catalog: Catalog) -> None:
    result = estimate(
        catalog, catalog.model("llama3-70b"), catalog.accelerator("h100-sxm"),
        ParallelPlan(data_parallel=8), seq_len=8192, global_batch=8,
    )  # fmt: skip
    assert isinstance(result, Infeasible) and result.kind is InfeasibleKind.MEMORY
    assert "GiB per GPU" in result.reason and "79.6 GiB" in result.reason
    assert result.memory is not None and result.memory.total_bytes > 79 * units.GiB


def test_llama3_405b_on_meta_plan(catalog: Catalog) -> None:
    # Dubey et al. 2024 Table 4: 16,384 H100, TP 8, PP 16, DP 128, 8K sequences, 16M-token
    # batches: 400 TFLOP/s per GPU (41% MFU). Our model must land within 15%.
    plan = ParallelPlan(8, 16, 128, interleave=4, recompute=Recompute.SELECTIVE,
                        sequence_parallel=True, zero=2)  # fmt: skip
    result = estimate(
        catalog, catalog.model("llama3-405b"), catalog.accelerator("h100-sxm"), plan,
        seq_len=8192, global_batch=2048,
    )  # fmt: skip
    assert isinstance(result, StepEstimate)
    assert result.memory.total_bytes <= 79.6 * units.GiB
    assert result.mfu == pytest.approx(0.41, rel=0.15)
    assert result.time_s == pytest.approx(
        result.compute_s + result.recompute_s + sum(result.exposed_comm_s.values())
        + result.bubble_s + result.optimizer_s + result.overlap_slowdown_s + result.straggler_s
    )  # fmt: skip


def test_activations_without_sequence_parallel_match_eq2() -> None:
    # Eq. 2 (TP only): sbh (10 + 24/t + 5 a s / (h t)).
    s, b, h, a, t = 2048, 1, 1024, 16, 4
    plan = ParallelPlan(tensor_parallel=t)
    got = activation_bytes_per_layer(gpt(), plan, s, AttentionKernel.UNFUSED, False)
    assert got == pytest.approx(s * b * h * (10 + 24 / t + 5 * a * s / (h * t)))


def _with(catalog: Catalog, *, slowdown: float | None = None, loss_bytes: float | None = None,
          framework: str = "llm-foundry-2023") -> Catalog:  # fmt: skip
    """The catalog with the overlap slowdown or a framework's loss traffic replaced."""
    systems, frameworks = dict(catalog.systems), dict(catalog.frameworks)
    if slowdown is not None:
        parameter = systems["overlap_compute_slowdown"]
        systems[parameter.id] = parameter.model_copy(update={"value": slowdown})
    if loss_bytes is not None:
        record = frameworks[framework]
        frameworks[framework] = record.model_copy(update={"loss_bytes_per_logit": loss_bytes})
    return replace(catalog, systems=systems, frameworks=frameworks)


def test_hidden_communication_slows_compute_by_hand(catalog: Catalog) -> None:
    # FSDP (ZeRO-3) over 64 GPUs hides its gathers and reduce-scatters under compute. During
    # a hidden window of H seconds the compute runs 1 + s times slower: H s / (1 + s) extra.
    plan = ParallelPlan(1, 1, 64, microbatch=2, zero=3)
    model, h100 = catalog.model("llama2-13b"), catalog.accelerator("h100-sxm")

    def run(cat: Catalog) -> StepEstimate:
        result = estimate(cat, model, h100, plan, seq_len=4096, global_batch=128,
                          framework_id="llm-foundry-2023")  # fmt: skip
        assert isinstance(result, StepEstimate)
        return result

    s = catalog.system("overlap_compute_slowdown").value
    with_slowdown, without = run(catalog), run(_with(catalog, slowdown=0.0))
    on_link, exposed = with_slowdown.comm_on_link_s, with_slowdown.exposed_comm_s
    hidden = sum(on_link.values()) - sum(exposed.values())
    assert hidden > 0.1 * with_slowdown.compute_s  # the case is worth testing
    assert with_slowdown.overlap_slowdown_s == pytest.approx(hidden * s / (1 + s))
    assert without.overlap_slowdown_s == 0
    assert with_slowdown.time_s - without.time_s == pytest.approx(hidden * s / (1 + s))


def test_framework_without_overlap_has_no_slowdown(catalog: Catalog) -> None:
    # Megatron-LM 2022 waits for every collective: nothing is hidden, nothing is slowed.
    plan = ParallelPlan(8, 1, 4, microbatch=1, sequence_parallel=True)
    result = estimate(
        catalog, catalog.model("megatron-22b"), catalog.accelerator("a100-80gb"), plan,
        seq_len=2048, global_batch=64, framework_id="megatron-2022",
    )  # fmt: skip
    assert isinstance(result, StepEstimate)
    assert result.comm_on_link_s == result.exposed_comm_s
    assert result.overlap_slowdown_s == 0


def test_interleaved_pipeline_sends_hidden_by_hand(catalog: Catalog) -> None:
    # NeMo's Llama 2 70B layout: TP 4, PP 4, DP 4, 20 virtual chunks, 4K tokens. Each chunk
    # boundary sends 4096 x 8192 x 2 bytes / TP 4 = 16 MiB forward and back; TP x DP x 2 = 32
    # ranks span more than one 8-GPU domain, so the sends cross the 50 GB/s NIC at 90% bus
    # efficiency plus 6 us (efficiency.yaml): per micro-batch 2 x 20 sends, 32 micro-batches.
    model, h100 = catalog.model("llama2-70b"), catalog.accelerator("h100-sxm")
    plan = ParallelPlan(4, 4, 4, interleave=20, sequence_parallel=True, zero=1)
    send_s = 6e-6 + 4096 * 8192 * 2 / 4 / (50e9 * 0.90)
    on_link_s = 32 * 2 * 20 * send_s

    def run(overlap: bool) -> StepEstimate:
        frameworks = dict(catalog.frameworks)
        frameworks["nemo-2024"] = frameworks["nemo-2024"].model_copy(
            update={"overlap_p2p_comm": overlap}
        )
        result = estimate(replace(catalog, frameworks=frameworks), model, h100, plan,
                          seq_len=4096, global_batch=128, framework_id="nemo-2024")  # fmt: skip
        assert isinstance(result, StepEstimate)
        return result

    overlapped, blocking = run(True), run(False)
    assert overlapped.comm_on_link_s["pp"] == pytest.approx(on_link_s)
    assert blocking.comm_on_link_s["pp"] == pytest.approx(on_link_s)
    assert blocking.exposed_comm_s["pp"] == pytest.approx(on_link_s)
    assert overlapped.exposed_comm_s["pp"] == 0.0
    # Hidden sends still slow the compute beside them, so less than all of it is saved.
    assert blocking.time_s - on_link_s < overlapped.time_s < blocking.time_s
    # Without interleaving the sends are exposed whatever the framework says.
    flat = estimate(catalog, model, h100, replace(plan, interleave=1), seq_len=4096,
                    global_batch=128, framework_id="nemo-2024")  # fmt: skip
    assert isinstance(flat, StepEstimate) and flat.exposed_comm_s["pp"] > 0


def test_cross_entropy_traffic_by_hand(catalog: Catalog) -> None:
    # The loss streams loss_bytes_per_logit over tokens x vocab / TP logits per micro-batch
    # on the last stage, at the HBM rate of efficiency.yaml (its kernel launches cancel out
    # in the difference).
    model, h100 = catalog.model("llama3-8b"), catalog.accelerator("h100-sxm")
    tp, mb, seq, batch = 2, 1, 8192, 32
    plan = ParallelPlan(tp, 1, 4, microbatch=mb, sequence_parallel=True, zero=1)
    micro_batches = batch // (mb * 4)

    def compute_s(loss_bytes: float) -> float:
        cat = _with(catalog, loss_bytes=loss_bytes, framework="nemo-2024")
        result = estimate(cat, model, h100, plan, seq_len=seq, global_batch=batch,
                          framework_id="nemo-2024")  # fmt: skip
        assert isinstance(result, StepEstimate)
        return result.compute_s

    profile = catalog.efficiency_profile("h100-sxm")
    hbm = h100.hbm_bytes_per_s * profile.hbm
    per_mb = 52 * mb * seq * model.vocab / tp / hbm
    assert compute_s(52) - compute_s(0) == pytest.approx(micro_batches * per_mb, rel=1e-9)


def test_packed_samples_shorten_the_attention_core_not_the_gemms(catalog: Catalog) -> None:
    # Llama 2 7B, 4,096 tokens: packed with 226-token samples (NeMo's SQuAD SFT rows) each
    # query attends to (226 + 1) / 2 keys instead of (4096 + 1) / 2, so the fused kernel's
    # FLOPs shrink 18x; the GEMMs and their TP traffic are the same. The kernel then runs at
    # its rate for 226-token sequences, which is no faster than at 4,096 (the measured
    # curve rises with length), so the core takes at least 113.5 / 2048.5 of its time.
    model, h100 = catalog.model("llama2-7b"), catalog.accelerator("h100-sxm")
    dev = device(h100, catalog.efficiency_profile("h100-sxm"), False, 0.9)
    plan = ParallelPlan(tensor_parallel=2, sequence_parallel=True)
    full = layer_cost(model, plan, 4096, False, dev, AttentionKernel.FLASH, NET)
    packed_model = model.model_copy(update={"packed_sample_tokens": 226})
    packed = layer_cost(packed_model, plan, 4096, False, dev, AttentionKernel.FLASH, NET)
    assert packed.attention_s < full.attention_s
    assert packed.attention_s >= full.attention_s * 113.5 / 2048.5
    saved = full.attention_s - packed.attention_s
    total_full, total_packed = (
        full.forward_s + full.backward_s,
        packed.forward_s + packed.backward_s,
    )
    assert total_full - total_packed == pytest.approx(saved)
    assert packed.tp_s == full.tp_s
