"""FLOP and parameter counts: hand derivations and published totals.

Physical sanity: FLOPs are positive, HFU work >= MFU work, attention grows with sequence.
"""

from __future__ import annotations

import pytest

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import Model
from gpuplan.catalog.shapes import parameter_count, video_tokens_per_sample
from gpuplan.model.flops import (
    AttentionMask,
    forward_flops_per_token,
    hardware_flops_per_token,
    six_nd,
    training_flops_per_token,
)
from gpuplan.scenario.plan import Recompute


def tiny(**changes: object) -> Model:
    base: dict[str, object] = dict(
        id="tiny",
        name="tiny",
        kind="llm",
        params_published_b=0.001,
        layers=2,
        hidden=8,
        heads=2,
        kv_heads=2,
        ffn_hidden=32,
        ffn="gelu",
        vocab=10,
        seq_len=4,
        source="hand-made test model",
        retrieved="2026-11-27",
    )
    base.update(changes)
    return Model.model_validate(base)


def test_tiny_dense_model_by_hand() -> None:
    # h=8, 2 layers, MHA head size 4, GELU f=32, V=10, untied, s=4, causal.
    # Per layer: QKV 2*8*(8+8+8)=384, out 2*8*8=128, MLP 2*2*8*32=1024.
    # Scores: 4 * s_eff * H*d with s_eff=(4+1)/2=2.5 -> 4*2.5*8 = 80.
    # Logits 2*8*10 = 160.  Total forward = 2*(384+128+1024+80) + 160 = 3392.
    f = forward_flops_per_token(tiny(), seq_len=4)
    assert f.attention_projections == 2 * (384 + 128)
    assert f.mlp == 2 * 1024
    assert f.attention_scores == 2 * 80
    assert f.logits == 160
    assert f.total == 3392
    assert training_flops_per_token(tiny(), 4) == 3 * 3392


def test_tiny_params_by_hand() -> None:
    # Per layer: attention 4*8*8=256, MLP 2*8*32=512; embeddings 2*10*8=160.
    p = parameter_count(tiny())
    assert p.total == 2 * (256 + 512) + 160
    assert p.embedding == 160
    tied = parameter_count(tiny(tied_embeddings=True))
    assert tied.total == p.total - 80


def test_gqa_and_swiglu_by_hand() -> None:
    # kv_heads=1 halves... K and V shrink to h*d each: QKV = 8*8 + 2*8*4 = 128, out 64.
    # SwiGLU has 3 matrices: 3*8*32 = 768.
    p = parameter_count(tiny(kv_heads=1, ffn="swiglu"))
    assert p.total == 2 * (128 + 64 + 768) + 160


def test_bidirectional_attention_costs_about_twice_causal() -> None:
    model = tiny()
    causal = forward_flops_per_token(model, 1000, AttentionMask.CAUSAL).attention_scores
    full = forward_flops_per_token(model, 1000, AttentionMask.BIDIRECTIONAL).attention_scores
    assert full / causal == pytest.approx(2 * 1000 / 1001)


def test_moe_counts_active_experts_only() -> None:
    moe = {"experts": 8, "top_k": 2, "expert_ffn_hidden": 32}
    dense = parameter_count(tiny(ffn="swiglu"))
    sparse = parameter_count(tiny(ffn="swiglu", moe=moe))
    expert = 3 * 8 * 32
    router = 8 * 8
    assert sparse.total - dense.total == pytest.approx(2 * (7 * expert + router))
    assert sparse.active - dense.active == pytest.approx(2 * (1 * expert + router))


@pytest.mark.parametrize("recompute", list(Recompute))
def test_hardware_flops_never_below_model_flops(recompute: Recompute) -> None:
    model = tiny()
    assert hardware_flops_per_token(model, 4, recompute) >= training_flops_per_token(model, 4)


def test_full_recompute_adds_one_forward_of_the_layers() -> None:
    model = tiny()
    f = forward_flops_per_token(model, 4)
    assert hardware_flops_per_token(model, 4, Recompute.FULL) == 3 * f.total + f.layers


def test_gpt3_training_flops_match_the_paper(catalog: Catalog) -> None:
    # Brown et al. 2020, Table D.1: 3.14e23 FLOPs for 175B on 300B tokens.
    model = catalog.model("gpt3-175b")
    total = training_flops_per_token(model, 2048) * 300e9
    assert total == pytest.approx(3.14e23, rel=0.03)


def test_llama3_405b_training_flops_match_meta(catalog: Catalog) -> None:
    # Dubey et al. 2024 sec. 3.2.1: 3.8e25 FLOPs, 15.6T tokens, context 8192.
    model = catalog.model("llama3-405b")
    total = training_flops_per_token(model, 8192) * 15.6e12
    assert total == pytest.approx(3.8e25, rel=0.06)
    # 6ND is the independent cross-check: within the attention term (~4% at 8K).
    assert total / six_nd(405e9, 15.6e12) == pytest.approx(1.04, abs=0.03)


