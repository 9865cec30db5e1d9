"""Inputs a fuzz campaign (issue 15) found answered with a traceback, a silently wrong
number or a misleading message; each is now refused by name or planned correctly."""

from __future__ import annotations

from typing import Any

import pytest

from gpuplan.catalog import Catalog
from gpuplan.errors import ScenarioError
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario
from refusals import SMALL, VIDEO, refused, refused_by_plan


@pytest.mark.parametrize(
    ("hardware", "framework", "kernel"),
    [("b200", "llm-foundry-2023", "triton"), ("mi300x", "gpt-neox-2023", "flash1")],
)
def test_an_old_attention_kernel_without_a_rate_on_the_chip_is_refused(
    catalog: Catalog, hardware: str, framework: str, kernel: str
) -> None:
    # was an AssertionError traceback from the kernel model ("no Triton attention rate")
    data = {**SMALL, "hardware": hardware, "framework": framework}
    message = refused_by_plan(data, catalog)
    assert message.startswith(f"framework = '{framework}': its attention kernel '{kernel}'")
    assert hardware in message and "allowed:" in message


VIDEO_MODEL: dict[str, Any] = {
    "name": "v",
    "kind": "video-dit",
    "layers": 4,
    "hidden": 1024,
    "heads": 8,
    "ffn_hidden": 4096,
    "vocab": 0,
}


def video_scenario(**video: Any) -> dict[str, Any]:
    model = {**VIDEO_MODEL, "video": {**VIDEO, **video}}
    training = {"samples": 1e6, "precomputed_latents": False}
    return {"model": model, "hardware": "h100-sxm", "gpus": 64, "training": training}


@pytest.mark.parametrize(
    ("video", "expected"),
    [
        # was accepted as a patch of 1 (booleans are not numbers)
        ({"patch_h": True}, "model.video.patch_h = True: must be a number, not the boolean"),
        # was 'must be >= 0.0' for NaN
        ({"text_encoder_params_b": float("nan")}, "text_encoder_params_b = nan: must be a finite"),
        # was an OverflowError traceback (the encoder FLOPs per clip overflowed)
        (
            {"vae_encoder_flops_per_pixel": 1e300},
            "vae_encoder_flops_per_pixel = 1e+300: must be <=",
        ),
        (
            {"vae_encoder_bytes_per_pixel": 1e300},
            "vae_encoder_bytes_per_pixel = 1e+300: must be <=",
        ),
        ({"vae_encoder_bytes_per_pixel": -1}, "vae_encoder_bytes_per_pixel = -1: must be >="),
        ({"text_tokens": 10**12}, "model.video.text_tokens = 1000000000000: must be <="),
        ({"frames": 10**8}, "model.video.frames = 100000000: must be <= 100000"),
    ],
)
def test_an_inline_video_block_is_bounded_and_numeric(video: dict[str, Any], expected: str) -> None:
    assert expected in refused(video_scenario(**video))


def test_an_inline_video_model_at_its_bounds_plans_finite_numbers(catalog: Catalog) -> None:
    data = video_scenario(
        vae_encoder_flops_per_pixel=1e9,
        vae_encoder_bytes_per_pixel=1e9,
        text_encoder_params_b=100_000,
    )
    result = plan(parse_scenario(data), catalog)
    days = result.to_dict()["run"]["days"] if result.fits else None
    assert days is None or 0 < days < float("inf")


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        # were accepted as 1 (a scale-up domain of one GPU, a tier of one GPU)
        ({"scaleup_domain": True}, "cluster.scaleup_domain = True: must be a number, not the"),
        ({"fabric": [{"gpus": True}]}, "cluster.fabric.0.gpus = True: must be a number"),
        # was 'must be <= 1000.0'
        ({"oversubscription": float("nan")}, "cluster.oversubscription = nan: must be a finite"),
        # were planned: MFU 0 and a run of ~1e290 days behind 1e-300 GB/s links
        (
            {"scaleup_unidir_gb_per_s": 1e-300},
            "cluster.scaleup_unidir_gb_per_s = 1e-300: must be >= 1",
        ),
        ({"scaleout_gbit_per_s": 0.5}, "cluster.scaleout_gbit_per_s = 0.5: must be >= 1"),
    ],
)
def test_an_inline_cluster_is_numeric_and_bounded(cluster: dict[str, Any], expected: str) -> None:
    assert expected in refused({**SMALL, "cluster": cluster})


