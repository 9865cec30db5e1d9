"""Meta's Llama 3 405B stack (frameworks.yaml meta-llama3-2024; Dubey et al. 2024 sec. 3.3):
chunks that hold only the embedding or only the loss, and ZeRO-2 gradients in FP32."""

from __future__ import annotations

from gpuplan.catalog import Catalog
from gpuplan.model.rules import Context, edge_chunks, rule_errors
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario

RULE = "exceeds layers"


def test_embedding_and_loss_chunks_allow_two_chunks_beyond_the_layers(catalog: Catalog) -> None:
    # 126 layers on 16 stages, one layer fewer on the first and the last: 8 slots per stage,
    # 128 chunks of one slot, the first only the embedding and the last only the loss
    # (Dubey et al. 2024 sec. 3.3.2). Without such chunks every one of them needs a layer.
    llama = catalog.model("llama3-405b")
    meta = catalog.framework("meta-llama3-2024")
    megatron = catalog.framework("megatron-core-2024")
    assert (edge_chunks(meta), edge_chunks(megatron)) == (2, 0)

    def errors(framework_chunks: int, interleave: int) -> list[str]:
        context = Context(llama, 16384, 2048, 8192, edge_chunks=framework_chunks)
        return rule_errors(context, {"pp": 16, "interleave": interleave})

    assert not any(RULE in e for e in errors(2, 8))  # 16 x 8 = 128 = 126 + 2
    assert any("= 128 exceeds layers = 126" in e for e in errors(0, 8))
    assert any("126 + 2 embedding and loss chunks" in e for e in errors(2, 9))  # 144
    assert not any(RULE in e for e in errors(0, 7))  # 112 <= 126


def _llama3_16k(framework: str, interleave: int) -> dict[str, object]:
    return {
        "model": "llama3-405b",
        "hardware": "h100-sxm",
        "gpus": 16384,
        "cluster": "meta-roce-24k",
        "framework": framework,
        "training": {"tokens": 1e12, "global_batch": 2048, "seq_len": 8192},
        "parallelism": {"tp": 8, "cp": 1, "pp": 16, "dp": 128, "ep": 1, "microbatch": 1,
                        "interleave": interleave, "recompute": "none", "zero": 2,
                        "sequence_parallel": True},
    }  # fmt: skip


def test_meta_stack_runs_one_layer_per_chunk(catalog: Catalog) -> None:
    result = plan(parse_scenario(_llama3_16k("meta-llama3-2024", 8)), catalog)
    assert result.step is not None and result.infeasible is None
    refused = plan(parse_scenario(_llama3_16k("modern", 8)), catalog)
    assert refused.step is None and refused.infeasible is not None
    assert "exceeds layers = 126" in refused.infeasible.reason


def test_fsdp_without_reshard_keeps_weights_whole_and_shards_fp32_gradients(
    catalog: Catalog,
) -> None:
    # A middle stage of 8 layers under TP 8, by hand from the shape (hidden 16,384, 128
    # query heads and 8 KV heads of 128, SwiGLU FFN 53,248): per layer the attention
    # h (q + 2 kv) + q h = 16384 x 18432 + 16384 x 16384, the MLP 3 h f, two norms 2 h.
    h, q, kv, f = 16384, 16384, 1024, 53248
    per_layer = h * (q + 2 * kv) + q * h + 3 * h * f + 2 * h
    params = 8 * per_layer / 8  # 8 layers over TP 8
    result = plan(parse_scenario(_llama3_16k("meta-llama3-2024", 8)), catalog)
    assert result.step is not None
    memory = result.step.memory
    # 'shards optimizer states and gradients, but ... do not reshard after forward'
    # (sec. 3.3.2): BF16 weights whole; FP32 gradients (sec. 3.3.2 'Numerical stability')
    # and the 12-byte Adam state over the 128 data-parallel ranks.
    assert abs(memory.weights_bytes / (2 * params) - 1) < 0.01
    assert abs(memory.grads_bytes / (4 * params / 128) - 1) < 0.01
    assert abs(memory.optimizer_bytes / (12 * params / 128) - 1) < 0.01