def test_deepseek_v3_active_flops_follow_37b_active(catalog: Catalog) -> None:
    # DeepSeek-V3 report: 37B activated parameters per token (MTP module excluded).
    model = catalog.model("deepseek-v3")
    p = parameter_count(model)
    assert p.active == pytest.approx(37e9, rel=0.05)
    assert p.total == pytest.approx(671e9, rel=0.03)
    # By hand at 4K context: 6 x (active - input embedding 129280 x 7168) for the matmuls,
    # plus causal MLA attention 3 x 2 x 2048.5 x 128 heads x (192 + 128) x 61 layers.
    expected = 6 * (p.active - 129_280 * 7168) + 3 * 2 * 2048.5 * 128 * 320 * 61
    assert training_flops_per_token(model, 4096) == pytest.approx(expected, rel=0.01)


def test_llm_parameter_counts_match_published(catalog: Catalog) -> None:
    # Published sizes are rounded names ("7B" is 6.7B): 5% covers rounding, not errors.
    for model in catalog.models.values():
        if model.kind.value != "llm":
            continue
        p = parameter_count(model)
        assert p.total / 1e9 == pytest.approx(model.params_published_b, rel=0.05), model.id
        if model.active_params_published_b is not None:
            assert p.active / 1e9 == pytest.approx(model.active_params_published_b, rel=0.05)


def test_movie_gen_video_tokens(catalog: Catalog) -> None:
    # Polyak et al. 2024: a 16 s, 16 fps clip is about 73K tokens after the 8x TAE.
    model = catalog.model("movie-gen-30b")
    assert video_tokens_per_sample(model) == pytest.approx(73_000, rel=0.02)


def test_video_attention_dominates_at_long_sequences(catalog: Catalog) -> None:
    model = catalog.model("movie-gen-30b")
    f = forward_flops_per_token(model, video_tokens_per_sample(model))
    assert f.logits == 0
    assert f.attention_scores > f.mlp  # seq^2 term wins at 73K bidirectional tokens


def test_flops_need_a_positive_sequence() -> None:
    with pytest.raises(ValueError, match="seq_len"):
        forward_flops_per_token(tiny(), 0)


def test_packed_samples_confine_attention_to_one_sample_by_hand() -> None:
    # tiny (H*d = 8), sequence of 4096 tokens packed with samples of 3 tokens: each query
    # attends within its sample, s_eff = (3 + 1) / 2 = 2 keys, not (4096 + 1) / 2.
    # Scores per layer: 4 * 2 * 8 = 64, two layers: 2 * 64 = 128. The GEMMs do not
    # change: projections 2 * (384 + 128) as unpacked.
    packed = forward_flops_per_token(tiny(packed_sample_tokens=3), seq_len=4096)
    assert packed.attention_scores == 2 * 64
    assert packed.attention_projections == 2 * (384 + 128)
    # A sample as long as the sequence (or longer) is the unpacked sequence.
    unpacked = forward_flops_per_token(tiny(), seq_len=4096)
    assert forward_flops_per_token(tiny(packed_sample_tokens=8192), seq_len=4096) == unpacked
    assert unpacked.attention_scores == 2 * (4 * 2048.5 * 8)  # two layers


def test_a_steps_flops_are_each_modes_hardware_flops(catalog: Catalog) -> None:
    """flops.step_flops computes the training FLOPs and the recomputed forward once for all
    recompute modes: each mode's figure is, to the bit, ``tokens`` times hardware_flops of
    that mode (3 forwards plus none, the scores or the layers; hand derivation on tiny),
    for dense, MoE, MLA and video models."""
    from gpuplan.model.flops import hardware_flops, step_flops, training_flops

    model = tiny()
    f = forward_flops_per_token(model, 4)
    total, modes = step_flops(model, 4, 10.0, (Recompute.NONE, Recompute.SELECTIVE,
                                               Recompute.FULL))  # fmt: skip
    assert total == 10.0 * 3 * f.total
    assert modes == (10.0 * 3 * f.total, 10.0 * (3 * f.total + f.attention_scores),
                     10.0 * (3 * f.total + f.layers))  # fmt: skip
    for model_id in ("llama3-405b", "qwen3-235b-a22b", "deepseek-v3", "open-sora-2-11b"):
        model = catalog.model(model_id)
        forward = forward_flops_per_token(model, 4096)
        order = (Recompute.FULL, Recompute.NONE, Recompute.SELECTIVE)
        total, modes = step_flops(model, 4096, 3.0e6, order)
        assert total == 3.0e6 * training_flops(forward)
        assert modes == tuple(3.0e6 * hardware_flops(forward, mode) for mode in order)
