"""What the first fuzz campaign of issue 15 left (its second round): yes/no fields that took
1 or 0, float flags that took NaN and infinity, and the Monte Carlo driver ranking over
samples that do not fit. Each is now refused by name or computed over what it should be."""

from __future__ import annotations

from typing import Any

import pytest

from gpuplan.catalog import Catalog
from gpuplan.scenario.parse import parse_scenario
from refusals import SMALL, VIDEO, refused

INLINE: dict[str, Any] = {  # a small dense model written in the scenario
    "name": "tiny",
    "layers": 2,
    "hidden": 64,
    "heads": 4,
    "vocab": 100,
    "seq_len": 128,
    "ffn_hidden": 256,
}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # each was read as a boolean by pydantic (1 -> true, 0 -> false, 'yes' -> true)
        ({**SMALL, "model": {**INLINE, "tied_embeddings": 1}}, "model.tied_embeddings = 1"),
        ({**SMALL, "parallelism": {"sequence_parallel": 0}}, "parallelism.sequence_parallel = 0"),
        (
            {**SMALL, "parallelism": {"sequence_parallel": "yes"}},
            "parallelism.sequence_parallel = 'yes'",
        ),
        ({**SMALL, "cluster": {"rail_optimized": 1.0}}, "cluster.rail_optimized = 1.0"),
        (
            {**SMALL, "training": {"precomputed_latents": "true"}},
            "training.precomputed_latents = 'true'",
        ),
    ],
)
def test_a_yes_no_field_takes_only_true_or_false(data: dict[str, Any], expected: str) -> None:
    message = refused(data)
    assert message == f"{expected}: must be true or false (a YAML boolean)", message


def test_a_yes_no_field_takes_true_and_false() -> None:
    model = {**INLINE, "tied_embeddings": True}
    scenario = parse_scenario(
        {**SMALL, "model": model, "parallelism": {"sequence_parallel": False}}
    )
    assert scenario.parallelism.sequence_parallel is False
    assert not isinstance(scenario.model, str) and scenario.model.tied_embeddings is True


def test_a_catalog_record_takes_only_true_or_false() -> None:
    from pydantic import ValidationError

    from gpuplan.catalog.schema import Video

    assert (
        Video.model_validate({**VIDEO, "latents_precomputed": False}).latents_precomputed is False
    )
    with pytest.raises(ValidationError, match="must be true or false"):
        Video.model_validate({**VIDEO, "latents_precomputed": 0})


FLOAT_FLAGS = {  # every float flag of every command (the scenario's flags are text)
    "demo": ["--days", "--mfu"],
    "scaling-fit": ["--level"],
    "sweep": ["--row-timeout"],
    "audit": [
        "--days",
        "--gpu-hours",
        "--usd",
        "--usd-per-gpu-hour",
        "--params",
        "--active-params",
        "--tokens",
        "--flops",
    ],
}


def test_every_float_flag_is_found() -> None:
    from gpuplan.cli.app import app
    from gpuplan.cli.finite import finite_floats, is_float_flag

    command = finite_floats(app)
    found = {
        name: [param.opts[0] for param in sub.params if is_float_flag(param)]
        for name, sub in command.commands.items()
    }
    assert {name: flags for name, flags in found.items() if flags} == FLOAT_FLAGS


@pytest.mark.parametrize(
    ("command", "flag"), [(c, f) for c, flags in FLOAT_FLAGS.items() for f in flags]
)
@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity"])
def test_a_float_flag_must_be_finite(command: str, flag: str, value: str) -> None:
    # '--days nan' said 'must be <= 3650'; '--row-timeout inf' was taken
    from typer._click.exceptions import UsageError

    from gpuplan.cli.app import command_app, usage_line
    from gpuplan.cli.finite import finite_floats

    click_command = finite_floats(command_app([command]))
    with pytest.raises(UsageError) as caught:
        click_command.main([command, flag, value], standalone_mode=False)
    line = usage_line(caught.value)
    assert line.startswith(f"{flag} = '{value}': must be a finite number (see '"), line
    assert line.endswith(f" {command} --help')"), line