def test_the_slowest_links_allowed_plan_a_positive_mfu(catalog: Catalog) -> None:
    cluster = {"scaleup_unidir_gb_per_s": 1, "scaleout_gbit_per_s": 1}
    result = plan(parse_scenario({**SMALL, "cluster": cluster}), catalog).to_dict()
    assert result["fits"] and 0 < result["step"]["mfu"] <= 1
    assert 0 < result["run"]["days"] < float("inf")


def test_an_empty_framework_id_is_unknown_not_the_default(catalog: Catalog) -> None:
    # was planned silently on the default stack
    message = refused_by_plan({**SMALL, "framework": ""}, catalog)
    assert message.startswith("framework: unknown framework ''"), message
    assert "known: " in message


def budget_refused(data: dict[str, Any], catalog: Catalog) -> str:
    from gpuplan.studies.budget import plan_budget

    with pytest.raises(ScenarioError) as caught:
        plan_budget({"hardware": "h100-sxm", "budget": {"usd": 1e8}, **data}, catalog)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # were TypeError tracebacks: the budget read site and prices unvalidated
        (
            {"prices": {"cloud_usd_per_gpu_hour": {"low": 2, "high": 3}}},
            "prices.cloud_usd_per_gpu_hour = {'low': 2, 'high': 3}: a budget question takes one",
        ),
        ({"site": {"pue": {"low": 1.1, "high": 1.3}}}, "site.pue = {'low': 1.1, 'high': 1.3}"),
        (
            {"prices": {"cloud_usd_per_gpu_hour": [[], 2]}},
            "prices.cloud_usd_per_gpu_hour = [[], 2]",
        ),
        ({"prices": {"cloud_usd_per_gpu_hour": True}}, "cloud_usd_per_gpu_hour = True: must be a"),
        ({"site": {"pue": 0.5}}, "site.pue = 0.5: must be >= 1"),
        # were ignored silently: the budget's plan has its own cluster, plan and precision
        ({"cluster": "meta-roce-24k"}, "cluster: a budget question would ignore it"),
        ({"parallelism": {"tp": 8}}, "parallelism: a budget question would ignore it"),
        ({"training": {"precision": "fp8"}}, "training.precision: a budget question would"),
        # was 'unknown accelerator' naming no field
        ({"hardware": "NOPE"}, "hardware = 'NOPE': unknown accelerator 'NOPE'"),
        # was a TypeError (dict(-1)) and a 500 through /api/plan (hypothesis, 2026-12-06)
        ({"training": -1}, "training = -1: allowed: a mapping"),
        ({"training": [1]}, "training = [1]: allowed: a mapping"),
        # was 'buys less than one day of 8 x h100-sxm'
        ({"gpus": 10**10}, "gpus = 10000000000: with a budget: one count from 1 to 10,000,000"),
    ],
)
def test_a_budget_question_validates_what_it_reads(
    catalog: Catalog, data: dict[str, Any], expected: str
) -> None:
    assert expected in budget_refused(data, catalog)


def test_a_budget_question_reads_a_price_written_as_text(catalog: Catalog) -> None:
    from gpuplan.studies.budget import plan_budget

    data = {
        "hardware": "h100-sxm",
        "budget": {"usd": 1e8},
        "prices": {"cloud_usd_per_gpu_hour": "2e0"},
    }
    cost = plan_budget(data, catalog).to_dict()["cost"]
    # the text price is the number: $2 per GPU-hour for a whole number of GPUs, and the run
    # spends at most the $1e8 (all of it unless its days reach the study's cap first)
    gpus = cost["cloud_usd_per_hour"] / 2.0
    assert gpus == int(gpus) and gpus >= 8
    assert 0.9e8 < cost["cloud_usd"] <= 1e8 * (1 + 1e-6)


def test_a_run_in_days_that_cannot_progress_is_infeasible_with_its_reason(
    catalog: Catalog,
) -> None:
    # was a ValueError traceback ('compute_time_s = 0.0'): goodput 0 left no compute time.
    # 10,000,000 GPUs interrupt the job every few seconds, far below a restart (~10 min).
    data = {"model": "llama3-405b", "hardware": "h800", "gpus": 10_000_000}
    result = plan(parse_scenario({**data, "training": {"days": 3650}}), catalog).to_dict()
    assert result["fits"] is False
    assert "cannot make progress" in result["infeasible_reason"]


