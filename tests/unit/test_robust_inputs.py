"""Values that pass validation plan, and values that cannot be planned are refused by name
(issue 15): booleans are not numbers, NaN and infinity are not quantities, inline models
are bounded and consistent, and a complete plan uses the scenario's GPUs."""

from __future__ import annotations

import time
from typing import Any

import pytest
import yaml

from gpuplan.catalog import Catalog
from gpuplan.errors import ScenarioError
from gpuplan.model.rules import divisors
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario
from gpuplan.scenario.schema import InlineModel
from refusals import SMALL, refused

INLINE: dict[str, Any] = {
    "name": "tiny",
    "layers": 4,
    "hidden": 512,
    "heads": 4,
    "ffn_hidden": 2048,
    "vocab": 32000,
    "seq_len": 2048,
}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**SMALL, "gpus": True}, "gpus = True"),
        ({**SMALL, "training": {"tokens": True}}, "training.tokens = True"),
        ({**SMALL, "training": {"global_batch": False}}, "training.global_batch = False"),
        ({**SMALL, "parallelism": {"dp": True}}, "parallelism.dp = True"),
        ({**SMALL, "prices": {"gpu_usd": True}}, "prices.gpu_usd = True"),
        ({**SMALL, "model": {**INLINE, "layers": True}}, "model.layers = True"),
    ],
)
def test_booleans_are_not_numbers(data: dict[str, Any], field: str) -> None:
    message = refused(data)
    assert message.startswith(f"{field}: must be a number, not the boolean"), message


def test_yaml_booleans_are_refused_and_yaml_numbers_kept() -> None:
    text = "model: llama3-8b\nhardware: h100-sxm\ngpus: true\n"
    assert "gpus = True: must be a number" in refused(yaml.safe_load(text))
    text = "model: llama3-8b\nhardware: h100-sxm\ngpus: 64\ntraining: {tokens: true}\n"
    assert "training.tokens = True" in refused(yaml.safe_load(text))
    text = "model: llama3-8b\nhardware: h100-sxm\ngpus: 2048\ntraining: {tokens: 15.6e12}\n"
    scenario = parse_scenario(yaml.safe_load(text))
    assert scenario.gpus == 2048 and isinstance(scenario.gpus, int)
    assert scenario.training.tokens == 15.6e12
    # YAML 1.1 reads 1e13 (no dot) as text: it is still the number
    scenario = parse_scenario({**SMALL, "training": {"tokens": "1e13", "global_batch": "1e3"}})
    assert scenario.training.tokens == 1e13 and scenario.training.global_batch == 1000


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("training", "mfu", float("nan")),
        ("training", "mfu", "nan"),
        ("training", "tokens", float("inf")),
        ("training", "days", "-inf"),
        ("site", "pue", float("nan")),
        ("prices", "cloud_usd_per_gpu_hour", "Infinity"),
    ],
)
def test_nan_and_infinity_must_be_finite(section: str, key: str, value: Any) -> None:
    message = refused({**SMALL, section: {key: value}})
    assert message.startswith(f"{section}.{key} = ") and "must be a finite number" in message
    assert "<=" not in message


@pytest.mark.parametrize(
    ("model", "field", "words"),
    [
        (
            {**INLINE, "kv_heads": 3},
            "model.kv_heads = 3",
            "must divide heads = 4; allowed: 1, 2, 4",
        ),
        ({**INLINE, "experts": 4, "top_k": 8}, "model.top_k = 8", "must be <= experts = 4"),
        ({**INLINE, "experts": 1e13, "top_k": 2}, "model.experts", "must be <= 4096"),
        ({**INLINE, "experts": "1e13", "top_k": 2}, "model.experts", "must be <= 4096"),
        ({**INLINE, "seq_len": 1e30}, "model.seq_len", "must be <= 100000000"),
        ({**INLINE, "hidden": 10**40}, "model.hidden", "must be <="),
    ],
)
def test_inline_models_are_bounded_and_consistent(
    model: dict[str, Any], field: str, words: str
) -> None:
    message = refused({**SMALL, "model": model})
    assert message.startswith(field) and words in message, message


def test_a_catalog_rule_of_an_inline_model_is_a_scenario_error() -> None:
    """What the inline schema misses, the catalog's model schema catches in to_model: one
    line naming the field, not a pydantic traceback."""
    unchecked = InlineModel.model_construct(**{**INLINE, "kv_heads": 3})  # skips validators
    with pytest.raises(ScenarioError) as caught:
        unchecked.to_model()
    assert str(caught.value).startswith("model: ") and "kv_heads = 3" in str(caught.value)
    unchecked = InlineModel.model_construct(**{**INLINE, "experts": 2, "top_k": 4})
    with pytest.raises(ScenarioError) as caught:
        unchecked.to_model()
    assert str(caught.value).startswith("model.moe: ") and "top_k = 4" in str(caught.value)


