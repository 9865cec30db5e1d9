"""The command line as a user runs it: real processes, real exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from cli_run import run_gpuplan

BASE = ["plan", "--model", "llama3-405b", "--hardware", "h100-sxm", "--gpus", "16384"]


def gpuplan(*args: str) -> subprocess.CompletedProcess[str]:
    return run_gpuplan(*args, timeout_s=120)


def test_plan_json_has_every_design_key(design_keys: list[str]) -> None:
    out = gpuplan(*BASE, "--tokens", "15.6e12", "--global-batch", "2048", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in design_keys:
        node = data
        for part in key.split("."):
            assert part in node, key
            node = node[part]
    assert data["run"]["model_flops"] == pytest.approx(3.8e25, rel=0.06)
    # With a global batch and no parallelism block, the plan is searched.
    assert data["fits"] is True and data["plan"]["tp"] in (1, 2, 4, 8)
    assert data["search"]["feasible"] > 0
    assert (
        sum(data["search"]["pruned"].values()) + data["search"]["feasible"]
        == (data["search"]["enumerated"])
    )
    assert any("found by search" in a for a in data["assumptions"])
    assert 0 < data["step"]["mfu"] < 1
    assert data["memory"]["per_gpu_bytes"] <= data["memory"]["capacity_bytes"]
    assert all(s["source"] for s in data["sources"])


def test_plan_without_a_batch_uses_the_published_batch_and_the_model() -> None:
    # Issue 12: without a batch, the plan used to come from a flat assumed MFU.
    out = gpuplan(*BASE, "--tokens", "15.6e12", "--json")
    data = json.loads(out.stdout)
    assert data["fits"] is True and data["search"]["feasible"] > 0
    assert data["plan"]["global_batch"] == 2048  # Dubey et al. 2024: 2,048 x 8,192 tokens
    assert any("published batch" in a for a in data["assumptions"])
    assert not any("assumed MFU" in a for a in data["assumptions"])


def test_a_run_that_cannot_fit_is_never_reported_as_a_run() -> None:
    # Issue 12: DeepSeek-V3 on one TPU v5e printed 103 years and a cost.
    out = gpuplan("plan", "--model", "deepseek-v3", "--hardware", "tpu-v5e", "--gpus", "1",
                  "--json")  # fmt: skip
    data = json.loads(out.stdout)
    assert data["fits"] is False and data["run"] is None and data["cost"] is None
    assert "does not fit in memory" in data["infeasible_reason"]


def test_seed_capex_is_exactly_three_billion() -> None:
    out = gpuplan(
        "plan", "--model", "llama3-405b", "--hardware", "h100-sxm", "--gpus", "100000",
        "--gpu-usd", "30000", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["cost"]["gpu_capex_usd"] == 3.0e9


def test_plan_from_a_scenario_file_with_flag_override(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "model: llama3-70b\nhardware: h100-sxm\ngpus: 1024\n"
        "training: {tokens: 1.0e12, mfu: 0.5}\nsite: {grid: france, pue: 1.1}\n"
    )
    out = gpuplan("plan", str(scenario), "--days", "10", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["run"]["days"] == pytest.approx(10, rel=1e-3)  # wall-clock, failures included
    assert data["run"]["compute_days"] < 10
    assert data["emissions"]["grid"] == "france"
    assert data["step"]["mfu"] == 0.5


def test_plan_prints_a_readable_table() -> None:
    out = gpuplan(*BASE, "--tokens", "15.6e12")
    assert out.returncode == 0, out.stderr
    assert "Time to train" in out.stdout and "Assumptions" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gpus", "0"], "--gpus = 0: must be > 0"),
        (["--mfu", "1.5"], "--mfu = 1.5: must be <= 1"),
        (["--days", "5000"], "--days = 5000: must be <= 3650"),
        (["--tokens", "-5"], "--tokens = -5: must be >= 1"),
        (["--mfu", "nan"], "--mfu = 'nan': must be a finite number"),
        (["--tokens", "inf"], "--tokens = 'inf': must be a finite number"),
        (["--gpus", "true"], "--gpus = True: must be a number, not the boolean true"),
        (["--tp", "true"], "--tp = True: must be a number, not the boolean true"),
        (["--global-batch", "0"], "--global-batch = 0: must be > 0"),
        (["--model", "llama-405b"], "--model: unknown model 'llama-405b'; did you mean"),
        (["--hardware", "h100x"], "--hardware: unknown accelerator 'h100x'; did you mean"),
        (["--grid", "mars"], "--grid: unknown grid 'mars'"),
        (["--households", "atlantis"], "--households: unknown household country"),
        (["--pue", "0.5"], "--pue = 0.5: must be >= 1"),
        (["--power-usd-per-kwh", "0"], "--power-usd-per-kwh = 0: must be > 0"),
        (["--gpu-usd", "-1"], "--gpu-usd = -1: must be > 0"),
        (["--cloud-usd-per-gpu-hour", "0"], "--cloud-usd-per-gpu-hour = 0: must be > 0"),
        (["--hardware", "v100", "--precision", "fp8"], "v100 has no FP8 tensor path"),
    ],
)
def test_bad_flags_get_one_clear_line(args: list[str], message: str) -> None:
    base = [a for a in BASE]
    out = gpuplan(*base, *args)
    assert out.returncode == 2
    assert out.stderr.startswith("gpuplan: error: ")
    assert message in out.stderr
    assert out.stderr.count("\n") == 1
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "args",
    [["--gpus", "many"], ["--precision", "fp4"], ["--tokens", "lots"]],
)
def test_unparseable_flags_name_the_flag(args: list[str]) -> None:
    out = gpuplan(*BASE, *args)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith(f"gpuplan: error: {args[0]} = {args[1]!r}: ")


def test_missing_scenario_file() -> None:
    out = gpuplan("plan", "/nonexistent/scenario.yaml")
    assert out.returncode == 2
    assert out.stderr.startswith("gpuplan: error: scenario: cannot read")


def test_catalog_lists_sources() -> None:
    out = gpuplan("catalog", "accelerators", "--json")
    data = json.loads(out.stdout)
    assert data["h100-sxm"]["peak_bf16_dense_tflops"] == pytest.approx(989.4, abs=0.5)
    assert all(record["source"] for record in data.values())
    bad = gpuplan("catalog", "gpus")
    assert bad.returncode == 2 and "allowed: accelerators" in bad.stderr


def test_search_prints_best_plans_and_counts() -> None:
    out = gpuplan(
        "search", "--model", "llama3-70b", "--hardware", "h100-sxm", "--gpus", "512",
        "--global-batch", "512", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    (planned,) = json.loads(out.stdout)["results"]
    result = planned["search"]  # the plan's own search block: one schema for plan and search
    assert result["feasible"] > 0 and result["top"]
    assert sum(result["pruned"].values()) + result["feasible"] == result["enumerated"]
    best = result["top"][0]
    assert planned["plan"]["tp"] == best["plan"]["tp"] and planned["run"]["goodput"] < 1
    assert best["memory_per_gpu_bytes"] <= 79.6 * 2**30
    assert best["plan"]["tp"] * best["plan"]["pp"] * best["plan"]["dp"] * best["plan"]["cp"] == 512


def test_search_over_a_range_is_a_scaling_curve() -> None:
    out = gpuplan(
        "search", "--model", "llama3-8b", "--hardware", "h100-sxm", "--gpus", "64..256",
        "--global-batch", "512", "--tokens", "1e12", "--quiet",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "speed-up/GPU" in out.stdout and "days to train" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gpus", "many"], "--gpus = 'many'"),
        (["--gpus", "100..10"], "needs 1 <= low <= high"),
        (["--gpus", "64", "--model", "gpt5"], "unknown model 'gpt5'"),
    ],
)
def test_search_bad_input(args: list[str], message: str) -> None:
    base = ["search", "--model", "llama3-8b", "--hardware", "h100-sxm", "--gpus", "64",
            "--global-batch", "64"]  # fmt: skip
    out = gpuplan(*base, *args)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_check_gives_every_seed_claim_a_verdict() -> None:
    out = gpuplan("check", "--json")
    assert out.returncode == 0, out.stderr
    claims = json.loads(out.stdout)["claims"]
    assert [c["id"] for c in claims] == [f"C{i}" for i in range(1, 11)]
    allowed = {"supported", "roughly-right", "overstated", "understated", "wrong", "unverifiable"}
    assert all(c["verdict"] in allowed and c["explanation"] for c in claims)


def test_validate_reports_targets_and_fails_on_a_miss() -> None:
    out = gpuplan("validate", "--json")
    data = json.loads(out.stdout)
    targets = {t["id"]: t for t in data["targets"]}
    assert targets["korthikanti-end-to-end"]["passed"] is True
    # The exit status follows the targets: 1 while any is missed.
    assert out.returncode == (0 if all(t["passed"] for t in data["targets"]) else 1)
    # The kernel model against the GEMMs and layers timed on a lent H100.
    kernels = {k["id"]: k for k in data["kernels"]}
    assert kernels["h100-sxm-gemm_bf16"]["kernels"] > 800
    assert kernels["h100-sxm-gemm_bf16"]["median_abs"] < 0.05
    # Whole runs against their published totals (reported; no target, so no exit status).
    assert data["totals_summary"]["runs"] == len(data["totals"]) > 0


def test_a_plan_that_cannot_fit_says_by_how_much() -> None:
    out = gpuplan("plan", "--model", "deepseek-v3", "--hardware", "tpu-v5e", "--gpus", "1",
                  "--json")  # fmt: skip
    reason = json.loads(out.stdout)["infeasible_reason"]
    # DeepSeek-V3's 671B parameters: far more than a TPU v5e's 16 GiB, whatever the plan.
    assert reason.startswith("deepseek-v3 on 1 x tpu-v5e does not fit in memory: the smallest")
    assert "a tpu-v5e has 16.0 GiB" in reason


# --------------------------------------------------------------------------- issue 15


def test_an_inconsistent_inline_model_is_one_line(tmp_path: Path) -> None:
    scenario = tmp_path / "inline.yaml"
    scenario.write_text(
        "model: {name: t, layers: 4, hidden: 512, heads: 4, kv_heads: 3, ffn_hidden: 2048,"
        " vocab: 32000, seq_len: 2048}\nhardware: h100-sxm\ngpus: 8\n"
    )
    out = gpuplan("plan", str(scenario))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr == (
        "gpuplan: error: model.kv_heads = 3: must divide heads = 4; allowed: 1, 2, 4\n"
    )


SWEEP = "base: {model: llama3-8b, hardware: h100-sxm, gpus: 1024}\ngrid:\n  site.pue: [1.1, 1.2]\n"


def test_sweep_writes_csv_when_asked(tmp_path: Path) -> None:
    (tmp_path / "sweep.yaml").write_text(SWEEP)
    out = tmp_path / "rows.csv"
    result = gpuplan("sweep", str(tmp_path / "sweep.yaml"), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert lines[0].startswith('"point","site.pue"') and len(lines) == 3


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("rows.xlsx", "unsupported extension; allowed: .parquet, .csv"),
        ("missing/dir/rows.parquet", "does not exist"),
        ("a-file.txt/rows.parquet", "does not exist (or is not a folder)"),
    ],
)
def test_sweep_refuses_an_output_it_cannot_write_before_any_work(
    tmp_path: Path, name: str, words: str
) -> None:
    (tmp_path / "sweep.yaml").write_text(SWEEP.replace("[1.1, 1.2]", "[1.1, 1.2, 1.3, 1.4]"))
    (tmp_path / "a-file.txt").write_text("")
    out = tmp_path / name
    result = gpuplan("sweep", str(tmp_path / "sweep.yaml"), "--out", str(out), "--quiet")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    # The value is cut to 80 characters (issue 15); the reason names the folder in full.
    assert result.stderr.startswith("gpuplan: error: --out = '") and words in result.stderr
    assert str(out.parent) in result.stderr and result.stderr.count("\n") == 1


def test_report_refuses_an_unwritable_path_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "a-file.txt").write_text("")
    out = tmp_path / "a-file.txt" / "report.html"
    result = gpuplan("report", *BASE[1:], "--no-scaling", "-o", str(out))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("gpuplan: error: --out = '")
    assert str(out.parent) in result.stderr


def test_a_failed_write_keeps_the_work(tmp_path: Path) -> None:
    from gpuplan.cli.writes import write_safely
    from gpuplan.errors import ScenarioError

    target = tmp_path / "report.html"
    saved: list[Path] = []

    def write(path: Path) -> None:
        if path == target:
            raise OSError(28, "No space left on device")
        path.write_text("the finished work")
        saved.append(path)

    with pytest.raises(ScenarioError) as caught:
        write_safely(write, target, "--out")
    message = str(caught.value)
    assert message.startswith(f"--out = '{target}': cannot write: No space left on device")
    assert f"the result was saved to {saved[0]}" in message
    assert saved[0].read_text() == "the finished work"
    saved[0].unlink()


@pytest.mark.skipif(not Path("/dev/full").is_char_device(), reason="no /dev/full device")
def test_report_to_dev_full_is_one_line() -> None:
    result = gpuplan("report", *BASE[1:], "--no-scaling", "--tokens", "15.6e12", "-o", "/dev/full")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot write" in result.stderr and result.stderr.count("\n") == 1
    saved = result.stderr.rsplit("saved to ", 1)[-1].strip()
    Path(saved).unlink(missing_ok=True)


def test_serve_on_a_busy_port_says_so() -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = gpuplan("serve", "--port", str(port))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == (
        f"gpuplan: error: --port = {port}: port {port} is already in use on 127.0.0.1; "
        "choose another with --port\n"
    )


def test_a_run_that_cannot_progress_is_infeasible_with_the_arithmetic() -> None:
    # Issue 15: 10,000,000 GPUs printed a run of 15 trillion years at 0% goodput.
    out = gpuplan("plan", "--model", "llama3-8b", "--hardware", "h100-sxm", "--gpus",
                  "10000000", "--json")  # fmt: skip
    data = json.loads(out.stdout)
    assert data["fits"] is False and data["run"] is None and data["cost"] is None
    assert "cannot make progress: one interruption every" in data["infeasible_reason"]
    assert "shorter than a restart and a checkpoint write" in data["infeasible_reason"]
