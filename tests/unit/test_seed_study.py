"""The seed study: each seed cluster's compute-optimal dense model, shaped like Llama 3,
planned by gpuplan's performance model and search (the numbers behind `gpuplan demo`)."""

from __future__ import annotations

import math

import pytest

from gpuplan.catalog import Catalog
from gpuplan.catalog.shapes import parameter_count
from gpuplan.checks.claims import check_all
from gpuplan.fitting.scaling_laws import compute_optimal
from gpuplan.scenario.schema import InlineModel
from gpuplan.studies.model_shape import dense_shape
from gpuplan.studies.seed import (
    ROUNDS,
    SHAPE_FAMILY,
    headline_cluster,
    plan_seed_clusters,
    seed_scenarios,
)


def test_shape_table_matches_the_llama3_records(catalog: Catalog) -> None:
    family = catalog.shape_family(SHAPE_FAMILY)
    for point, model_id in zip(family.points, ("llama3-8b", "llama3-70b", "llama3-405b"),
                               strict=True):  # fmt: skip
        model = catalog.model(model_id)
        assert point.params_b == model.params_published_b
        assert (point.layers, point.hidden, point.ffn_hidden, point.heads) == (
            model.layers, model.hidden, model.ffn_hidden, model.heads,
        )  # fmt: skip
        assert (family.kv_heads, family.head_dim, family.vocab, family.seq_len) == (
            model.kv_heads, model.head_size, model.vocab, model.seq_len,
        )  # fmt: skip


@pytest.mark.parametrize("model_id", ["llama3-8b", "llama3-70b", "llama3-405b"])
def test_shape_rule_gives_back_the_family(catalog: Catalog, model_id: str) -> None:
    model = catalog.model(model_id)
    shape = dense_shape(catalog.shape_family(SHAPE_FAMILY), parameter_count(model).total, "x")
    assert (shape["layers"], shape["hidden"], shape["heads"], shape["ffn_hidden"]) == (
        model.layers, model.hidden, model.heads, model.ffn_hidden,
    )  # fmt: skip


@pytest.mark.parametrize("params", [3e10, 1.5e11, 7e11, 1.6e12, 5e12])
def test_shape_rule_hits_the_size(catalog: Catalog, params: float) -> None:
    family = catalog.shape_family(SHAPE_FAMILY)
    shape = dense_shape(family, params, "x")
    counted = parameter_count(InlineModel.model_validate(shape).to_model()).total
    assert counted == pytest.approx(params, rel=0.02)
    assert shape["hidden"] % family.width_multiple == 0
    assert shape["heads"] % family.kv_heads == 0
    assert shape["ffn_hidden"] % family.ffn_multiple == 0
    # Wider and deeper than the 405B beyond it, narrower below the 70B.
    if params > 405e9:
        assert shape["hidden"] > 16384 and shape["layers"] > 126
    if params < 70e9:
        assert shape["hidden"] < 8192


def test_each_cluster_trains_its_compute_optimal_model(catalog: Catalog) -> None:
    law = catalog.scaling_law()
    results = plan_seed_clusters(catalog)
    assert list(results) == list(catalog.seed_clusters)
    batches = []
    for cluster in catalog.seed_clusters.values():
        data = results[cluster.id].to_dict()
        assert data["fits"], cluster.id
        delivered = data["run"]["model_flops"]
        # Sized for the compute of the previous round's plan, close to what this one delivers.
        optimal = compute_optimal(law, delivered).params
        assert data["model"]["params"] == pytest.approx(optimal, rel=0.1), cluster.id
        assert data["scenario"]["training"]["precision"] == "bf16"
        batch = data["plan"]["global_batch"]
        assert math.log2(batch).is_integer()
        batches.append(batch)
        notes = " ".join(data["assumptions"])
        for text in ("compute-optimal dense model", f"{ROUNDS} rounds", "Model shape: Llama 3",
                     "Dubey et al. 2024", "Bi et al. 2024", "Precision BF16"):  # fmt: skip
            assert text in notes, (cluster.id, text)
        assert any(s["used_for"] == "model shape rule" for s in data["sources"])
    assert batches == sorted(batches) and batches[-1] > batches[0]


def test_seed_scenarios_are_plain_scenarios(catalog: Catalog) -> None:
    scenarios = seed_scenarios(catalog)
    headline = headline_cluster(catalog)
    big = scenarios[headline.id]
    assert (big["hardware"], big["gpus"]) == (headline.hardware, headline.gpus)
    assert big["training"]["days"] == 90 and "mfu" not in big["training"]
    assert big["model"]["ffn"] == "swiglu" and big["model"]["kv_heads"] == 8


def test_claim_c8_rests_on_the_seed_plans(catalog: Catalog) -> None:
    results = {r.claim.id: r for r in check_all(catalog)}
    plans = {k: v.to_dict() for k, v in plan_seed_clusters(catalog).items()}
    law = catalog.scaling_law()
    small, big = plans["stability-video-700"], plans["xai-100k"]
    factor = (small["scaling"]["predicted_loss"] - law.e) / (
        big["scaling"]["predicted_loss"] - law.e
    )
    assert results["C8"].computed.value == pytest.approx(factor, rel=1e-12)
    assert "modelled MFU" in results["C8"].computed.explanation
