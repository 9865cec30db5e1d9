"""Video diffusion transformers: MMDiT parameter counts, the clip in the scenario, staged
runs, inline video models, encoder costs and the absence of a text-LLM loss.

Golden values are hand derivations written here or published figures, never the code's.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from gpuplan.catalog import Catalog
from gpuplan.catalog.shapes import parameter_count, video_tokens_per_sample
from gpuplan.cli.flags import scenario_mapping
from gpuplan.errors import ScenarioError
from gpuplan.model.flops import forward_flops_per_token
from gpuplan.planning import run as run_module
from gpuplan.planning.encoders import vae_attention_seconds
from gpuplan.planning.run import plan
from gpuplan.planning.stages import stage_scenario
from gpuplan.reliability.plan_checkpoint import TimeToTrainRank
from gpuplan.scenario.parse import parse_scenario
from gpuplan.scenario.resolve import resolve

# A fixed plan keeps these tests fast and their plans comparable.
FIXED = {"tp": 1, "pp": 1, "cp": 1, "ep": 1, "microbatch": 1, "interleave": 1,
         "recompute": "full", "sequence_parallel": False, "zero": 3}  # fmt: skip


def test_open_sora_params_from_mmdit_shapes(catalog: Catalog) -> None:
    # FLUX.1 / Open-Sora 2.0 blocks by hand (h 3072, MLP 4h GELU, 19 double + 38 single):
    # a plain block holds 4h^2 (QKV, out) + 2hf (MLP); a double block two of them (video and
    # text streams) and 2 x 6h^2 of adaLN modulation; a single block one and 3h^2.
    h, f = 3072, 12288
    plain = 4 * h * h + 2 * h * f
    double, single = 2 * plain + 12 * h * h, plain + 3 * h * h
    patch = 2 * 64 * h  # 16 latent channels x 2 x 2 in, and out
    by_hand = 19 * double + 38 * single + patch
    p = parameter_count(catalog.model("open-sora-2-11b"))
    assert p.total == pytest.approx(by_hand, rel=1e-12)
    # Published "11B" in base 1024 (maintainers, hpcaitech/Open-Sora issue #832: ~11.07B).
    assert p.total == pytest.approx(11.07 * 2**30, rel=0.03)
    assert p.total == pytest.approx(11 * 2**30, rel=0.03)


def test_movie_gen_params_with_cross_attention(catalog: Catalog) -> None:
    # Polyak et al. 2024 Table 1: 48 layers, 6144 wide, FFN 16384 SwiGLU, cross-attention.
    h, f = 6144, 16384
    by_hand = 48 * (4 * h * h + 4 * h * h + 3 * h * f) + 2 * 16 * 4 * h
    p = parameter_count(catalog.model("movie-gen-30b"))
    assert p.total == pytest.approx(by_hand, rel=1e-12)
    assert p.total == pytest.approx(30e9, rel=0.05)


def _scenario(**training: Any) -> dict[str, Any]:
    return {"model": "movie-gen-30b", "hardware": "h100-sxm", "gpus": 64,
            "training": {"samples": 1e5, "global_batch": 64, **training}}  # fmt: skip


def _per_clip(catalog: Catalog, frames: int) -> tuple[float, float]:
    """Attention-score FLOPs and linear-layer FLOPs of one clip's forward."""
    clip = {"frames": frames, "height": 256, "width": 256}
    r = resolve(parse_scenario(_scenario(clip=clip)), catalog)
    f = forward_flops_per_token(r.model, r.seq_len)
    linear = f.attention_projections + f.mlp
    return f.attention_scores * r.seq_len, linear * r.seq_len


def test_doubling_frames_quadruples_attention_and_doubles_linears(catalog: Catalog) -> None:
    # 8x TAE: 128 frames -> 16 latent frames, 256 frames -> 32: tokens double exactly, so
    # the s^2 attention work per clip is 4x and the per-token linear work 2x.
    attention_1, linear_1 = _per_clip(catalog, 128)
    attention_2, linear_2 = _per_clip(catalog, 256)
    assert attention_2 / attention_1 == pytest.approx(4.0, rel=1e-9)
    assert linear_2 / linear_1 == pytest.approx(2.0, rel=1e-9)


