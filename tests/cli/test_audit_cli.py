"""``gpuplan audit`` and the audits in ``gpuplan check`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cli_run import run_gpuplan


def gpuplan(*args: str) -> subprocess.CompletedProcess[str]:
    return run_gpuplan(*args, timeout_s=120)


def test_audit_flags_json() -> None:
    out = gpuplan("audit", "--hardware", "h800", "--gpus", "2048", "--gpu-hours", "2.664e6",
                  "--active-params", "37e9", "--tokens", "14.8e12", "--precision", "fp8",
                  "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    (a,) = json.loads(out.stdout)["audits"]
    assert a["verdict"] == "plausible"
    assert abs(a["numbers"]["mfu"] - 0.3463) < 1e-3  # 6 x 37e9 x 14.8e12 / (2.664e6 h x peak)


def test_audit_file_and_impossible_table(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("{name: too good, hardware: h100-sxm, gpus: 1000, days: 30, flops: 1e26}\n")
    out = gpuplan("audit", str(path))
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert "IMPOSSIBLE" in text and "38.99x more than the hardware can do" in text


def test_audit_bad_flag_is_one_line() -> None:
    out = gpuplan("audit", "--hardware", "h100-sxm", "--gpus", "0")
    assert out.returncode == 2
    assert out.stderr.strip() == "gpuplan: error: --gpus = 0: must be > 0"


def test_check_includes_the_seed_audits() -> None:
    out = gpuplan("check", "--json")
    assert out.returncode == 0, out.stderr
    audits = json.loads(out.stdout)["audits"]
    assert [a["verdict"] for a in audits] == ["plausible", "plausible", "plausible"]
    assert audits[2]["numbers"]["cost_usd_stated_rate"] == 5.576e6
