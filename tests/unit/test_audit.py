"""Audits of disclosed runs (gpuplan.checks.audit): golden values are hand arithmetic on the
disclosed figures, written out here."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuplan.catalog import Catalog, load_catalog
from gpuplan.checks.audit import audit, parse_disclosure
from gpuplan.checks.audit_files import catalog_run_audits, load_audits
from gpuplan.checks.claims import check_all, load_claims
from gpuplan.errors import ScenarioError

H100_BF16 = 989.4e12  # dense BF16 FLOP/s (NVIDIA datasheet 1,979 sparse / 2)


def run(catalog: Catalog, **disclosed: object):  # type: ignore[no-untyped-def]
    return audit(parse_disclosure(disclosed, "test"), catalog)


def test_deepseek_v3_pretraining_implies_mfu_and_cost(catalog: Catalog) -> None:
    # arXiv 2412.19437 Table 1 and abstract: 2.664M H800-hours, 14.8T tokens, 37B active.
    a = run(catalog, hardware="h800", gpus=2048, gpu_hours=2.664e6, params=671e9,
            active_params=37e9, tokens=14.8e12, usd_per_gpu_hour=2, precision="fp8")  # fmt: skip
    flops = 6 * 37e9 * 14.8e12  # = 3.2856e24
    assert a.numbers["flops"] == pytest.approx(3.2856e24)
    mfu = flops / (2.664e6 * 3600 * H100_BF16)  # = 0.3463 (H800: H100's tensor peaks)
    assert a.numbers["mfu"] == pytest.approx(0.3463, abs=1e-4)
    assert a.numbers["mfu_vs_precision_peak"] == pytest.approx(mfu / 2, rel=1e-3)  # FP8 = 2x
    assert a.numbers["days"] == pytest.approx(2.664e6 / 2048 / 24)  # 54.2 days
    assert a.numbers["cost_usd_stated_rate"] == pytest.approx(5.328e6)
    goodput = a.numbers["goodput"]
    assert goodput is not None and 0.9 < goodput < 1
    assert a.numbers["goodput_adjusted_mfu"] == pytest.approx(mfu / goodput, rel=1e-3)
    assert a.verdict == "plausible"


def test_deepseek_v3_total_cost_at_two_dollars_and_at_market(catalog: Catalog) -> None:
    a = run(catalog, hardware="h800", gpus=2048, gpu_hours=2.788e6, usd=5.576e6,
            usd_per_gpu_hour=2, precision="fp8")  # fmt: skip
    assert a.numbers["cost_usd_stated_rate"] == pytest.approx(2.788e6 * 2)  # $5.576M
    market = catalog.accelerator("h800").default_cloud.usd_per_hour
    assert a.numbers["cost_usd_market"] == pytest.approx(2.788e6 * market)
    assert any("$5,576,000 vs 2,788,000 GPU-hours x $2.00" in r for r in a.reasons)
    # dollars alone give the GPU-hours back at the stated rate
    b = run(catalog, hardware="h800", gpus=2048, usd=5.576e6, usd_per_gpu_hour=2)
    assert b.numbers["gpu_hours"] == pytest.approx(2.788e6)


def test_more_flops_than_the_peak_is_impossible_with_the_arithmetic(catalog: Catalog) -> None:
    a = run(catalog, hardware="h100-sxm", gpus=1000, days=30, flops=1e26)
    capacity = 1000 * 30 * 86400 * H100_BF16  # 2.5646e24 FLOP at 100% of peak
    assert a.verdict == "impossible"
    assert "720,000 GPU-hours x 3600 s x 9.894e+14 FLOP/s" in a.reasons[0]
    assert f"{capacity:.3g} FLOP at 100% of peak" in a.reasons[0]
    assert f"{1e26 / capacity:.2f}x more than the hardware can do" in a.reasons[0]  # 38.99x


def test_above_every_validated_mfu_is_implausible(catalog: Catalog) -> None:
    flops = 0.95 * 1024 * 10 * 86400 * H100_BF16  # 95% MFU: under the peak, above any run
    a = run(catalog, hardware="h100-sxm", gpus=1024, days=10, flops=flops)
    assert a.verdict == "implausible"
    assert "above the highest MFU measured" in a.reasons[0]


def test_hundred_thousand_gpus_for_one_run(catalog: Catalog) -> None:
    a = run(catalog, hardware="h100-sxm", gpus=100_000, days=90)
    small = run(catalog, hardware="h100-sxm", gpus=1000, days=90)
    assert a.verdict == "plausible"  # physically: nothing implied exceeds a limit
    assert a.numbers["gpu_hours"] == 100_000 * 90 * 24
    assert a.numbers["mtbi_h"] * 100_000 == pytest.approx(small.numbers["mtbi_h"] * 1000)  # type: ignore[operator]
    assert a.numbers["facility_mw"] == pytest.approx(100 * small.numbers["facility_mw"])  # type: ignore[operator]
    assert any("32.6x the largest run whose step time was validated (3,072" in n
               for n in a.range_notes)  # 100,000 / 3,072 = 32.55  # fmt: skip
    assert any("interruption every 30 min" in r for r in a.reasons)


def test_a_job_interrupted_faster_than_it_relaunches_is_impossible(catalog: Catalog) -> None:
    a = run(catalog, hardware="h100-sxm", gpus=10_000_000, days=90)
    assert a.verdict == "impossible"
    assert "cannot make progress" in a.reasons[0]


def test_bad_disclosures_name_the_field() -> None:
    with pytest.raises(ScenarioError, match=r"test\.gpus = -5"):
        parse_disclosure({"hardware": "h100-sxm", "gpus": -5}, "test")
    with pytest.raises(ScenarioError, match="hardware: required"):
        audit(parse_disclosure({"gpus": 5}, "test"), load_catalog())
    with pytest.raises(ScenarioError, match="bogus"):
        parse_disclosure({"hardware": "h100-sxm", "bogus": 1}, "test")


def test_seed_audits_and_audit_claims_in_a_claims_file(catalog: Catalog, tmp_path: Path) -> None:
    names = [d.name for d in load_audits()]
    assert len(names) == 3 and names[0].startswith("C3")
    path = tmp_path / "claims.yaml"
    path.write_text(
        "claims:\n"
        "  - id: D1\n"
        "    statement: 'DeepSeek-V3 cost $5.576M'\n"
        "    quantity: cloud cost of its GPU-hours at market prices\n"
        "    unit: USD\n"
        "    kind: value\n"
        "    claimed: 5.576e6\n"
        "    check: audit\n"
        "    args: {hardware: h800, gpus: 2048, gpu_hours: 2.788e6, report: cost_usd_market}\n"
        "    tolerance: {supported: 0.1, roughly: 0.5}\n"
        "audits:\n"
        "  - {name: x, hardware: h100-sxm, gpus: 1000, days: 30, flops: 1e26}\n"
    )
    (result,) = check_all(catalog, load_claims(path))
    market = 2.788e6 * catalog.accelerator("h800").default_cloud.usd_per_hour
    assert result.computed.value == pytest.approx(market)
    assert result.verdict.value == "understated"  # $5.576M vs $9.5M at $3.42/GPU-hour
    assert "Audit verdict: plausible" in result.computed.explanation
    (one,) = load_audits(path)
    assert audit(one, catalog).verdict == "impossible"
    only = tmp_path / "audits.yaml"
    only.write_text("audits:\n  - {hardware: h100-sxm, gpus: 8, days: 1}\n")
    assert load_claims(only) == [] and len(load_audits(only)) == 1


def test_audit_a_catalog_run(catalog: Catalog) -> None:
    # runs.yaml: DeepSeek-V3 4.56e24 FLOP (Epoch AI) on 2.788M H800-hours (arXiv 2412.19437)
    a = run(catalog, run="deepseek-v3", precision="fp8")
    r = catalog.runs["deepseek-v3"]
    assert r.training_flops is not None and r.gpu_hours is not None
    assert a.numbers["mfu"] == pytest.approx(r.training_flops / (r.gpu_hours * 3600 * H100_BF16))
    assert a.disclosure.precision == "fp8" and a.disclosure.hardware == "h800"
    # Grok 3 as Epoch estimate it: 4.64e26 FLOP on 100,000 H100 in 100 days is 54% MFU over
    # the wall time, above every validated run once the goodput at that scale is taken out.
    g = run(catalog, run="grok-3")
    assert g.numbers["mfu"] == pytest.approx(4.64e26 / (1e5 * 100 * 86400 * H100_BF16), rel=1e-3)
    assert g.verdict == "implausible"
    with pytest.raises(ScenarioError, match="run = 'deepseek'"):
        run(catalog, run="deepseek")


def test_every_catalog_run_audited(catalog: Catalog) -> None:
    audits = {d.run: audit(d, catalog) for d in catalog_run_audits(catalog)}
    assert {"llama-3.1-405b", "deepseek-v3", "gpt3-175b"} <= set(audits)
    # GraphCast: 2.1e22 FLOP (Epoch) on 32 TPU v4 for 28 days is 32 x 275e12 x 28 x 86400 =
    # 2.13e22 at 100% of peak: an estimate made from the hardware, not a measured MFU.
    assert audits["graphcast"].numbers["mfu"] == pytest.approx(2.1e22 / 2.129e22, rel=1e-2)
    assert audits["graphcast"].verdict == "implausible"
    assert audits["llama-3.1-405b"].verdict == "plausible"