def test_clip_sets_the_latent_tokens(catalog: Catalog) -> None:
    # 16 s at 16 fps, 768 x 768 px: 256/8 latent frames x (768/16)^2 = 32 x 48 x 48.
    data = _scenario(clip={"seconds": 16, "fps": 16, "height": 768, "width": 768})
    r = resolve(parse_scenario(data), catalog)
    assert r.seq_len == 32 * 48 * 48 == video_tokens_per_sample(r.model)
    assert r.model.video is not None and r.model.video.frames == 256


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (_scenario(clip={"frames": 16, "seconds": 1, "fps": 16}), "training.clip"),
        (_scenario(clip={"seconds": 4}), "training.clip"),
        (_scenario(clip={"frames": 0}), "training.clip.frames"),
        ({**_scenario(clip={"frames": 16}), "model": "llama3-8b"}, "training.clip"),
    ],
)
def test_bad_clips_name_the_field(catalog: Catalog, data: dict[str, Any], field: str) -> None:
    with pytest.raises(ScenarioError) as info:
        resolve(parse_scenario(data), catalog)
    assert str(info.value).startswith(field)


def test_clip_flags_set_the_clip() -> None:
    data = scenario_mapping(None, {"--frames": "64", "--height": "256", "--model": "m"})
    assert data["training"]["clip"] == {"frames": 64, "height": 256}


def _open_sora_inline(catalog: Catalog) -> dict[str, Any]:
    model = catalog.model("open-sora-2-11b")
    keys = ("layers", "hidden", "heads", "kv_heads", "head_dim", "ffn_hidden", "ffn", "vocab",
            "position", "norm")  # fmt: skip
    inline = {k: getattr(model, k) for k in keys}
    inline["video"] = model.video.model_dump() if model.video else None
    return {"name": "my-mmdit", "kind": "video-dit", **inline}


def test_inline_video_model_matches_the_catalog_one(catalog: Catalog) -> None:
    inline = _open_sora_inline(catalog)
    clip = {"frames": 33, "height": 256, "width": 256}
    base = {"hardware": "h100-sxm", "gpus": 8, "parallelism": {**FIXED, "dp": 8},
            "training": {"samples": 1e4, "global_batch": 8, "clip": clip}}  # fmt: skip
    mine = plan(parse_scenario({**base, "model": inline}), catalog).to_dict()
    theirs = plan(parse_scenario({**base, "model": "open-sora-2-11b"}), catalog).to_dict()
    assert mine["model"]["params"] == theirs["model"]["params"]
    assert mine["fits"] and theirs["fits"]
    assert mine["step"]["time_s"] == pytest.approx(theirs["step"]["time_s"], rel=1e-12)


def test_inline_video_model_needs_its_video_block(catalog: Catalog) -> None:
    inline = _open_sora_inline(catalog)
    del inline["video"]
    data = {"model": inline, "hardware": "h100-sxm", "gpus": 8}
    with pytest.raises(ScenarioError, match="video block"):
        parse_scenario(data)


def test_video_model_has_no_text_llm_loss(catalog: Catalog) -> None:
    data = plan(parse_scenario(_scenario()), catalog).to_dict()
    assert data["fits"]
    assert data["scaling"]["predicted_loss"] is None
    assert "No validated video scaling law" in data["scaling"]["note"]
    assert any("No validated video scaling law" in a for a in data["assumptions"])