@pytest.mark.parametrize(
    ("training", "field"),
    [
        ({"tokens": 5e-324}, "training.tokens"),
        ({"tokens": 0.5}, "training.tokens"),
        ({"samples": 1e-300}, "training.samples"),
        ({"days": 5e-324}, "training.days"),
        ({"seq_len": 1e30}, "training.seq_len"),
    ],
)
def test_vanishing_or_huge_lengths_are_refused(training: dict[str, Any], field: str) -> None:
    message = refused({**SMALL, "training": training})
    assert message.startswith(f"{field} = ") and "must be" in message


def test_the_smallest_lengths_allowed_plan(catalog: Catalog) -> None:
    # no ZeroDivisionError; a run shorter than one optimizer step is a result with the reason
    # (test_hostile_inputs.py), a day's thousandth of a run is a run
    for training in ({"tokens": 1}, {"samples": 1}, {"days": 0.001}):
        result = plan(parse_scenario({**SMALL, "training": {**training, "mfu": 0.4}}), catalog)
        if "days" in training:
            assert result.run is not None
        else:
            assert result.infeasible is not None
            assert "less than one optimizer step" in result.infeasible.reason


def test_divisors_take_square_root_time() -> None:
    for n in (1, 2, 12, 16, 36, 97, 360, 1024):
        assert divisors(n) == [d for d in range(1, n + 1) if n % d == 0]
    start = time.perf_counter()
    assert divisors(99_999_989) == [1, 99_999_989]  # a prime
    assert divisors(10**12)[-1] == 10**12
    assert time.perf_counter() - start < 1.0  # counted one by one, seconds


def test_a_large_prime_batch_plans_in_reasonable_time(catalog: Catalog) -> None:
    scenario = parse_scenario({**SMALL, "training": {"global_batch": 99_999_989, "mfu": 0.4}})
    start = time.perf_counter()
    plan(scenario, catalog)
    assert time.perf_counter() - start < 6.0  # 12 s when divisors were counted one by one


COMPLETE = {"cp": 1, "ep": 1, "microbatch": 1, "interleave": 1, "recompute": "none",
            "sequence_parallel": True, "zero": 1}  # fmt: skip


def test_a_complete_plan_must_use_the_scenarios_gpus(catalog: Catalog) -> None:
    parallelism = {"tp": 8, "pp": 2, "dp": 2, **COMPLETE}
    data = {**SMALL, "training": {"global_batch": 512}, "parallelism": parallelism}
    result = plan(parse_scenario(data), catalog)
    assert result.infeasible is not None and result.run is None
    assert "tp x pp x dp x cp = 8 x 2 x 2 x 1 = 32, not gpus = 64" in result.infeasible.reason
    data["parallelism"] = {**parallelism, "dp": 4}
    assert plan(parse_scenario(data), catalog).infeasible is None  # 8 x 2 x 4 = 64


def test_a_complete_plan_beyond_the_gpus_is_infeasible_not_an_error(catalog: Catalog) -> None:
    parallelism = {"tp": 8, "pp": 2, "dp": 16, **COMPLETE, "microbatch": 2}
    data = {**SMALL, "training": {"global_batch": 512}, "parallelism": parallelism}
    result = plan(parse_scenario(data), catalog)
    assert result.infeasible is not None and "exceeds gpus = 64" in result.infeasible.reason


def test_a_hopeless_run_is_infeasible_with_its_length(catalog: Catalog) -> None:
    # Llama 3 405B, 15T tokens on 1,024 H100 at a what-if MFU of 1e-6: by hand, 6 x 405e9 x
    # 15e12 = 3.6e25 FLOP at 1,024 x 989e12 x 1e-6 = 1.0e12 FLOP/s is 3.6e13 s, about
    # 4e8 days: more than the 3,650 days a scenario may run, so no run is reported.
    scenario = parse_scenario(
        {
            "model": "llama3-405b",
            "hardware": "h100-sxm",
            "gpus": 1024,
            "training": {"tokens": 15e12, "mfu": 1e-6},
        }
    )
    result = plan(scenario, catalog)
    assert result.run is None and result.infeasible is not None
    assert result.infeasible.kind.value == "progress"
    days = float(
        result.infeasible.reason.split("would take ")[1].split(" days")[0].replace(",", "")
    )
    assert 3e8 < days < 6e8
    assert "3,650 days (10 years)" in result.infeasible.reason
    # An ordinary run of the same model is unaffected.
    assert plan(scenario.model_copy(update={"training": scenario.training.model_copy(
        update={"mfu": 0.4})}), catalog).run is not None  # fmt: skip
