"""Inline validation shapes state the position encoding and embedding tying of the model code
their source ran (measurements.yaml header, RULE of 2026-12-06)."""

from __future__ import annotations

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import Position
from gpuplan.catalog.shapes import parameter_count
from gpuplan.checks.row_scenarios import row_scenario
from gpuplan.checks.validation import _model_of, load_measurements, source_group

MPT_1B = "mosaicml-mpt-1b-h100-8gpu-s2048"


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
    """The Nemotron rows state neither: RoPE and untied, as their launcher yamls say."""
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