# Open-Sora 2.0's frozen encoders for one clip of 33 frames at 256 x 256 px, by hand from
# models.yaml's published-config figures: T5-XXL + CLIP-L text towers (4.9e9 parameters) over
# 512 text tokens, 2 P t = 5.0176e12 FLOPs; the HunyuanVideo VAE encoder at 9.06e6 FLOPs per
# pixel over 33 x 256 x 256 = 2,162,688 pixels = 1.95940e13 FLOPs.
OPEN_SORA_TEXT_FLOPS = 2 * 4.9e9 * 512
OPEN_SORA_VAE_FLOPS = 9.06e6 * 33 * 256 * 256
VAE_FRACTION = 0.1825  # systems.yaml vae_encoder_peak_fraction (median of two measurements)
H100_PEAK = 989.4e12  # dense BF16, accelerators.yaml h100-sxm
# its memory-bound passes: 20,742 bytes per pixel (models.yaml) at the H100's achieved HBM
# bandwidth, 0.90 x 3.35 TB/s (efficiency.yaml hbm, accelerators.yaml)
OPEN_SORA_VAE_BYTES = 20742 * 33 * 256 * 256
H100_HBM = 0.90 * 3.35e12
# the VAE's mid-block attention (docs/model.md RULE VAE-ATTENTION): 9 latent frames x 32 x 32
# positions, one 512-wide head, 4 s^2 w FLOPs; its seconds are test_vae_attention.py's
OPEN_SORA_VAE_ATTENTION_FLOPS = 4 * (9 * 32 * 32) ** 2 * 512


def _attention_s(catalog: Catalog, base: dict[str, Any], per_call: int | None) -> float:
    """The VAE attention's seconds per clip of the scenario's model and clip."""
    r = resolve(parse_scenario(base), catalog)
    return vae_attention_seconds(catalog, r.model, r.accelerator.id, r.framework, per_call)


def _raw_and_cached(catalog: Catalog, base: dict[str, Any]) -> tuple[dict, dict]:
    raw = plan(parse_scenario(base), catalog).to_dict()  # Open-Sora encodes online
    cached = dict(base, training={**base["training"], "precomputed_latents": True})
    return raw, plan(parse_scenario(cached), catalog).to_dict()


def test_raw_clips_pay_for_the_encoders(catalog: Catalog) -> None:
    """Pure data parallelism on 8 H100, 10,000 clips: each GPU encodes 1,250. Per clip the
    text encoders take 5.0176e12 / (u x 989.4e12) s at the transformer's utilisation u,
    and the VAE encoder by its roofline 1.95940e13 / (0.1825 x 989.4e12) = 0.108515 s of
    convolutions plus 4.48586e10 bytes / 3.015e12 B/s = 0.014878 s of memory-bound passes,
    0.123393 s; the cached-latent run pays neither, and the step is the same."""
    base = {"model": "open-sora-2-11b", "hardware": "h100-sxm", "gpus": 8,
            "parallelism": {**FIXED, "dp": 8},
            "training": {"samples": 1e4, "global_batch": 8,
                         "clip": {"frames": 33, "height": 256, "width": 256}}}  # fmt: skip
    raw, pre = _raw_and_cached(catalog, base)
    assert raw["step"]["time_s"] == pre["step"]["time_s"]  # the transformer's step
    assert raw["run"]["model_flops"] - pre["run"]["model_flops"] == pytest.approx(
        1e4 * (OPEN_SORA_TEXT_FLOPS + OPEN_SORA_VAE_FLOPS + OPEN_SORA_VAE_ATTENTION_FLOPS),
        rel=1e-9,
    )  # the model FLOPs count the encoders once
    per_clip = (raw["run"]["compute_days"] - pre["run"]["compute_days"]) * 86400 * 8 / 1e4
    u = pre["step"]["mfu"]
    vae_s = per_clip - OPEN_SORA_TEXT_FLOPS / (u * H100_PEAK)
    attention = _attention_s(catalog, base, 1)  # one clip per encoder call
    assert vae_s - attention == pytest.approx(0.123393, rel=1e-5)
    by_hand = OPEN_SORA_VAE_FLOPS / (VAE_FRACTION * H100_PEAK) + OPEN_SORA_VAE_BYTES / H100_HBM
    assert vae_s == pytest.approx(by_hand + attention, rel=1e-9)
    note = next(a for a in raw["assumptions"] if a.startswith("Video model: VAE encoder"))
    assert "the VAE by a roofline: its causal 3D convolutions at 18.2% of the dense" in note
    assert "at the chip's achieved HBM bandwidth" in note
    assert "text encoders (transformers) at the transformer's utilisation" in note
    assert "vae_encoder_peak_fraction" in {s["used_for"] for s in raw["sources"]}
    assert "vae_encoder_peak_fraction" not in {s["used_for"] for s in pre["sources"]}