@pytest.mark.parametrize(
    ("parallelism", "expected"),
    [
        # were OverflowError tracebacks (the plan's numpy arrays hold 64-bit integers)
        (
            {"recompute_layers": 10**40},
            "parallelism.recompute_layers = 10" + "0" * 39 + ": must be <= 1000",
        ),
        ({"interleave": 10**40}, "parallelism.interleave = 10" + "0" * 39 + ": must be <= 1000"),
        ({"pp": 2**63}, "parallelism.pp = 9223372036854775808: must be <= 10000000"),
        ({"microbatch": 10**9}, "parallelism.microbatch = 1000000000: must be <= 100000000"),
        # was planned silently without the recomputation it names
        ({"recompute": "none", "recompute_layers": 5}, "recompute_layers = 5 needs recompute full"),
    ],
)
def test_parallelism_degrees_are_bounded(parallelism: dict[str, Any], expected: str) -> None:
    assert expected in refused({**SMALL, "parallelism": parallelism})


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        # were '--model = None: Input should be a valid dictionary or instance of InlineModel'
        (["--model", ""], "gpuplan: error: --model: unknown model '' (known: "),
        (["--gpus", ""], "gpuplan: error: --gpus = '': Input should be a valid integer"),
        (["--tokens", "null"], "gpuplan: error: --tokens = 'null': Input should be a valid number"),
    ],
)
def test_an_empty_flag_is_named_as_given(flags: list[str], expected: str) -> None:
    from cli_run import run_gpuplan

    given = dict(zip(flags[::2], flags[1::2], strict=True))
    args = {"--model": "llama3-8b", "--hardware": "h100-sxm", "--gpus": "64", **given}
    done = run_gpuplan("plan", *(x for kv in args.items() for x in kv), timeout_s=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(expected) and done.stderr.count("\n") == 1, done.stderr


DISCLOSED: dict[str, Any] = {"hardware": "h800", "gpus": 2048, "gpu_hours": 2e6}


def audited(data: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    from gpuplan.checks.audit import audit, parse_disclosure

    return audit(parse_disclosure({**DISCLOSED, **data}, "disclosure"), catalog).as_dict()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # was a ValueError traceback ('params = inf')
        (
            {"active_params": 1e308, "tokens": 1e308},
            "disclosure.active_params = 1e+308: must be <=",
        ),
        # was a ZeroDivisionError traceback (goodput 0 for a 1e308-FLOP model's checkpoints)
        ({"flops": 1e308}, "disclosure.flops = 1e+308: must be <= 1e+30"),
        # were planned: 'MFU while running ... inf%'
        ({"gpu_hours": None, "days": 1e-300}, "disclosure.days = 1e-300: must be >= 0.001"),
        ({"gpu_hours": 1e-300}, "disclosure.gpu_hours = 1e-300: must be >= 1"),
        # was accepted as one GPU
        ({"gpus": True}, "disclosure.gpus = True: must be a number, not the boolean true"),
        # was an AssertionError traceback
        ({"hardware": "tpu-v4", "precision": "fp8"}, "precision = 'fp8': tpu-v4 has no FP8"),
        # named no field
        ({"hardware": "H800"}, "hardware = 'H800': unknown accelerator 'H800'"),
        ({"model": "nope", "tokens": 1e12}, "model = 'nope': unknown model 'nope'"),
    ],
)
def test_an_audit_refuses_what_it_cannot_compute(
    catalog: Catalog, data: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        audited({k: v for k, v in data.items() if v is not None}, catalog)
    message = str(caught.value)
    assert "\n" not in message and expected in message, message


def test_an_audit_at_its_bounds_gives_finite_numbers(catalog: Catalog) -> None:
    # 1e15 active parameters x 1e17 tokens x 6 = 6e32 FLOP in 2e6 H800-hours: impossible
    found = audited({"active_params": 1e15, "tokens": 1e17}, catalog)
    assert found["verdict"] == "impossible"
    numbers = [v for v in found["numbers"].values() if v is not None]
    assert all(0 <= v < float("inf") for v in numbers), found["numbers"]
    # 10,000,000 GPUs for one GPU-hour: a run of 0.36 ms
    found = audited({"gpus": 10_000_000, "gpu_hours": 1, "flops": 1e20}, catalog)
    assert all(0 <= v < float("inf") for v in found["numbers"].values() if v is not None)


def test_bootstraps_and_samples_are_bounded() -> None:
    # were numpy MemoryError tracebacks (terabytes asked for) and a ValueError for seed -1
    from gpuplan.fitting.scaling_fit import LossObservations, fit_scaling_law
    from gpuplan.fitting.trends import fit_trend
    from gpuplan.studies.uncertainty import run_uncertainty

    runs = LossObservations((1e8, 2e8) * 3, (1e9, 2e9, 4e9) * 2, (3.0,) * 6)
    cases = [
        (
            lambda: fit_trend([], bootstrap=10**11),
            "bootstrap: 100000000000 must be from 1 to 100,000",
        ),
        (lambda: fit_trend([], seed=-1), "seed: -1 must be 0 or more"),
        (lambda: fit_scaling_law(runs, bootstrap=10**11), "bootstrap: 100000000000 must be from 0"),
        (lambda: fit_scaling_law(runs, seed=-1), "seed: -1 must be 0 or more"),
        (lambda: run_uncertainty({}, samples=10**12), "samples: 1000000000000 must be from 2"),
        (lambda: run_uncertainty({}, seed=-1), "seed: -1 must be 0 or more"),
    ]
    for call, expected in cases:
        with pytest.raises(ScenarioError, match="^" + expected.replace(".", r"\.")):
            call()


def test_monte_carlo_percentiles_are_over_the_samples_that_fit() -> None:
    # The notes said 'percentiles are over the N that fit' while every output but the run's
    # was summarised over all samples (with 10,000,000 GPUs drawn, 0 fit and the step time
    # still had percentiles). Llama 3 8B on 64 H100 trains 15e12 tokens in ~285 days, so
    # 1e14 tokens take ~1,900 days on 64 and more than the 3,650-day limit below ~34 GPUs.
    from gpuplan.studies.uncertainty import run_uncertainty

    data = {**SMALL, "gpus": {"low": 8, "high": 64}, "training": {"tokens": 1e14}}
    found = run_uncertainty(data, samples=20).to_dict()
    assert 0 < found["feasible_samples"] < 20
    assert found["outputs"]["search.gpus"]["p10"] >= 34
    assert found["outputs"]["run.days"]["p90"] <= 3650


def test_a_range_where_one_value_is_taken_is_named_as_a_range(catalog: Catalog) -> None:
    # was 'training.tokens = {...}: Input should be a valid number' (search, and a plan
    # table of several GPU counts)
    from gpuplan.studies.answer import plan_results, search_plans

    tokens = {"low": 1e12, "high": 2e12}
    with pytest.raises(ScenarioError) as caught:
        search_plans({**SMALL, "training": {"tokens": tokens}}, catalog)
    assert str(caught.value).startswith("training.tokens = {'low': 1000000000000.0, 'high'")
    assert "a search takes one value here; a range or distribution is answered" in str(caught.value)
    with pytest.raises(ScenarioError, match="a plan table takes one value here"):
        plan_results(
            {**SMALL, "gpus": [8, 16], "site": {"pue": {"low": 1.1, "high": 1.2}}}, catalog
        )


def test_an_error_in_the_second_audit_of_a_list_names_it(catalog: Catalog) -> None:
    # named no entry ('hardware = 'NOPE': ...'), so a user of a long list could not find it
    from gpuplan.checks.audit_files import audit_data

    good = {"hardware": "h800", "gpus": 8, "days": 1, "flops": 1e24}
    data = {"audits": [good, {**good, "hardware": "NOPE"}]}
    with pytest.raises(ScenarioError) as caught:
        audit_data(data, catalog, where="mine.yaml")
    assert str(caught.value).startswith("mine.yaml: audits[1].hardware = 'NOPE': unknown")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # were five-line boxes ('Usage: ... Try ... Error: Invalid value for '--top': ...')
        (
            ["search", "--model", "llama3-8b", "--top", "0"],
            "gpuplan: error: --top = '0': Input should be greater than or equal to 1 "
            "(see 'gpuplan search --help')",
        ),
        (
            ["plan", "--unknown", "3"],
            "gpuplan: error: No such option: --unknown (see 'gpuplan plan",
        ),
        (["sweep"], "gpuplan: error: Missing argument 'sweep_file' (see 'gpuplan sweep --help')"),
        (["nope"], "gpuplan: error: No such command 'nope' (see 'gpuplan --help')"),
    ],
)
def test_a_usage_error_is_one_line_with_exit_2(args: list[str], expected: str) -> None:
    from cli_run import run_gpuplan

    done = run_gpuplan(*args, timeout_s=60)
    stderr = done.stderr.replace("python -m gpuplan", "gpuplan")  # the program's name
    assert done.returncode == 2, stderr
    assert stderr.startswith(expected) and stderr.count("\n") == 1, stderr
    assert done.stdout == ""


