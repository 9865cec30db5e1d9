"""Scenario parsing: bad input gets one clear line naming the field, value and what is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gpuplan.catalog import Catalog
from gpuplan.errors import ScenarioError
from gpuplan.scenario.parse import load_scenario_file, parse_scenario
from gpuplan.scenario.resolve import resolve

BASE: dict[str, Any] = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64}


def with_(**changes: Any) -> dict[str, Any]:
    data = dict(BASE)
    for key, value in changes.items():
        head, _, leaf = key.partition("__")
        if leaf:
            data[head] = {**data.get(head, {}), leaf: value}
        else:
            data[head] = value
    return data


@pytest.mark.parametrize(
    ("changes", "field", "allowed"),
    [
        ({"gpus": 0}, "gpus = 0", "must be > 0"),
        ({"gpus": 20_000_000}, "gpus = 20000000", "must be <= 10000000"),
        ({"training__tokens": -1.0}, "training.tokens = -1.0", "must be >= 1"),
        ({"training__days": 5000}, "training.days = 5000", "must be <= 3650"),
        ({"training__mfu": 1.5}, "training.mfu = 1.5", "must be <= 1"),
        ({"training__mfu": 5e-324}, "training.mfu = 5e-324", "must be >= 1e-06"),  # found by fuzz
        ({"training__precision": "fp4"}, "training.precision = 'fp4'", "'bf16' or 'fp8'"),
        ({"training__global_batch": 0}, "training.global_batch = 0", "must be > 0"),
        ({"site__pue": 0.9}, "site.pue = 0.9", "must be >= 1"),
        ({"site__power_usd_per_kwh": 0}, "site.power_usd_per_kwh = 0", "must be > 0"),
        ({"prices__gpu_usd": -30000}, "prices.gpu_usd = -30000", "must be > 0"),
        ({"prices__cloud_usd_per_gpu_hour": 0}, "prices.cloud_usd_per_gpu_hour = 0", "> 0"),
        ({"parallelism__zero": 4}, "parallelism.zero = 4", "must be <= 3"),
        ({"parallelism__recompute": "most"}, "parallelism.recompute = 'most'", "'selective'"),
        ({"colour": "red"}, "colour", "unknown key"),
        ({"training__tokenz": 1e12}, "training.tokenz", "unknown key"),
    ],
)
def test_bad_values_name_the_field_and_the_range(
    changes: dict[str, Any], field: str, allowed: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(with_(**changes))
    message = str(info.value)
    assert message.startswith(field), message
    assert allowed in message
    assert "\n" not in message


def test_missing_required_field() -> None:
    with pytest.raises(ScenarioError, match=r"^hardware: required"):
        parse_scenario({"model": "llama3-8b", "gpus": 8})


def test_two_training_lengths_are_refused() -> None:
    with pytest.raises(ScenarioError, match="give one of tokens, days or samples"):
        parse_scenario(with_(training={"tokens": 1e12, "days": 10}))


@pytest.mark.parametrize(
    ("changes", "field", "suggestion"),
    [
        ({"model": "llama3-450b"}, "model", "llama3-405b"),
        ({"hardware": "h100"}, "hardware", "h100-pcie, h100-sxm"),
        ({"site": {"grid": "frnace"}}, "site.grid", "france"),
        ({"site": {"households": "usa"}}, "site.households", "us"),
    ],
)
def test_unknown_catalog_ids_suggest_the_nearest(
    catalog: Catalog, changes: dict[str, Any], field: str, suggestion: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        resolve(parse_scenario({**BASE, **changes}), catalog)
    assert str(info.value).startswith(field + ": unknown")
    assert f"did you mean {suggestion}" in str(info.value)


def test_fp8_on_a_chip_without_fp8(catalog: Catalog) -> None:
    scenario = parse_scenario({**BASE, "hardware": "a100-80gb", "training": {"precision": "fp8"}})
    with pytest.raises(ScenarioError, match="a100-80gb has no FP8 tensor path; allowed: bf16"):
        resolve(scenario, catalog)


def test_defaults_come_from_the_catalog(catalog: Catalog) -> None:
    r = resolve(parse_scenario(BASE), catalog)
    assert r.tokens == catalog.model("llama3-8b").training_tokens_published
    assert r.mfu is None and not r.mfu_is_what_if  # throughput is modelled unless given
    assert r.pue == catalog.pue["typical"].value
    assert r.gpu_price_usd == catalog.accelerator("h100-sxm").purchase.usd
    assert r.peak_flops_per_s == pytest.approx(989.4e12, rel=1e-3)


def test_a_length_is_needed_when_the_model_has_no_published_one(catalog: Catalog) -> None:
    with pytest.raises(ScenarioError, match=r"^training: give training.tokens"):
        resolve(parse_scenario({**BASE, "model": "megatron-1t"}), catalog)


def test_samples_times_sequence_is_tokens(catalog: Catalog) -> None:
    s = parse_scenario({**BASE, "training": {"samples": 1000, "seq_len": 4096}})
    assert resolve(s, catalog).tokens == 4_096_000


def test_inline_model_is_counted_from_its_shape(catalog: Catalog) -> None:
    inline = {
        "name": "my-1t", "layers": 128, "hidden": 25600, "heads": 160, "ffn_hidden": 102400,
        "ffn": "gelu", "vocab": 51200, "seq_len": 2048,
    }  # fmt: skip
    r = resolve(parse_scenario({**BASE, "model": inline, "training": {"tokens": 1e12}}), catalog)
    # Narayanan et al. 2021 Table 1 lists this shape as 1.008T parameters.
    assert r.model.params_published_b == pytest.approx(1008, rel=0.01)


def test_inline_model_bad_field_is_named() -> None:
    inline = {"name": "x", "layers": 0, "hidden": 8, "heads": 2, "ffn_hidden": 8, "vocab": 8,
              "seq_len": 8}  # fmt: skip
    with pytest.raises(ScenarioError, match=r"^model.layers = 0: must be > 0"):
        parse_scenario({**BASE, "model": inline})


def test_yaml_file_errors_are_clear(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario_file(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario_file(broken)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ScenarioError, match="must hold a YAML mapping"):
        load_scenario_file(listy)


def test_every_wrong_input_is_listed_at_once(catalog: Catalog) -> None:
    # Issue 12: when several inputs are wrong, all are listed at once.
    bad = {**BASE, "gpus": 0, "training": {"mfu": 2, "tokns": 1}}
    with pytest.raises(ScenarioError) as parsed:
        parse_scenario(bad)
    message = str(parsed.value)
    assert message.startswith("gpus = 0: must be > 0; and ")
    assert "training.mfu = 2: must be <= 1" in message
    assert "training.tokns: unknown key; allowed: global_batch, seq_len, tokens" in message
    unknown = {**BASE, "model": "gpt5", "site": {"grid": "mars"}}
    with pytest.raises(ScenarioError) as resolved:
        resolve(parse_scenario(unknown), catalog)
    assert str(resolved.value).startswith("model: unknown model 'gpt5'")
    assert "; and site.grid: unknown grid 'mars'" in str(resolved.value)
    assert "DESIGN.md" not in message