def test_the_search_ranks_plans_by_the_vae_roofline(catalog: Catalog) -> None:
    """The time-to-train rank (reliability.plan_checkpoint.TimeToTrainRank) charges each
    rank's clips the same VAE seconds the run is accounted with: per token of a 33 x 256 x
    256 clip on an H200, (1.95940e13 / (0.1825 x 989.4e12) + 4.48586e10 / (0.90 x 4.8e12))
    / tokens = 0.118898 s / tokens."""
    base = {"model": "open-sora-2-11b", "hardware": "h200", "gpus": 8,
            "training": {"samples": 1e4, "global_batch": 8,
                         "clip": {"frames": 33, "height": 256, "width": 256}}}  # fmt: skip
    r = resolve(parse_scenario(base), catalog)
    rank = run_module._options(r, catalog).rank_by
    assert isinstance(rank, TimeToTrainRank)
    per_clip = OPEN_SORA_VAE_FLOPS / (VAE_FRACTION * H100_PEAK) + OPEN_SORA_VAE_BYTES / (
        0.90 * 4.8e12
    )  # the H200's peak is the H100's
    assert per_clip == pytest.approx(0.118898, rel=1e-5)
    attention = _attention_s(catalog, base, None)  # the per-call mask costs left out
    assert rank.vae_s_per_token == pytest.approx((per_clip + attention) / r.seq_len, rel=1e-12)


def test_a_slower_vae_makes_a_longer_run(catalog: Catalog) -> None:
    """The VAE's rate only moves the time: halving it lengthens the raw-clip run, leaves
    its model FLOPs and step alone, and does nothing to a run on cached latents."""
    base = {"model": "open-sora-2-11b", "hardware": "h200", "gpus": 8,
            "parallelism": {**FIXED, "dp": 8},
            "training": {"samples": 1e4, "global_batch": 8,
                         "clip": {"frames": 65, "height": 256, "width": 256}}}  # fmt: skip
    rate = catalog.systems["vae_encoder_peak_fraction"]
    systems = dict(catalog.systems)
    systems[rate.id] = rate.model_copy(update={"value": rate.value / 2})
    slow = dataclasses.replace(catalog, systems=systems)
    raw, pre = _raw_and_cached(catalog, base)
    raw_slow, pre_slow = _raw_and_cached(slow, base)
    assert raw_slow["run"]["compute_days"] > raw["run"]["compute_days"]
    assert raw_slow["run"]["model_flops"] == raw["run"]["model_flops"]
    assert raw_slow["step"]["time_s"] == raw["step"]["time_s"]
    assert pre_slow["run"]["compute_days"] == pre["run"]["compute_days"]