def test_hidden_must_split_into_whole_heads_unless_head_dim_is_given(catalog: Catalog) -> None:
    # hidden 7 with 8 heads was planned with heads of size 7 // 8 = 0 (no attention FLOPs)
    model = {
        "name": "m", "layers": 8, "hidden": 7, "heads": 8, "ffn_hidden": 4096, "vocab": 32000,
        "seq_len": 4096,
    }  # fmt: skip
    data = {**SMALL, "model": model, "training": {"tokens": 1e9}}
    message = refused_by_plan(data, catalog)
    assert message == (
        "model: inline:m: hidden = 7 is not a multiple of heads = 8; give head_dim for heads "
        "of another size"
    )
    with_dim = {**data, "model": {**model, "head_dim": 64}}
    assert plan(parse_scenario(with_dim), catalog).fits


def test_a_run_of_the_longest_length_allowed_fits(catalog: Catalog) -> None:
    # training.days = 3650 (the schema's maximum) was refused: 'the run would take 3,650
    # days ..., more than the 3,650 days (10 years) a scenario may run'
    data = {**SMALL, "gpus": 8, "training": {"days": 3650}}
    result = plan(parse_scenario(data), catalog).to_dict()
    assert result["fits"], result["infeasible_reason"]
    assert result["run"]["days"] == pytest.approx(3650, rel=1e-9)


