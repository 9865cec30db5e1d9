"""Inline validation shapes state the position encoding, embedding tying and dropout of the
model code their source ran (measurements.yaml header, RULEs of 2026-12-06)."""

from __future__ import annotations

import copy

import pytest

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import InlineShape, Position
from gpuplan.catalog.shapes import parameter_count
from gpuplan.checks.row_scenarios import row_scenario
from gpuplan.checks.validation import _model_of, load_measurements, predict_row, source_group
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario

MPT_1B = "mosaicml-mpt-1b-h100-8gpu-s2048"
MEGASCALE_256 = "megascale2024-175b-megatron-256gpu"
NEMO_GPT3 = ("nemo2407-gpt3-5b-64gpu", "nemo2407-gpt3-20b-64gpu")


def test_every_mosaicml_row_is_learned_and_tied(catalog: Catalog) -> None:
    """llm-foundry 061f2c7c: learned_pos_emb True, alibi False, no RoPE; MPTForCausalLM
    raises unless the word embeddings are tied."""
    rows = [m for m in load_measurements().values() if source_group(m) == "mosaicml"]
    assert len(rows) == 46
    for m in rows:
        model = _model_of(m, catalog)
        assert model.position is Position.LEARNED and model.tied_embeddings, m.id


def test_mpt_1b_parameters_match_the_readme_less_its_biases(catalog: Catalog) -> None:
    """The README prints NumParams 1,315,950,592 for MPT-1b. gpuplan leaves biases and norms
    out: per layer QKV 3 x 2048, output 2048, fc1 8192, fc2 2048 biases and two LayerNorms
    (2 x 2 x 2048) = 26,624, x 24 layers + the final LayerNorm (4,096) = 643,072. Left:
    1,315,307,520 = 24 x 12 x 2048^2 + (50,368 + 2,048) x 2048 (one tied table and the
    learned positions); untied, it would be 103,153,664 more."""
    m = load_measurements()[MPT_1B]
    assert parameter_count(_model_of(m, catalog)).total == 1_315_950_592 - 643_072


def test_a_row_without_the_fields_keeps_the_inline_defaults(catalog: Catalog) -> None:
    """The Nemotron rows state neither position nor tying: RoPE and untied, as their launcher
    yamls say."""
    m = load_measurements()["nemo2407-nemotron-8b-64gpu"]
    model = _model_of(m, catalog)
    assert model.position is Position.ROPE and not model.tied_embeddings


def test_megatron_and_nemo_gpt_rows_are_learned_and_tied(catalog: Catalog) -> None:
    """Megatron-LM 285068c8 (MegaScale's baseline) and NeMo r2.0.0rc1's GPT defaults."""
    rows = load_measurements()
    ids = [i for i in rows if source_group(rows[i]) == "megascale2024"]
    ids += ["nemo2407-gpt3-5b-64gpu", "nemo2407-gpt3-20b-64gpu"]
    assert len(ids) == 14
    for i in ids:
        model = _model_of(rows[i], catalog)
        assert model.position is Position.LEARNED and model.tied_embeddings, i


def test_the_row_scenario_states_them(catalog: Catalog) -> None:
    model = row_scenario(MPT_1B, catalog).scenario["model"]
    assert model["position"] == "learned" and model["tied_embeddings"] is True


def test_dropout_is_stated_as_each_source_code_sets_it(catalog: Catalog) -> None:
    """Megatron-LM 285068c8 (--attention-dropout, --hidden-dropout default 0.1) and the NeMo
    launcher's gpt3/5b.yaml, 20b.yaml at 24.07 (0.1, 0.1): true. llm-foundry 061f2c7c's
    MPTConfig (attn_pdrop, resid_pdrop, emb_pdrop 0.0) and the launcher's nemotron yamls
    (0.0, 0.0): false. LLaMA-65B's training code is not published: not stated."""
    rows = load_measurements()
    inline = {i: m for i, m in rows.items() if isinstance(m.model, InlineShape)}
    with_masks = {i for i in inline if source_group(rows[i]) == "megascale2024"} | set(NEMO_GPT3)
    without = {i for i in inline if source_group(rows[i]) == "mosaicml" or "nemotron" in i}
    assert (len(with_masks), len(without)) == (14, 49)
    for i, m in inline.items():
        assert isinstance(m.model, InlineShape)
        stated = True if i in with_masks else False if i in without else None
        assert m.model.dropout is stated, i
        assert _model_of(m, catalog).dropout is bool(stated), i
    assert set(inline) - with_masks - without == {"touvron2023-llama-65b"}


def test_the_masks_make_a_megascale_row_slower(catalog: Catalog) -> None:
    m = load_measurements()[MEGASCALE_256]
    assert isinstance(m.model, InlineShape) and m.model.dropout
    without = m.model_copy(update={"model": m.model.model_copy(update={"dropout": False})})
    masked, bare = predict_row(m, catalog), predict_row(without, catalog)
    assert masked is not None and bare is not None
    assert masked.predicted_step_s is not None and bare.predicted_step_s is not None
    assert masked.predicted_step_s > bare.predicted_step_s


def test_the_masks_cost_their_bytes_through_the_row_scenario(catalog: Catalog) -> None:
    """The field goes into the row's scenario, and plan prices the masks at the HBM rate. On
    MegaScale's 175B layout (TP 8, PP 8, interleave 6, DP 4, batch 768: 192 micro-batches
    of one sequence, selective recompute, sequence parallel), per micro-batch and stage (12
    layers): the unfused attention's mask, 5 B forward, 10 backward and 5 in the recomputed
    forward per score element of 16 heads x 2048^2, and the elementwise region's 2 B per
    token x hidden / TP forward, twice that backward. At 0.85 x 2.039 TB/s (efficiency.yaml
    a100 hbm) over 192 micro-batches and the interleaved bubble's 7/6: 1.820 s more step."""
    scenario = row_scenario(MEGASCALE_256, catalog).scenario
    assert scenario["model"]["dropout"] is True
    assert parse_scenario(scenario).model.dropout is True  # type: ignore[union-attr]
    times = {}
    for dropout in (False, True):
        s = copy.deepcopy(scenario)
        s["model"]["dropout"] = dropout
        s["parallelism"].update(microbatch=1, recompute="selective", sequence_parallel=True)
        step = plan(parse_scenario(s), catalog).step
        assert step is not None
        times[dropout] = step.compute_s + step.recompute_s + step.bubble_s
    per_stage = 12 * (16 * 2048**2 * 20 + 3 * 2 * 2048 * 12288 / 8)
    hand = (192 + 7 / 6) * per_stage / (0.85 * 2.039e12)
    assert hand == pytest.approx(1.820, abs=0.001)
    assert times[True] - times[False] == pytest.approx(hand, rel=0.005)
