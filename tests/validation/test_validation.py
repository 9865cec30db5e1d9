"""The performance model against published measurements, with its thresholds.

The model's one fitted constant is fitted on Korthikanti et al. 2022; these tests re-run
that fit, check the catalog holds its result, and hold the model to the targets of
validation_targets.yaml that it meets, plus leave-one-out and held-out bounds.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

import gpuplan.checks.validation as v
from gpuplan.catalog import Catalog

KORTHIKANTI_8 = [
    "korthikanti2022-22b-selective", "korthikanti2022-22b-full",
    "korthikanti2022-175b-selective", "korthikanti2022-175b-full",
    "korthikanti2022-530b-selective", "korthikanti2022-530b-full",
    "korthikanti2022-1t-selective", "korthikanti2022-1t-full",
]  # fmt: skip


@pytest.fixture(scope="module")
def rows(catalog: Catalog) -> list[v.ValidationRow]:
    return v.validate(catalog)


def with_efficiency(catalog: Catalog, value: float) -> Catalog:
    parameter = catalog.system("training_kernel_efficiency")
    systems = dict(catalog.systems)
    systems[parameter.id] = parameter.model_copy(update={"value": value})
    return replace(catalog, systems=systems)


def test_catalog_holds_the_fitted_constant(catalog: Catalog) -> None:
    fitted, error = v.fit_kernel_efficiency(catalog, "korthikanti2022")
    assert catalog.system("training_kernel_efficiency").value == pytest.approx(fitted, abs=0.002)
    assert error < 0.03


def test_beats_calculon_on_korthikanti(rows: list[v.ValidationRow]) -> None:
    # Calculon's published validation on these eight points: mean 3.65%, max 8.87%.
    chosen = [r for r in rows if r.id in KORTHIKANTI_8]
    assert len(chosen) == 8
    summary = v.summarize(chosen)
    assert summary.mean_abs < 0.0365
    assert summary.max_abs < 0.0887
    # Issue 13's bars on the same points: mean 2.5%, max 6.5%.
    assert summary.mean_abs <= 0.025
    assert summary.max_abs <= 0.065


def test_korthikanti_leave_one_out(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    # Fit on the other Korthikanti rows, predict the one left out: the honest in-source error.
    everything = v.load_measurements()
    errors = []
    for held in KORTHIKANTI_8:
        rest = {k: m for k, m in everything.items() if k != held}
        monkeypatch.setattr(v, "load_measurements", lambda rest=rest: rest)
        fitted, _ = v.fit_kernel_efficiency(catalog, "korthikanti2022")
        monkeypatch.setattr(v, "load_measurements", lambda: everything)
        row = v.predict_row(everything[held], with_efficiency(catalog, fitted))
        assert row is not None and row.error is not None
        errors.append(abs(row.error))
    assert sum(errors) / len(errors) < 0.0365
    assert max(errors) < 0.0887


def test_every_usable_row_is_predicted(rows: list[v.ValidationRow]) -> None:
    usable = [m for m in v.load_measurements().values() if m.usable_for_validation]
    assert len(rows) >= 70
    assert len(rows) >= len(usable) - 5  # only rows whose published figure we cannot use
    for row in rows:
        assert row.measured_step_s > 0
        if row.predicted_mfu is not None:
            assert 0 < row.predicted_mfu < 1


def test_held_out_sources_stay_at_the_issue_bars(rows: list[v.ValidationRow]) -> None:
    # Issue 13's bars on the sources the model was not fitted on: median |error| <= 5% and
    # 90th percentile <= 12% (a row predicted infeasible counts as a 100% miss). Met since
    # the Triton kernel took its published rates by sequence length (Dao 2023 fig. 4d;
    # 4.30% / 11.47% over the first three sources, from 4.15% / 12.23% with one FA2 /
    # Triton ratio of 1.9), and with MegaScale's Megatron-LM rows (Jiang et al. 2024, 256 to
    # 12,288 GPUs, and Table 3's baseline at batch 256) 4.7% / 11.6%. The median is MISSED
    # since the Megatron-Bridge 25.09 / 25.11 dense Llama 3 rows were added (21 rows on
    # H100, B200 and GB200, held out, nothing tuned to them): 5.03% / 11.9% over 103 rows,
    # and 5.03% / 11.6% since MXFP8 is priced as its own recipe (Transformer Engine's
    # kernel-only MXFP8 / FP8-CS GEMM ratio and its rowwise + columnwise casts; the median
    # row is not an MXFP8 row). Their misses: the MXFP8 rows still -1% to -23%, the H100
    # 70B rows (+10-11%). The bounds below pin today's figures so that they do not get
    # worse; the median bar itself is missed. Per source, bounds a little above today's
    # medians (Narayanan 4.0%, NeMo 2.1%, MosaicML 5.5%, MegaScale 9.6%, Megatron-Bridge
    # 6.4%) stop one source from getting worse.
    # torchtitan's own tables (PyTorch FSDP2, 2024-12 to 2025-06; held out, nothing tuned to
    # them): their H100 rows ran on Meta's H100 variants (96 GB HBM2e at 500 W, or 94 GB),
    # whose peak the source says it does not know and the catalog does not hold, so they are
    # stored, not predicted (as the GB300 rows are; on h100-sxm they were -26.8% to +4.1%,
    # the pool then 5.88% / 14.9% over 132 rows). WhiteFiber's two H200 rows in the same
    # folder are predicted: +10.7% and +9.4% (slow), so the pool is 5.29% / 11.6% over 105
    # rows and that source's median (10.07%) missed the per-source bar; since the H200's
    # GEMM rate is its own MAMF (834, not the H100's 794.5) and its HBM fraction and GEMM
    # shape term the H100's measured ones (efficiency.yaml RULE H200): +8.8% and +7.5%,
    # median 8.1%, pool unchanged (both rows stay above its median). Blackwell's kernel and
    # link rates from published measurements (efficiency.yaml: FlashAttention-4's B200
    # attention 0.561 for the assumed 0.55, GB200's NCCL busbw 0.90 of NVLink5 for the H100's
    # 0.80) make the B200 / GB200 rows, all already fast, 0.5-0.6 points faster: pool median
    # and p90 unchanged, Megatron-Bridge's median 5.9% -> 6.4%. The per-tensor FP8 recipes'
    # forward GEMMs at the fast-accumulation rate on Hopper (efficiency.yaml
    # gemm_fp8_fast_accum_vs_fp8, 1.074, from Transformer Engine's and the lent H100's
    # kernel ratios) make the 23 Hopper FP8 rows 0.9-1.7% faster: WhiteFiber 10.07% -> 8.25%,
    # Megatron-Bridge 6.4% -> 5.9%, NeMo 24.07 2.06% -> 2.09% (its rows mostly fast), the pool
    # 5.29% -> 5.34%, p90 11.6% unchanged.
    # llm-foundry's FSDP waits for each layer's backward all-gather (Composer's default
    # BACKWARD_POST, frameworks.yaml zero3_backward_prefetch): every MosaicML row slower,
    # the small micro-batch rows most (13B on H100 -8.5..-11.6% -> +3.8..-5.5%, 70B on 64
    # A100-40GB -27.4% -> -21.1%), the rows already slow slower still (the H100 rows of the
    # small models, +9..+12%): MosaicML's median 5.5% -> 6.4%, the pool 5.29% / 11.6% ->
    # 5.56% / 11.9% with the changes above. Composer's DecoupledAdamW counted from its code
    # (frameworks.yaml optimizer_bytes_per_param 92, not the fused 38; the rule written
    # before the effect was computed): every MosaicML row 0.0-3.4 points slower, MosaicML's
    # median 6.42% -> 6.56%, p90 12.0% -> 12.2%; the pool 5.56% / 11.9% unchanged.
    # Megatron-Bridge audit (issue 13): MXFP8 weights gathered in BF16, the 25.11 MXFP8
    # 405B recipe's unoverlapped parameter gather, and the 25.11 H100 8B row's recompute
    # unstated (its preset contradicts the table): Megatron-Bridge 5.91% / 10.8% -> 5.86% /
    # 9.6%, the pool 5.56% / 11.87% -> 5.56% / 11.85%.
    # Narayanan audit (megatron-lm-2021 as the SC21 scripts ran it at 6985e589: fp16 gradient
    # all-reduce, 2 bytes; the weight gradients added per micro-batch in a separate kernel, 6
    # bytes per parameter; the fp16 optimizer, 52 bytes; and, with megatron-2022, the all-gather
    # that rebuilds each pipeline send over the TP group, then training_kernel_efficiency
    # refitted 0.906 -> 0.909): Narayanan 4.03% / 7.01% -> 3.79% / 5.55%, MosaicML 6.24%,
    # MegaScale 9.79%, Megatron-Bridge 6.18%, NeMo 2.08%; the pool 5.56% / 11.9% -> 5.38% / 11.8%.
    # The MPT rows as llm-foundry 061f2c7c builds them (learned positions, no RoPE pass; one
    # tied embedding table; measurements.yaml), measured alone on the tree before the
    # Narayanan audit: each 0.5-2.2 points faster, MosaicML's median 6.56% -> 5.49%, p90
    # 12.2% -> 11.1%; the pool 5.56% / 11.9% -> 5.38% / 11.45%. The same rule on the
    # MegaScale (Megatron-LM 285068c8) and NeMo GPT-3 5B/20B rows, read from their code, makes
    # those rows (already fast) 0.1-1.8 points faster: MegaScale 9.58% -> 9.81%, NeMo 2.09%
    # -> 2.35%, the pool 5.38% / 11.45% -> 5.53% / 11.60%. Both audits together: the pool
    # 5.21% / 11.4%, MegaScale 10.02% (over its 10% bar: every change of this session made its
    # rows, fast already, faster). The same rule for dropout (measurements.yaml header: the
    # run's hidden and attention dropout, read from its code; written before the effect was
    # computed): MegaScale (Megatron-LM 285068c8 defaults 0.1 / 0.1) and NeMo GPT-3 5B/20B
    # (launcher 24.07 yamls 0.1 / 0.1) with the masks, MPT and Nemotron without (0.0): the
    # MegaScale rows 2.0-5.9 points slower (the 175B plans now need selective recompute),
    # MegaScale 10.02% -> 4.23%, NeMo 2.60% -> 2.45%; the pool 5.21% / 11.4% -> 4.48% / 10.3%:
    # the issue-13 median bar met again.
    held_out = [r for r in rows if r.source_group != "korthikanti2022"]
    summary = v.summarize(held_out, infeasible_error=1.0)
    assert summary.rows == 105
    assert summary.median_abs <= 0.046
    assert summary.p90_abs <= 0.105
    assert summary.median_abs <= 0.05  # the issue-13 median bar, met
    assert summary.p90_abs <= 0.12  # the issue-13 p90 bar, met
    groups = ("narayanan2021", "nemo2407", "mosaicml", "megascale2024", "megatronbridge")
    by_source = {g: v.summarize([r for r in held_out if r.source_group == g]) for g in groups}
    titan = v.summarize([r for r in held_out if r.source_group.startswith("torchtitan")])
    assert titan.rows == 2 and titan.median_abs < 0.07
    assert by_source["narayanan2021"].median_abs < 0.04
    assert by_source["nemo2407"].median_abs < 0.03
    assert by_source["mosaicml"].median_abs < 0.056
    assert by_source["megascale2024"].median_abs < 0.043  # the 10% bar, met
    assert by_source["megatronbridge"].rows == 21
    assert by_source["megatronbridge"].median_abs < 0.063


def test_targets_report_misses(
    rows: list[v.ValidationRow], monkeypatch: pytest.MonkeyPatch
) -> None:
    results = {t.target.id: t for t in v.check_targets(rows)}
    assert results["korthikanti-end-to-end"].passed
    # Issue 13's bars on the same eight rows (mean 2.5%, max 6.5%), through the target.
    issue13 = results["korthikanti-issue-13"]
    assert issue13.summary.rows == 8 and issue13.passed
    held = results["held-out-sources"]
    assert held.summary.rows >= 60
    # Issue 13's held-out bars (median 5%, p90 12%, each source's median 10%): met until the
    # Megatron-Bridge dense rows came in (MegaScale at 9.6%, Megatron-Bridge at 5.9%: each
    # source under 10%); with them the pooled median (5.03%) is missed, and the target
    # says so. torchtitan's folder adds WhiteFiber's two H200 rows (its H100 rows are not
    # predicted: the chip is not in the catalog), 5.29%; their own median meets the per-source
    # bar since the H200 rates rest on H200 measurements (efficiency.yaml RULE H200) and the
    # per-tensor FP8 recipes' forward GEMMs accumulate fast on Hopper
    # (gemm_fp8_fast_accum_vs_fp8): 5.34%. llm-foundry's exposed backward all-gathers (FSDP
    # BACKWARD_POST) move the pooled median to 5.56%. The Narayanan audit (Megatron-LM 2021's
    # fp16 gradients, unfused gradient accumulation, fp16 optimizer, the gather of pipeline
    # sends; the constant refitted to 0.909): 5.38%. The MPT, MegaScale and NeMo GPT-3 rows'
    # learned position tables and tied embeddings (no RoPE pass, one embedding table;
    # measurements.yaml): 5.21%, and MegaScale's median over the per-source bar. The dropout
    # masks of the MegaScale and NeMo GPT-3 rows, as their code sets them (measurements.yaml):
    # 4.48%, MegaScale 4.23%; every bar met.
    assert held.passed
    assert held.failures == ()
    # A bar below what the model reaches is reported as a miss, in words; so is a source
    # whose median misses the per-source bar, each source named.
    strict = held.target.model_copy(update={"median_abs_max": 0.01, "source_median_abs_max": 0.001})
    monkeypatch.setattr(v, "load_targets", lambda: {strict.id: strict})
    (missed,) = v.check_targets(rows)
    assert not missed.passed
    assert missed.failures[0].startswith("median ") and "> 1.00%" in missed.failures[0]
    sources = [f.split()[1] for f in missed.failures if f.startswith("source ")]
    assert sources == [
        "megascale2024", "megatronbridge", "mosaicml", "narayanan2021", "nemo2407",
        "torchtitan2025",
    ]  # fmt: skip
    assert all(f.endswith("> 0.10%") for f in missed.failures if f.startswith("source "))


def test_nemo_sft_rows_pack_squad_samples() -> None:
    # NeMo 24.07's SFT rows pack SQuAD v1.1 to 4,096 tokens with attention per sample. Mean
    # sample: 79,346,108 bytes / 87,599 examples (the dataset card) at ~4 bytes per token.
    measurements = v.load_measurements()
    for rid in ("nemo2407-llama2-7b-sft-8gpu", "nemo2407-llama2-13b-sft-8gpu",
                "nemo2407-llama2-70b-sft-16gpu"):  # fmt: skip
        assert measurements[rid].packed_sample_tokens == round(79_346_108 / 87_599 / 4)
    assert all(m.packed_sample_tokens is None for m in measurements.values()
               if "sft" not in m.id and "lora" not in m.id)  # fmt: skip