def test_every_context_parallel_rank_encodes_the_whole_clip(catalog: Catalog) -> None:
    """Open-Sora 2.0's loop runs the VAE and text encoders on the whole batch on every rank
    of a sequence-parallel group (scripts/diffusion/train.py). With CP 4 the encoders' time
    is paid 4 times, their FLOPs counted once: per clip the run takes T / (u P) for the
    transformer (T its FLOPs per clip) plus 4 x (E_text / (u P) + E_vae / (0.1825 P) +
    B_vae / (0.90 x 3.35e12)), so raw / cached - 1 = 4 (E_text + E_vae u / 0.1825 +
    B_vae u P / 3.015e12) / T."""
    base = {"model": "open-sora-2-11b", "hardware": "h100-sxm", "gpus": 8,
            "parallelism": {**FIXED, "cp": 4, "dp": 2, "zero": 2},
            "training": {"samples": 1e4, "global_batch": 2,
                         "clip": {"frames": 33, "height": 256, "width": 256}}}  # fmt: skip
    raw, pre = _raw_and_cached(catalog, base)
    assert raw["step"]["time_s"] == pre["step"]["time_s"]  # the transformer's step
    transformer = pre["run"]["model_flops"] / 1e4  # T per clip
    share = (OPEN_SORA_TEXT_FLOPS + OPEN_SORA_VAE_FLOPS) / transformer
    assert share > 0.05  # 33 frames at 256 px: VAE and T5 are a real part of the work
    u = pre["step"]["mfu"]
    vae = OPEN_SORA_VAE_FLOPS * u / VAE_FRACTION + OPEN_SORA_VAE_BYTES * u * H100_PEAK / H100_HBM
    vae += _attention_s(catalog, base, 1) * u * H100_PEAK  # one clip per call and rank
    expected = 4 * (OPEN_SORA_TEXT_FLOPS + vae) / transformer
    days = raw["run"]["compute_days"] / pre["run"]["compute_days"]
    assert days - 1 == pytest.approx(expected, rel=1e-9)
    assert any("each of the 4 ranks" in a for a in raw["assumptions"])
    assert not any("each of the" in a for a in pre["assumptions"])


STAGED = {
    "model": "open-sora-2-11b", "hardware": "h100-sxm", "gpus": 16,
    "parallelism": FIXED,
    "training": {"global_batch": 16},
    "stages": [
        {"name": "low", "clip": {"frames": 33, "height": 256, "width": 256}, "steps": 200},
        {"name": "high", "clip": {"frames": 33, "height": 512, "width": 512}, "samples": 800,
         "gpus": 32, "global_batch": 32},
    ],
}  # fmt: skip


def test_staged_totals_are_the_sums_of_the_stages(catalog: Catalog) -> None:
    scenario = parse_scenario(STAGED)
    staged = plan(scenario, catalog).to_dict()
    assert scenario.stages is not None
    alone = [plan(stage_scenario(scenario, s), catalog).to_dict() for s in scenario.stages]
    assert [s["run"]["samples"] for s in alone] == pytest.approx([200 * 16, 800])
    for block, key in [("run", "days"), ("run", "gpu_hours"), ("run", "model_flops"),
                       ("run", "tokens"), ("energy", "mwh"), ("emissions", "tco2e"),
                       ("cost", "amortized_usd"), ("cost", "cloud_usd")]:  # fmt: skip
        total = sum(one[block][key] for one in alone)
        assert staged[block][key] == pytest.approx(total, rel=1e-12), (block, key)
        assert [s[block][key] for s in staged["stages"]] == [one[block][key] for one in alone]
    assert staged["power"]["peak_it_w"] == max(one["power"]["peak_it_w"] for one in alone)
    assert [s["gpus"] for s in staged["stages"]] == [16, 32]
    assert staged["stages"][1]["clip"]["latent_tokens"] == 9 * 32 * 32  # 33 -> 9 frames


def test_a_stage_that_does_not_fit_makes_the_run_infeasible(catalog: Catalog) -> None:
    data = dict(STAGED, stages=[*STAGED["stages"], {"name": "huge", "gpus": 1, "steps": 1,
                                                      "global_batch": 1}])  # fmt: skip
    result = plan(parse_scenario(data), catalog).to_dict()
    assert not result["fits"]
    assert result["infeasible_reason"].startswith("huge: ")
    assert result["run"] is None


def test_stage_needs_one_length() -> None:
    data = dict(STAGED, stages=[{"name": "x", "steps": 1, "samples": 2}])
    with pytest.raises(ScenarioError, match="stages"):
        parse_scenario(data)