def test_demo_days_nan_is_one_line_naming_the_flag() -> None:
    from cli_run import run_gpuplan

    done = run_gpuplan("demo", "--days", "nan", timeout_s=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("gpuplan: error: --days = 'nan': must be a finite number")
    assert done.stderr.count("\n") == 1 and done.stdout == ""


def test_drivers_are_ranked_over_the_samples_that_fit() -> None:
    # The outputs were over the samples that fit (c94dfc9), the driver ranking still over all.
    # Six samples of x = 1..6; the four that fit have days 4, 3, 2, 1 (falling as x rises:
    # Spearman -1); the two that do not fit 10 and 20. Over all six the ranks of the days are
    # 4, 3, 2, 1, 5, 6: d = -3, -1, 1, 3, 0, 0, so rho = 1 - 6 * 20 / (6 * 35) = 3/7.
    import numpy as np

    from gpuplan.scenario.distributions import find_distributions
    from gpuplan.studies.uncertainty import Draws, Summary, _drivers

    found = find_distributions({"gpus": {"low": 1, "high": 6}})
    draws = Draws(0, 6, found, {"gpus": np.arange(1.0, 7.0)}, ())
    days = [4.0, 3.0, 2.0, 1.0, 10.0, 20.0]
    rows: list[dict[str, Any]] = [{"run.days": d} for d in days]
    fits = [True, True, True, True, False, False]
    outputs = {"run.days": Summary.of(days[:4])}
    (driver,) = _drivers(draws, rows, fits, outputs)
    assert driver.rank_correlation == {"run.days": pytest.approx(-1.0)}
    assert driver.importance == pytest.approx(1.0)
    (over_all,) = _drivers(draws, rows, [True] * 6, outputs)
    assert over_all.rank_correlation["run.days"] == pytest.approx(3 / 7)


def test_the_driver_note_says_how_many_samples_it_is_over() -> None:
    # Llama 3 8B on 64 H100 trains 1e14 tokens in ~1,900 days: below ~34 GPUs it does not fit
    # the 3,650-day limit (test_fuzz_findings.py), so some of 20 samples do not fit.
    from gpuplan.studies.uncertainty import run_uncertainty

    data = {**SMALL, "gpus": {"low": 8, "high": 64}, "training": {"tokens": 1e14}}
    found = run_uncertainty(data, samples=20).to_dict()
    feasible = found["feasible_samples"]
    assert 0 < feasible < 20
    (note,) = [n for n in found["notes"] if n.startswith("Drivers:")]
    assert f"over the {feasible:,} samples that fit;" in note


def test_plans_evaluated_in_chunks_give_the_same_values(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DeepSeek-V3 on 24,576 or 1,000,000 TPU v5p evaluates 1.5 to 1.8 million plans; at once
    # their intermediate arrays held a gigabyte (half the command's time faulting pages in).
    # Chunked, every plan keeps its own values: here in chunks of 1,000 plans against one.
    import numpy as np

    from gpuplan.search import evaluated
    from gpuplan.search.plans import search

    model, accelerator = catalog.model("deepseek-v3"), catalog.accelerator("h100-sxm")

    def searched() -> Any:
        evaluated._kept.clear()
        return search(catalog, model, accelerator, 2048, global_batch=4096, seq_len=4096)

    whole = searched()
    monkeypatch.setattr(evaluated, "CHUNK_PLANS", 1000)
    chunked = searched()
    assert whole.evaluated > 10_000 and whole.feasible > 1000  # many chunks, many that fit
    assert (whole.enumerated, whole.feasible, whole.pruned) == (
        chunked.enumerated,
        chunked.feasible,
        chunked.pruned,
    )
    assert whole.min_memory_bytes == chunked.min_memory_bytes
    assert whole.top == chunked.top and whole.pareto == chunked.pareto  # every field
    assert np.isfinite([s.time_s for s in whole.top]).all() and len(whole.top) == 10
