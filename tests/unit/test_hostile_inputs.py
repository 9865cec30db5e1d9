"""Issue 15, a hostile user's second pass: inputs the first fuzz did not reach (claims files,
audits, scaling-fit CSVs, saved plans) that gave a traceback or a silently wrong answer; each
is now one clear line naming the field, the value and what is allowed, or a result with the
reason and its numbers."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from gpuplan.catalog import Catalog
from gpuplan.checks.audit import audit, parse_disclosure
from gpuplan.checks.claims import check, check_all, parse_claims
from gpuplan.cli.app import app
from gpuplan.cli.writes import HTML_SUFFIXES, check_writable
from gpuplan.errors import GpuplanError, ScenarioError
from gpuplan.fitting.scaling_fit import LossObservations, fit_scaling_law
from gpuplan.planning.run import plan
from gpuplan.reliability.analytical import assemble_estimate
from gpuplan.report.data import read_plan
from gpuplan.scenario.parse import parse_scenario
from gpuplan.studies.answer import gpu_counts
from gpuplan.studies.budget import plan_budget
from gpuplan.studies.sweep import parse_sweep

RUNNER = CliRunner()


def claim(**fields: Any) -> dict[str, Any]:
    row = {
        "id": "X1",
        "statement": "s",
        "quantity": "q",
        "unit": "u",
        "kind": "value",
        "claimed": 700,
        "check": "run_h100_equivalents",
        "args": {"run": "stable-video-diffusion"},
        "tolerance": {"supported": 0.25, "roughly": 1.0},
    }
    row.update(fields)
    return row


def cli(*args: str) -> tuple[int, str]:
    """(exit status, output) as ``main`` gives them: a GpuplanError is its one line and 2."""
    result = RUNNER.invoke(app, list(args))
    if isinstance(result.exception, GpuplanError):
        return 2, str(result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


# --------------------------------------------------------------------------- claims files


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # 0 and -700 were a ValueError traceback (math.log of the ratio)
        ({"claimed": 0}, "claim X1, field claimed: must be > 0"),
        ({"claimed": -700}, "claim X1, field claimed: must be > 0"),
        # NaN was accepted and given a verdict
        ({"claimed": float("nan")}, "claim X1, field claimed: Input should be a finite number"),
        ({"kind": "range", "claimed_low": 0, "claimed_high": 5}, "field claimed_low"),
        # a 'supported' band wider than the 'roughly right' one was accepted
        (
            {"tolerance": {"supported": 5, "roughly": 0.1}},
            "field tolerance: supported = 5 must be <= roughly = 0.1",
        ),
    ],
)
def test_a_claim_that_no_verdict_can_read_is_refused_by_name(
    fields: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_claims({"claims": [claim(**fields)]}, "f.yaml")
    assert expected in str(err.value)


def test_a_claim_id_given_twice_is_refused() -> None:
    # the second X1 was checked too; a report by id then showed one of them
    with pytest.raises(ScenarioError, match="claim X1: id given twice"):
        parse_claims({"claims": [claim(), claim(claimed=5)]}, "f.yaml")


def test_an_unknown_run_in_a_claims_args_is_named(catalog: Catalog) -> None:
    # was KeyError: 'nosuch' with a traceback
    (row,) = parse_claims({"claims": [claim(args={"run": "nosuch"})]}, "f.yaml")
    with pytest.raises(ScenarioError) as err:
        check(row, catalog)
    assert str(err.value).startswith("args.run: unknown run 'nosuch'")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # TypeError: int() argument must be ... not 'list'
        (
            {"accelerator": "h100-sxm", "gpus": [1], "years": 5},
            "claim X1 (future_rental): args = ",
        ),
        # ValueError: invalid literal for int() with base 10: 'nosuch'
        ({"accelerator": "h100-sxm", "gpus": "nosuch", "years": 5}, "cannot be used: invalid"),
        # AttributeError: 'int' object has no attribute 'strip'
        ({"accelerator": -1, "gpus": 100000, "years": 5}, "claim X1 (future_rental)"),
        # CatalogError without the claim it came from
        ({"accelerator": "nosuch", "gpus": 100000, "years": 5}, "unknown accelerator 'nosuch'"),
    ],
)
def test_args_of_the_wrong_type_are_a_message_naming_the_claim(
    catalog: Catalog, args: dict[str, Any], expected: str
) -> None:
    (row,) = parse_claims({"claims": [claim(check="future_rental", args=args)]}, "f.yaml")
    with pytest.raises(ScenarioError) as err:
        check(row, catalog)
    assert str(err.value).startswith("claim X1 (future_rental)")
    assert expected in str(err.value)


def test_an_empty_claims_list_checks_nothing_not_the_seed(catalog: Catalog) -> None:
    # an audits-only file (or claims: []) had the seed's ten claims checked and printed
    assert check_all(catalog, []) == []
    assert len(check_all(catalog)) >= 10  # None still means the seed's


def test_check_of_an_audits_only_file_prints_no_seed_claim(tmp_path: Path) -> None:
    path = tmp_path / "audits.yaml"
    disclosure = {"hardware": "h100-sxm", "gpus": 1000, "days": 10, "flops": 1e23}
    path.write_text(yaml.safe_dump({"audits": [disclosure]}))
    code, out = cli("check", str(path))
    assert code == 0
    assert "C1" not in out and "Audit" in out
    empty = tmp_path / "empty.yaml"
    empty.write_text("claims: []\n")
    code, out = cli("check", str(empty))
    assert code == 2 and "holds no claims and no audits" in out


# --------------------------------------------------------------------------- audits


def test_more_active_than_total_parameters_is_refused() -> None:
    # was accepted: 6 x 2e9 active x tokens, on a model of 1e9 parameters
    with pytest.raises(ScenarioError) as err:
        parse_disclosure({"hardware": "h100-sxm", "params": 1e9, "active_params": 2e9}, "--")
    assert str(err.value) == (
        "--active-params = 2000000000.0: must be <= params = 1e+09 (the active ones are a subset)"
    )


def test_more_gpu_hours_than_the_gpus_have_is_impossible(catalog: Catalog) -> None:
    # 10 GPUs for 1 day have 240 GPU-hours; 1e6 disclosed was audited from the 1e6 (and the
    # power and energy from the 240) with no word on the contradiction
    d = parse_disclosure(
        {"hardware": "h100-sxm", "gpus": 10, "days": 1, "gpu_hours": 1e6, "flops": 1e18}, "x"
    )
    result = audit(d, catalog)
    assert result.verdict == "impossible"
    assert result.reasons[0] == (
        "1,000,000 GPU-hours disclosed; 10 GPUs x 1 days x 24 = 240 at most: "
        "4166.67x more than those GPUs have"
    )
    # at most as many GPU-hours as the GPUs have (some idle): no such reason
    fewer = d.model_copy(update={"gpu_hours": 240.0})
    assert not any("more than those GPUs have" in r for r in audit(fewer, catalog).reasons)


# --------------------------------------------------------------------------- scaling-fit

N6 = (1e9, 2e9, 4e9, 8e9, 1e10, 2e10)
D6 = (2e10, 4e10, 8e10, 1e11, 2e11, 4e11)


@pytest.mark.parametrize(
    ("params", "tokens", "losses", "expected"),
    [
        # one loss of 1e300 among 2.0-2.4: math.exp(log B) raised OverflowError
        (N6, D6, (1e300, 2.4, 2.3, 2.2, 2.1, 2.0), "no bootstrap refit gives finite constants"),
        # a loss that does not move: alpha = -2.7e-11 was printed with N_opt ~ C^47.45
        (N6, D6, (2.5,) * 6, "the losses do not fall with N or D (fitted alpha = "),
        # alpha > 0 but beta < 0 (the loss rises with D): printed, a = -0.0014, b = 1.001
        (
            (1, 1e300, 4, 8, 1, 2),
            (1, 1e300, 8, 1, 2, 4),
            (2.0, 2.1, 2.2, 2.3, 2.4, 2.5),
            "the losses do not fall with N or D",
        ),
    ],
)
def test_runs_without_a_scaling_law_in_them_are_refused(
    params: tuple[float, ...], tokens: tuple[float, ...], losses: tuple[float, ...], expected: str
) -> None:
    runs = LossObservations(params, tokens, losses)
    with pytest.raises(ScenarioError) as err:
        fit_scaling_law(runs, bootstrap=3, starts=2)
    assert str(err.value).startswith(f"runs: {expected}")


# --------------------------------------------------------------------------- saved plans


@pytest.fixture(scope="module")
def saved() -> dict[str, Any]:
    scenario = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64}
    return json.loads(json.dumps(plan(parse_scenario(scenario)).to_dict()))


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("run", "days", -5, "run.days = -5: Input should be greater than or equal to 0"),
        ("cost", "cloud_usd", -100, "cost.cloud_usd = -100: Input should be greater than"),
        ("step", "mfu", float("nan"), "step.mfu = nan: Input should be a finite number"),
        ("step", "mfu_vs_precision_peak", 7.0, "= 7.0: Input should be less than or equal to 1"),
        ("run", "goodput", 1.5, "run.goodput = 1.5: Input should be less than or equal to 1"),
        ("energy", "mwh", float("inf"), "energy.mwh = inf: Input should be a finite number"),
        ("step", "gpus_used", -3, "step.gpus_used = -3: Input should be greater than 0"),
    ],
)
def test_an_edited_saved_plan_with_impossible_numbers_is_refused(
    saved: dict[str, Any], section: str, key: str, value: float, expected: str
) -> None:
    # each was rendered into the HTML report as given (days -5, 700% MFU, a negative cost)
    edited = copy.deepcopy(saved)
    edited[section][key] = value
    with pytest.raises(ScenarioError) as err:
        read_plan(edited, "p.json")
    assert expected in str(err.value)
    assert read_plan(saved, "p.json").run is not None  # the file as written still reads


# --------------------------------------------------------------------------- budget questions


def test_a_budget_answer_says_how_much_of_the_budget_the_run_uses(catalog: Catalog) -> None:
    # $10 trillion 'bought' a 90-day run of 131,072 GPUs costing ~$847 million (more GPUs
    # train worse for their failures) and nothing said that 99.99% of it was left unspent
    answer = plan_budget({"hardware": "h100-sxm", "budget": {"usd": 1e13}}, catalog)
    run = answer.result.run
    assert run is not None
    # by hand: every GPU rented for the run's wall days, at the catalog's $2.99 per H100-hour
    spent = answer.result.resolved.gpus * run.reliability.wall_days * 24 * 2.99
    assert spent < 1e10  # the budget is not what bounds this run
    assert answer.notes[-1] == (
        f"The run uses ${spent:,.0f} of the $10,000,000,000,000 at the cloud price "
        f"({spent / 1e13:.2%})."
    )
    days_only = plan_budget({"hardware": "h100-sxm", "gpus": 64, "budget": {"days": 30}}, catalog)
    assert not any(n.startswith("The run uses") for n in days_only.notes)


# --------------------------------------------------------------------------- scenario fields


def test_packed_samples_longer_than_the_sequence_are_refused(catalog: Catalog) -> None:
    # 100,000-token samples packed into Llama 3 8B's 8,192-token sequences were planned as
    # not packed (attention over min(seq_len, sample)) with no word
    data = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64}
    with pytest.raises(ScenarioError) as err:
        plan(parse_scenario({**data, "training": {"packed_sample_tokens": 100_000}}), catalog)
    assert str(err.value) == (
        "training.packed_sample_tokens = 100000: must be <= seq_len = 8192 "
        "(samples are packed into sequences that long)"
    )
    short = {**data, "training": {"seq_len": 4096, "packed_sample_tokens": 4096}}
    assert plan(parse_scenario(short), catalog).fits  # a sample as long as the sequence


@pytest.mark.parametrize("training", [{"tokens": 1}, {"samples": 1}, {"tokens": 1e6}])
def test_fewer_tokens_than_one_optimizer_step_is_a_result_with_the_reason(
    catalog: Catalog, training: dict[str, Any]
) -> None:
    # fit with a run of 0.4 s (samples: 1) on a plan whose step takes seconds: less than one
    # optimizer step cannot be trained
    data = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64}
    batch = {"global_batch": 256, "seq_len": 8192}  # 2,097,152 tokens a step, by hand
    result = plan(parse_scenario({**data, "training": {**training, **batch}}), catalog)
    assert not result.fits and result.infeasible is not None
    tokens = training.get("tokens") or training["samples"] * 8192
    assert result.infeasible.reason == (
        f"{tokens:,.0f} training tokens are less than one optimizer step of this plan "
        "(2,097,152 tokens: the global batch); give more tokens or a smaller global batch"
    )
    one_step = {**data, "training": {**batch, "tokens": 2_097_152}}
    assert plan(parse_scenario(one_step), catalog).fits  # exactly one step trains


# --------------------------------------------------------------------------- serve


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # listened on every interface (as 0.0.0.0, not asked for), banner http://:8766/
        (["--host", ""], "--host = '': give an interface: 127.0.0.1 (this machine only)"),
        # let requests with an empty Host name through the DNS-rebinding guard
        (["--allow-host", " "], "--allow-host = ' ': give a host name"),
    ],
)
def test_serve_refuses_empty_names_before_it_listens(args: list[str], expected: str) -> None:
    code, out = cli("serve", "--port", "8799", *args)
    assert code == 2 and out.startswith(expected)


# --------------------------------------------------------------------------- output files


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (
            ["report", "--model", "llama3-8b", "--hardware", "h100-sxm", "--gpus", "64", "-o"],
            "--out",
        ),
        (["demo", "--html"], "--html"),
    ],
)
def test_the_html_report_is_not_written_under_another_extension(
    tmp_path: Path, args: list[str], option: str
) -> None:
    # report -o x.pdf wrote HTML into x.pdf (sweep --out already refuses a wrong extension)
    out = tmp_path / "x.pdf"
    code, message = cli(*args, str(out))
    assert code == 2
    assert message == f"{option} = '{out}': unsupported extension; allowed: .html, .htm"
    assert not out.exists()


def test_a_device_is_still_a_place_to_write_to() -> None:
    check_writable(Path("/dev/null"), "--out", HTML_SUFFIXES)  # /dev/stdout and the like
    check_writable(Path("r.HTML"), "--out", HTML_SUFFIXES)


@pytest.mark.parametrize("value", [[64, 64], "8,16,8"])
def test_a_gpu_count_listed_twice_is_refused(value: object) -> None:
    # [64, 64] planned 64 twice and marked one of the two identical rows the shortest run
    with pytest.raises(ScenarioError) as err:
        gpu_counts(value)
    assert str(err.value).endswith("is given twice; list each count once")
    assert gpu_counts([8, 16, 64]) == [8, 16, 64]


# --------------------------------------------------------------------------- sweeps


def test_a_grid_value_listed_twice_is_refused() -> None:
    # site.pue: [1.2, 1.3, 1.2] swept every 1.2 row twice (a summary counted them twice)
    base = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64}
    with pytest.raises(ScenarioError) as err:
        parse_sweep({"base": base, "grid": {"site.pue": [1.2, 1.3, 1.2]}})
    assert str(err.value) == "grid.site.pue: 1.2 is listed twice; list each once"
    spec = parse_sweep({"base": base, "grid": {"site.pue": [1.2, 1.3]}})
    assert spec.size == 2


# --------------------------------------------------------------------------- run overheads


def test_the_checkpoint_writes_counted_are_those_the_wall_time_holds() -> None:
    # 100 s of compute, 10% redone after loss spikes: 110 s worked, one segment under the
    # 1,000 s interval, so one 1 s write. The writes were counted as 1 x (1 + 0.1) = 1.1 s,
    # and failures and restarts came out at -0.1 s (the staged Open-Sora plan showed -0.0015 s)
    estimate = assemble_estimate(
        1e9, 8, 100.0, mtbi_s=1e15, checkpoint_size_bytes=1.0, write_s=1.0, restart_s=10.0,
        interval_s=1000.0, rule=None, assumptions=(), redone_fraction=0.1,
    )  # fmt: skip
    assert estimate.checkpointing_s == 1.0
    assert estimate.redone_s == pytest.approx(10.0)
    # by hand: wall = 111 s plus ~1e-12 s of expected failure loss at that MTBI
    assert 0 <= estimate.failure_loss_s < 1e-6
    assert estimate.wall_time_s == pytest.approx(111.0)