def test_demo_shows_the_seed_video_claims_as_video_runs(catalog: Catalog) -> None:
    from gpuplan.studies.video_seed import video_seed_runs

    runs = {r["cluster"]: r for r in video_seed_runs(catalog, 90.0)}
    assert set(runs) == {"stability-video-700", "veo3-tpu-2000", "veo3-tpu-4000"}
    assert all(r["fits"] and r["model"]["clip"] is not None for r in runs.values())
    assert all("No validated video scaling law" in r["loss_note"] for r in runs.values())
    veo = runs["veo3-tpu-2000"]["numbers"]["run.gpu_hours"]
    # 90 days on 2,000 to 4,000 chips: the band spans the GPU count, about 2x end to end.
    assert 2000 * 24 * 90 * 0.9 < veo["p10"] < veo["p50"] < veo["p90"] <= 4000 * 24 * 90 * 1.01
    # The same days on 6,144 H100 buy Movie Gen more clips than 700 H100 buy an 11B model.
    clips = {k: r["numbers"]["run.samples"]["p50"] for k, r in runs.items()}
    assert clips["veo3-tpu-4000"] > clips["stability-video-700"]


def test_ulysses_all_to_all_volume_by_hand(catalog: Catalog) -> None:
    from gpuplan.model.collectives import Collective, collective_time
    from gpuplan.model.performance import network_of
    from gpuplan.model.ulysses import ulysses_possible, ulysses_time

    network = network_of(catalog, catalog.accelerator("h100-sxm"))
    tokens, width = 8192.0, 4096  # per GPU, all heads (MHA: K and V as wide as Q)
    # Q, K, V: 3 x tokens x width x 2 bytes, output: tokens x width x 2 bytes; forward and
    # backward each move both once (Jacobs et al. 2023, sec. 3).
    qkv = collective_time(Collective.ALL_TO_ALL, 3 * tokens * width * 2, 4, 1, network)
    out = collective_time(Collective.ALL_TO_ALL, tokens * width * 2, 4, 1, network)
    assert ulysses_time(tokens, width, width, 1, 4, network) == pytest.approx(2 * (qkv + out))
    assert ulysses_time(tokens, width, width, 1, 1, network) == 0.0
    assert ulysses_possible(32, 8, 2, 4) and not ulysses_possible(32, 8, 2, 8)


def test_context_parallel_takes_the_scheme_that_exposes_less(catalog: Catalog) -> None:
    from gpuplan.model.layer import _context_parallel, _Shape
    from gpuplan.model.performance import device_of, network_of
    from gpuplan.model.ring import RingShape, ring_cost
    from gpuplan.model.ulysses import ulysses_time
    from gpuplan.scenario.plan import ParallelPlan

    model = catalog.model("movie-gen-30b")
    h100 = catalog.accelerator("h100-sxm")
    network, dev = network_of(catalog, h100), device_of(catalog, h100, False)
    x = _Shape.of(model, ParallelPlan(tensor_parallel=2, context_parallel=8), 73_728)
    shape = RingShape(8, 2, x.tokens * x.q_width / 2, x.tokens * x.kv_width / 2, False)
    cost = ring_cost(shape, None, network, dev)
    ring = cost.link_forward_s + cost.link_backward_s
    a2a = ulysses_time(x.tokens, x.q_width, x.kv_width, 2, 8, network)
    for attention_s in (0.0, ring / 2, 2 * ring):  # nothing, half, all of the ring hidden
        _, link, exposed = _context_parallel(model, x, (0.0, attention_s), network, dev, None)
        assert exposed == pytest.approx(
            min(max(0.0, ring - attention_s), a2a) if attention_s < ring else 0.0
        )
        assert link in (ring, a2a)