def test_stages_longer_than_a_scenario_may_run_are_infeasible(catalog: Catalog) -> None:
    # two stages of 3,650 days each were planned as one run of 7,300 days, fits true
    data = {**SMALL, "stages": [{"days": 3650}, {"days": 3650}]}
    result = plan(parse_scenario(data), catalog).to_dict()
    assert result["fits"] is False
    assert result["infeasible_reason"].startswith("the stages take 7,300 days in all, more than")


def test_a_stage_clip_error_names_the_stage(catalog: Catalog) -> None:
    # named training.clip, a key the scenario did not have
    clip = {"seconds": 3600, "fps": 1000}  # 3,600,000 frames: ~1e9 tokens per clip
    data = {**SMALL, "model": "movie-gen-30b", "stages": [{"days": 1, "clip": clip}]}
    assert refused_by_plan(data, catalog).startswith("stages[0].clip: 3600000 frames of 576x1024")


def test_a_bad_stage_is_one_error_not_also_an_empty_list() -> None:
    # added '; and stages = [{}]: Tuple should have at least 1 item after validation, not 0'
    assert refused({**SMALL, "stages": [{}]}) == (
        "stages.0 = {}: give one of samples, steps or days, not none"
    )


def _grid_runs(loss: Any) -> Any:
    from gpuplan.fitting.scaling_fit import LossObservations

    sizes = [(n, d) for n in (1e8, 2e8, 4e8, 8e8, 1.6e9, 3.2e9, 6.4e9) for d in (1e9, 1e10)]
    return LossObservations(
        tuple(n for n, _ in sizes), tuple(d for _, d in sizes), tuple(loss(n, d) for n, d in sizes)
    )


def test_runs_without_a_scaling_law_are_refused() -> None:
    from gpuplan.fitting.scaling_fit import fit_scaling_law

    # a constant loss fits alpha = beta = 0: was a ZeroDivisionError traceback
    with pytest.raises(ScenarioError, match=r"^runs: the losses do not fall with N or D"):
        fit_scaling_law(_grid_runs(lambda n, d: 3.0), bootstrap=2)
    # losses of 1e-300 beside 1e300: was 'ValueError: no finite bootstrap samples'
    extreme = _grid_runs(lambda n, d: 1e-300 if n < 1e9 else 1e300)
    with pytest.raises(ScenarioError, match=r"^runs: "):
        fit_scaling_law(extreme, bootstrap=2)


