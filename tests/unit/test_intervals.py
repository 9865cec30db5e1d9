"""Prediction intervals from residuals: the random-effects arithmetic by hand, the choice of
comparable rows, the warnings outside the validated range, and the plan's JSON block."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from gpuplan.catalog import Catalog
from gpuplan.catalog.residuals import Residual, generation_of
from gpuplan.planning.intervals import MIN_ROWS, comparable_rows, student_t_quantile
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario


def residual(i: int, source: str, log_ratio: float, gpus: int = 64, **kw: str) -> Residual:
    return Residual(
        id=f"{source}-{i}", source_group=source, accelerator=kw.get("accelerator", "h100-sxm"),
        framework=kw.get("framework", "nemo-2024"), gpus=gpus, precision="bf16",
        measured_step_s=math.exp(log_ratio), predicted_step_s=1.0, log_ratio=log_ratio,
        held_out_by="test", source="test", retrieved=dt.date(2026, 12, 6),
    )  # fmt: skip


def test_random_effects_interval_by_hand() -> None:
    # Two sources, four rows each, no scatter inside a source: mu = 0, tau^2 = var(0.1,
    # -0.1) = 0.02, sigma^2 = 0; k = 2 sources -> Student t with 1 dof, whose 90th
    # percentile is tan(0.4 pi) = 3.0777. Half-width = 3.0777 sqrt(0.02 x 1.5) = 0.5331.
    rows = [residual(i, "a", 0.1) for i in range(4)] + [residual(i, "b", -0.1) for i in range(4)]
    q = comparable_rows("h100-sxm", "nemo-2024", 64, rows).log_quantiles()
    half = math.tan(0.4 * math.pi) * math.sqrt(0.02 * 1.5)
    assert q["p50"] == pytest.approx(0.0, abs=1e-12)
    assert q["p90"] == pytest.approx(half, rel=1e-6)
    assert q["p10"] == pytest.approx(-half, rel=1e-6)


def test_within_source_scatter_widens_the_interval() -> None:
    tight = [residual(i, s, m) for s, m in (("a", 0.1), ("b", -0.1), ("c", 0.0)) for i in range(3)]
    loose = [residual(i, s, m + (0.05 if i % 2 else -0.05))
             for s, m in (("a", 0.1), ("b", -0.1), ("c", 0.0)) for i in range(4)]  # fmt: skip
    q_tight = comparable_rows("h100-sxm", "nemo-2024", 64, tight).log_quantiles()
    q_loose = comparable_rows("h100-sxm", "nemo-2024", 64, loose).log_quantiles()
    assert q_loose["p90"] - q_loose["p10"] > q_tight["p90"] - q_tight["p10"]


def test_comparable_rows_prefer_generation_framework_and_scale() -> None:
    near = [residual(i, "a", 0.0, gpus=128) for i in range(MIN_ROWS)]
    far = [residual(i, "b", 0.0, gpus=8) for i in range(MIN_ROWS)]
    ampere = [residual(i, "c", 0.0, accelerator="a100-80gb") for i in range(MIN_ROWS)]
    basis = comparable_rows("h800", "nemo-2024", 256, near + far + ampere)
    assert {r.source_group for r in basis.rows} == {"a"}  # within 8x of 256 GPUs, Hopper
    assert basis.selection.startswith("hopper, nemo-2024, 32-2,048 GPUs")
    basis = comparable_rows("h100-sxm", "megatron-2022", 256, near + far + ampere)
    assert {r.source_group for r in basis.rows} == {"a", "b"}  # same generation, any framework
    assert generation_of("h800") == generation_of("h200") == "hopper"


def test_outside_the_validated_range_says_so() -> None:
    rows = [residual(i, "a", 0.0, gpus=512) for i in range(MIN_ROWS)]
    basis = comparable_rows("b200", "nemo-2024", 100_000, rows)
    assert len(basis.rows) == MIN_ROWS  # every row: no Blackwell row exists
    text = " ".join(basis.warnings)
    assert "outside validated hardware" in text and "Blackwell" in text
    beyond = "beyond the interval's scale: 100,000 GPUs is 195.3x the largest run its residuals"
    assert f"{beyond} hold (512" in text
    assert not comparable_rows("h100-sxm", "nemo-2024", 512, rows).warnings


def test_plan_json_carries_intervals(catalog: Catalog) -> None:
    result = plan(parse_scenario({"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64,
                                  "framework": "nemo-2024"}), catalog)  # fmt: skip
    block = result.to_dict()["intervals"]
    for key in ("step_time_s", "days", "gpu_hours", "cost_usd"):
        b = block[key]
        assert b["p10"] < b["p50"] < b["p90"], key
        assert b["width"] == pytest.approx((b["p90"] - b["p10"]) / b["p50"])
    assert block["step_time_s"]["point"] == result.to_dict()["step"]["time_s"]
    assert block["days"]["point"] == result.to_dict()["run"]["days"]
    assert block["validated"] and block["basis"]["rows"]
    assert all("nemo2407" in r for r in block["basis"]["rows"])  # Hopper, NeMo, 8-512 GPUs


def test_days_given_bound_tokens_and_mfu_what_if_has_none(catalog: Catalog) -> None:
    base = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64}
    block = plan(parse_scenario({**base, "training": {"days": 30}}), catalog).intervals()
    assert block is not None and "days" not in block and "cost_usd" not in block
    assert block["tokens"]["p10"] < block["tokens"]["p90"]
    what_if = plan(parse_scenario({**base, "training": {"mfu": 0.4}}), catalog)
    assert what_if.intervals() is None


@pytest.mark.parametrize(
    ("p", "dof", "expected"),
    [
        (0.9, 1, math.tan(0.4 * math.pi)),  # Cauchy: tan(pi (p - 1/2))
        (0.9, 2, 0.8 / math.sqrt(2 * 0.9 * 0.1)),  # (2p - 1) / sqrt(2 p (1 - p))
        (0.975, 10, 2.228),  # printed t tables (e.g. Abramowitz & Stegun Table 26.10)
        (0.9, 30, 1.310),
    ],
)
def test_student_t_quantile(p: float, dof: int, expected: float) -> None:
    from scipy.special import stdtrit

    assert student_t_quantile(p, dof) == pytest.approx(expected, abs=5e-4)
    assert student_t_quantile(p, dof) == pytest.approx(float(stdtrit(dof, p)), rel=1e-9)


def test_a_model_kind_never_validated_says_so(catalog: Catalog) -> None:
    # every validation row is a dense text model (measurements.yaml): MoE plans are flagged
    moe = plan(parse_scenario({"model": "mixtral-8x7b", "hardware": "h100-sxm", "gpus": 64,
                               "training": {"tokens": 1e12}}),
               catalog).intervals()  # fmt: skip
    assert moe is not None and not moe["validated"]
    assert "moe model: every validated step time is of a dense model" in moe["warnings"]
    dense = plan(parse_scenario({"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64}),
                 catalog).intervals()  # fmt: skip
    assert dense is not None and not any(
        "validated step time is of" in w for w in dense["warnings"]
    )