def test_stage_errors_name_the_field(catalog: Catalog) -> None:
    steps_without_batch = {**STAGED, "training": {}, "stages": [{"steps": 10}]}
    with pytest.raises(ScenarioError) as info:
        plan(parse_scenario(steps_without_batch), catalog)
    assert str(info.value).startswith("stages[0].steps = 10: needs a global batch")
    with pytest.raises(ScenarioError) as info:
        plan(parse_scenario({**STAGED, "training": {"samples": 5, "global_batch": 16}}), catalog)
    assert str(info.value).startswith("training.samples: a staged run")


def test_adaln_block_elementwise_traffic_by_hand(catalog: Catalog) -> None:
    """Wan 2.1's block moves 178 bytes per token and hidden unit in its elementwise kernels
    (FP32 adaLN modulate and gates, QK-norms, casts; models.yaml notes) where a fused
    pre-norm LLM block moves 20: the layer's forward grows by (178 - 20) x tokens x h
    bytes at the HBM rate (over TP under sequence parallelism), its backward by twice that,
    and nothing else moves."""
    from dataclasses import replace

    from gpuplan.catalog.schema import AttentionKernel
    from gpuplan.model.kernels import device
    from gpuplan.model.layer import layer_cost
    from gpuplan.model.performance import network_of
    from gpuplan.scenario.plan import ParallelPlan

    wan = catalog.model("wan-2.1-14b")
    assert wan.video is not None and wan.video.block_elementwise_bytes == 178
    generic = wan.model_copy(
        update={"video": wan.video.model_copy(update={"block_elementwise_bytes": None})}
    )
    h100 = catalog.accelerator("h100-sxm")
    dev = device(h100, catalog.efficiency_profile("h100-sxm"), False, 0.9)
    network = network_of(catalog, h100)
    seq = 37_440
    for tp, sp in ((1, False), (2, True)):
        p = replace(ParallelPlan(), tensor_parallel=tp, sequence_parallel=sp)
        a = layer_cost(wan, p, seq, False, dev, AttentionKernel.FLASH, network)
        b = layer_cost(generic, p, seq, False, dev, AttentionKernel.FLASH, network)
        extra = (178 - 20) * seq * 5120 / (tp if sp else 1) / dev.hbm_bytes_per_s
        assert a.forward_s - b.forward_s == pytest.approx(extra, rel=1e-9)
        assert a.backward_s - b.backward_s == pytest.approx(2 * extra, rel=1e-9)
        assert a.attention_s == b.attention_s and a.tp_s == b.tp_s


def test_video_attention_runs_at_the_noncausal_rate(catalog: Catalog) -> None:
    """A video DiT attends both ways: its attention (self and cross) runs at the measured
    causal rate times the published non-causal / causal ratio, which at 37,440 tokens is
    the FlashAttention-3 paper's 16K cuDNN ratio 595 / 539 (held flat beyond 16K); an LLM
    keeps the causal rate."""
    from dataclasses import replace

    from gpuplan.catalog.schema import AttentionKernel
    from gpuplan.model.kernels import device
    from gpuplan.model.layer import layer_cost
    from gpuplan.model.performance import network_of
    from gpuplan.scenario.plan import ParallelPlan

    h100 = catalog.accelerator("h100-sxm")
    dev = device(h100, catalog.efficiency_profile("h100-sxm"), False, 0.9)
    flat = replace(dev, noncausal_curve=((0.0, 1.0, 1.0),))
    network, plan_ = network_of(catalog, h100), ParallelPlan()
    wan = catalog.model("wan-2.1-14b")
    video = layer_cost(wan, plan_, 37_440, False, dev, AttentionKernel.FLASH, network)
    causal_rate = layer_cost(wan, plan_, 37_440, False, flat, AttentionKernel.FLASH, network)
    assert causal_rate.attention_s / video.attention_s == pytest.approx(595 / 539, rel=1e-3)
    llm = catalog.model("llama2-7b")
    a = layer_cost(llm, plan_, 8192, False, dev, AttentionKernel.FLASH, network)
    b = layer_cost(llm, plan_, 8192, False, flat, AttentionKernel.FLASH, network)
    assert a.attention_s == b.attention_s