def test_trends_of_implausible_runs_are_refused_not_overflowed() -> None:
    import datetime as dt

    from gpuplan.fitting.trends import RunPoint, decimal_year, fit_trend

    # 1e30 and 1e10 FLOP two days apart: the bootstrap's growth per year overflowed a float (the
    # first run a year earlier, so that the runs span the year a yearly rate needs)
    runs = [
        RunPoint(name="a", year=2019.0, frontier=True, training_flops=1e22),
        RunPoint(name="b", year=2020.4, frontier=True, training_flops=1e30),
        RunPoint(name="c", year=2020.41, frontier=True, training_flops=1e10),
        RunPoint(name="d", year=2020.42, frontier=True, training_flops=1e22),
    ]
    with pytest.raises(ScenarioError, match=r"^training-compute: the fit reaches 10\^"):
        fit_trend(runs, bootstrap=200)
    # a run dated in the year 9999 was a ValueError ('year 10000 is out of range')
    assert decimal_year(dt.date(9999, 12, 31)) == pytest.approx(9999 + 364 / 365)


def test_four_given_degrees_must_use_every_gpu(catalog: Catalog) -> None:
    # tp, pp, dp and cp given (the schedule searched): 8 x 2 x 3 x 1 = 48 of 64 GPUs was
    # planned, fits true, by the search's fallback to plans using 75% of the GPUs
    parallelism = {"tp": 8, "pp": 2, "dp": 3, "cp": 1, "microbatch": 1}
    data = {**SMALL, "model": "gpt3-175b", "hardware": "b200", "parallelism": parallelism}
    result = plan(parse_scenario(data), catalog)
    assert result.infeasible is not None and result.run is None
    assert result.infeasible.reason == "tp x pp x dp x cp = 8 x 2 x 3 x 1 = 48, not gpus = 64"
    data["parallelism"] = {**parallelism, "dp": 4}  # 8 x 2 x 4 x 1 = 64
    assert plan(parse_scenario(data), catalog).infeasible is None


def test_the_library_plan_takes_a_mapping_and_refuses_a_wrong_catalog(catalog: Catalog) -> None:
    import gpuplan

    # gpuplan.plan({...}) was "AttributeError: 'dict' object has no attribute 'stages'"
    found = gpuplan.plan(SMALL, catalog).to_dict()
    parsed = gpuplan.plan(gpuplan.parse_scenario(SMALL), catalog).to_dict()
    assert (found["plan"], found["run"]) == (parsed["plan"], parsed["run"])  # search: timings
    assert gpuplan.resolve(SMALL, catalog).gpus == 64
    with pytest.raises(ScenarioError, match=r"^a scenario must be a mapping, got NoneType$"):
        gpuplan.plan(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^catalog must be a gpuplan.Catalog .*, not str$"):
        gpuplan.plan(SMALL, "catalog")  # type: ignore[arg-type]


def test_an_uncertain_packed_sample_length_reuses_plan_searches() -> None:
    # every sample of a continuous packed_sample_tokens ran its own plan search (40 samples
    # of DeepSeek-V3 on 1,024 MI300X: over 30 s); like the GPUs, batch and sequence length,
    # its draws are quantised to at most 16 values when a search runs
    from gpuplan.scenario.distributions import find_distributions
    from gpuplan.studies.uncertainty import draw_samples, run_uncertainty

    packed = {"dist": "loguniform", "low": 100, "high": 1000}
    data = {**SMALL, "training": {"packed_sample_tokens": packed}}
    draws = draw_samples(find_distributions(data), 200, searched=True)
    assert len(set(draws.values["training.packed_sample_tokens"])) <= 16
    found = run_uncertainty(data, samples=40).to_dict()
    assert any("training.packed_sample_tokens: draws quantised to" in n for n in found["notes"])


def test_a_boolean_in_a_distribution_is_named_a_boolean() -> None:
    from gpuplan.scenario.distributions import find_distributions

    # said 'must be a finite number' of True, unlike every other numeric field
    with pytest.raises(ScenarioError) as caught:
        find_distributions({**SMALL, "site": {"pue": {"low": True, "high": 3}}})
    assert str(caught.value) == "site.pue.low = True: must be a number, not the boolean true"
