"""MegaScale's Megatron-LM baseline (Jiang et al. 2024, NSDI, arXiv 2402.15627) as a held-out
source at 256-12,288 GPUs (issue 13): the rows against the paper's own arithmetic, every
row answered on a plan that fits, and what the model says about scale.

Golden values are the paper's (Table 2: iteration time, tokens/s, MFU; Table 3: the
baseline's MFU; Figure 9: MFU) and hand derivations from them, never the code's output.
"""

from __future__ import annotations

import pytest

import gpuplan.checks.validation as v
from gpuplan.catalog import Catalog
from gpuplan.catalog.residuals import load_residuals
from gpuplan.checks.row_plans import best_estimate
from gpuplan.model.step import StepEstimate

# Table 2, Megatron-LM rows: GPUs -> (global batch, iteration s, tokens/s, MFU %).
TABLE_2 = {
    256: (768, 40.0, 39.3e3, 53.0),
    512: (768, 21.2, 74.1e3, 49.9),
    768: (768, 15.2, 103.8e3, 46.7),
    1024: (768, 11.9, 132.7e3, 44.7),
    3072: (6144, 29.02, 433.6e3, 48.7),
    6144: (6144, 14.78, 851.6e3, 47.8),
    8192: (6144, 12.24, 1027.9e3, 43.3),
    12288: (6144, 8.57, 1466.8e3, 41.2),
}
# Table 3, row 1 (baseline: the original Megatron-LM, 175B on 256 GPUs, batch 256): MFU %.
TABLE_3_BASELINE_MFU = 47.7
# Figure 9, Megatron-LM bars (530B, batch = GPUs): GPUs -> MFU %.
FIGURE_9 = {2240: 49.2, 4480: 48.8, 11200: 48.2}


def megatron_flops_per_token(layers: int, hidden: int, vocab: int, seq: int = 2048) -> float:
    """Megatron-LM's model FLOPs per token, 72 l h^2 (1 + s/6h + V/12lh) (a 4h MLP)."""
    return 72 * layers * hidden**2 * (1 + seq / (6 * hidden) + vocab / (12 * layers * hidden))


@pytest.fixture(scope="module")
def rows(catalog: Catalog) -> dict[str, v.ValidationRow]:
    measurements = v.load_measurements()
    out = {}
    for row_id, m in measurements.items():
        if row_id.startswith("megascale2024-"):
            row = v.predict_row(m, catalog)
            assert row is not None, row_id
            out[row_id] = row
    return out


def test_the_rows_are_the_papers_tables() -> None:
    measurements = v.load_measurements()
    for gpus, (batch, step_s, _, mfu) in TABLE_2.items():
        m = measurements[f"megascale2024-175b-megatron-{gpus}gpu"]
        assert (m.gpus, m.global_batch, m.seq_len) == (gpus, batch, 2048)
        assert (m.measured.iteration_time_s, m.measured.mfu_pct) == (step_s, mfu)
        assert m.plan is not None and (m.plan.tp, m.plan.pp, m.plan.interleave) == (8, 8, 6)
        assert m.plan.dp == gpus // 64 and m.plan.microbatch is None  # not published
    for gpus, mfu in FIGURE_9.items():
        m = measurements[f"megascale2024-530b-megatron-{gpus}gpu"]
        assert (m.global_batch, m.measured.mfu_pct) == (gpus, mfu)
        assert m.plan is not None and (m.plan.tp, m.plan.pp, m.plan.interleave) == (8, 35, 3)
    # Table 3's baseline: Table 1's 175B layout (TP 8, PP 8), six interleaved stages (sec. 6.1),
    # 256 GPUs at batch 256, the same cluster ('networking optimizations are turned on for both').
    m = measurements["megascale2024-175b-megatron-256gpu-table3"]
    assert (m.gpus, m.global_batch, m.seq_len) == (256, 256, 2048)
    assert m.measured.mfu_pct == TABLE_3_BASELINE_MFU and m.measured.iteration_time_s is None
    assert m.plan is not None and (m.plan.tp, m.plan.pp, m.plan.dp, m.plan.interleave) == (
        8,
        8,
        4,
        6,
    )
    assert m.plan.microbatch is None and m.plan.zero is None  # not published


def test_table_2_is_consistent_with_a_4h_mlp_at_312_tflops() -> None:
    # The paper's own columns agree with each other on the shape the rows carry (Table 1:
    # 96 layers, hidden 12,288; vocabulary 64,000, sequence 2,048) and a 312 TFLOP/s peak:
    # tokens/s = batch x 2048 / iteration time, and MFU = tokens/s x FLOP/token / (GPUs x 312).
    per_token = megatron_flops_per_token(96, 12288, 64000)
    assert per_token == pytest.approx(1.0774e12, rel=1e-4)
    for gpus, (batch, step_s, tokens_per_s, mfu) in TABLE_2.items():
        assert batch * 2048 / step_s == pytest.approx(tokens_per_s, rel=0.005), gpus
        assert 100 * tokens_per_s * per_token / (gpus * 312e12) == pytest.approx(mfu, abs=0.1)


def test_figure_9_step_time_follows_the_papers_flop_count(rows: dict[str, v.ValidationRow]) -> None:
    # 72 x 2240 x 2048 x 105 x 20480^2 x (1 + 2048/122880 + 64000/25804800) = 1.4825e19 FLOP
    # per step / (0.492 x 312e12 x 2240 GPUs) = 43.12 s.
    row = rows["megascale2024-530b-megatron-2240gpu"]
    assert row.basis == "MFU (Megatron-LM formula)"
    assert row.measured_step_s == pytest.approx(43.115, rel=1e-3)
    for gpus, mfu in FIGURE_9.items():
        step = (
            gpus * 2048 * megatron_flops_per_token(105, 20480, 64000) / (mfu / 100 * 312e12 * gpus)
        )
        assert rows[f"megascale2024-530b-megatron-{gpus}gpu"].measured_step_s == pytest.approx(step)


def test_table_3_step_time_follows_the_papers_flop_count(
    rows: dict[str, v.ValidationRow],
) -> None:
    # 72 x 256 x 2048 x 96 x 12288^2 x (1 + 2048/73728 + 64000/14155776) = 5.6486e17 FLOP per
    # step / (0.477 x 312e12 x 256 GPUs) = 14.83 s.
    row = rows["megascale2024-175b-megatron-256gpu-table3"]
    assert row.basis == "MFU (Megatron-LM formula)"
    assert row.measured_step_s == pytest.approx(14.826, rel=1e-3)


def test_per_sequence_cost_is_the_papers_and_a_per_step_cost_is_missing(
    rows: dict[str, v.ValidationRow],
) -> None:
    # Same 256 GPUs, same code and layout, two batches: Table 3 (batch 256, 64 sequences per
    # replica, 14.83 s) and Table 2 (batch 768, 192 per replica, 40.0 s). Published, per
    # sequence per replica (40.0 - 14.83) / 128 = 0.1967 s, and per step 14.83 - 64 x 0.1967
    # = 2.24 s that does not grow with the batch.
    small = rows["megascale2024-175b-megatron-256gpu-table3"]
    large = rows["megascale2024-175b-megatron-256gpu"]
    published_slope = (large.measured_step_s - small.measured_step_s) / 128
    assert published_slope == pytest.approx(0.1967, rel=1e-3)
    assert small.measured_step_s - 64 * published_slope == pytest.approx(2.24, abs=0.01)
    assert small.predicted_step_s is not None and large.predicted_step_s is not None
    slope = (large.predicted_step_s - small.predicted_step_s) / 128
    # Without dropout the model's slope was the paper's within 1% (0.1955 s). With the masks
    # Megatron-LM 285068c8 trains with (--attention-dropout and --hidden-dropout 0.1;
    # measurements.yaml) each sequence streams 5 more bytes per unfused score element
    # forward, 15 backward, and the kept scores and masks no longer fit without selective
    # recompute, which runs the attention core's forward again: per sequence and stage
    # 16 heads x 2048^2 x 12 layers x (5 + 15 + 9 + 4) B = 26.6 GB, ~13 ms at 2.04 TB/s, the
    # recomputed score GEMMs aside. The model's slope is now above the paper's, by < 5%.
    assert published_slope < slope < 1.05 * published_slope
    # The model's per-step part, by hand at line rate: the interleaved bubble 7/6 x 2
    # sequences (micro-batch 2, searched) x ~0.205 s = 0.48 s, the fp32 gradient all-reduce
    # over DP 4 (2 x 3/4 x 2.72e9 parameters x 4 B = 16.3 GB through one 25 GB/s NIC: 0.65 s;
    # not overlapped at 285068c8) and Adam (38 B x 2.72e9 through ~2 TB/s: 0.05 s): 1.18 s, a
    # little more below line rate. The paper's 2.24 s leaves about 1 s per step that neither
    # the paper nor the code at 285068c8 attributes (measurements.yaml, notes of
    # megascale2024-175b-megatron-256gpu).
    intercept = small.predicted_step_s - 64 * slope
    assert 1.1 <= intercept <= 1.4
    assert 0.8 <= small.measured_step_s - 64 * published_slope - intercept <= 1.2


def test_every_row_is_answered_on_a_searched_plan_that_fits(
    catalog: Catalog, rows: dict[str, v.ValidationRow]
) -> None:
    assert len(rows) == 12
    headroom = catalog.system("allocator_headroom_fraction").for_accelerator("a100-80gb")
    capacity = catalog.accelerator("a100-80gb").hbm_bytes * (1 - headroom)
    for row_id, row in rows.items():
        assert row.predicted_step_s is not None and row.error is not None, row_id
        assert "searched within megatron-2022" in row.note
        m = v.load_measurements()[row_id]
        estimate = best_estimate(m, catalog, v._model_of(m, catalog), "megatron-2022")
        assert isinstance(estimate, StepEstimate)
        assert estimate.memory.total_bytes <= capacity  # a searched plan keeps the headroom
        assert estimate.plan.tensor_parallel * estimate.plan.pipeline_parallel == (
            64 if "175b" in row_id else 280
        )


def test_the_searched_schedule_is_the_stacks_fastest(catalog: Catalog) -> None:
    # Any other schedule the stack can run is no faster: here selective recompute, which
    # Korthikanti et al. 2022 ran on the same code, costs its recomputed attention.
    m = v.load_measurements()["megascale2024-175b-megatron-256gpu"]
    model = v._model_of(m, catalog)
    best = best_estimate(m, catalog, model, "megatron-2022")
    assert isinstance(best, StepEstimate)
    for recompute in ("selective", "full"):
        plan = m.plan.model_copy(update={"microbatch": 1, "sequence_parallel": True,
                                          "recompute": recompute})  # fmt: skip
        other = best_estimate(m.model_copy(update={"plan": plan}), catalog, model,
                                 "megatron-2022")  # fmt: skip
        assert isinstance(other, StepEstimate)
        assert other.time_s > best.time_s, recompute


def test_searched_rows_give_no_residual() -> None:
    # Their prediction is the stack's best plan, a bound rather than the published plan's
    # time: the prediction intervals stand on rows whose plan is published.
    assert not [r.id for r in load_residuals() if r.source_group == "megascale2024"]


def test_more_ranks_at_the_same_work_per_replica_are_never_faster(
    rows: dict[str, v.ValidationRow],
) -> None:
    # 768 and 6,144 GPUs both run 64 sequences per replica (768/12, 6144/96); 1,024 and 8,192
    # both 48. The published times differ by -2.8% and +2.9%; the model adds the straggler
    # wait and the all-reduce over 8x the ranks: slower, by less than 5%.
    for small, large in ((768, 6144), (1024, 8192)):
        a = rows[f"megascale2024-175b-megatron-{small}gpu"].predicted_step_s
        b = rows[f"megascale2024-175b-megatron-{large}gpu"].predicted_step_s
        assert a is not None and b is not None
        assert a <= b <= 1.05 * a, (small, large)


def test_the_cluster_is_the_papers_network(catalog: Catalog) -> None:
    # Sec. 3.6: eight 200 Gb/s NICs per 8-GPU server, multi-rail, 1:1 at every switch layer,
    # up to 64 servers (512 GPUs) under one set of ToR switches, RoCE congestion control.
    cluster = catalog.cluster_measured_on("megascale2024-175b-megatron-12288gpu")
    assert cluster is not None and cluster.id == "bytedance-megascale-ampere"
    assert cluster.scaleout_gbit_per_s == 8 * 200 / 8
    assert cluster.rail_optimized and cluster.transport == "roce"
    assert [(t.gpus, t.oversubscription) for t in cluster.fabric] == [(64 * 8, 1.0)]


def test_the_530b_layout_is_slower_here_than_on_selene_by_more_than_the_model_can_say(
    catalog: Catalog, rows: dict[str, v.ValidationRow]
) -> None:
    # Korthikanti et al. 2022 sec. 6.3 ran the same layout with the same code family on Selene
    # (TP 8, PP 35, DP 8, batch 2,240, micro-batch 1, selective recompute, sequence parallel):
    # 39.15 s; Figure 9 here gives 49.2% MFU, 43.1 s by the paper's FLOP count, 10% slower.
    # The shapes differ only in 160 against 128 heads (the same FLOPs) and a vocabulary of
    # 64,000 against 51,200 on the last stage (V / 12lh = 0.25% of the FLOPs): the model can
    # give the two no more than ~3% apart on networks of the same 200 Gb/s per GPU, so the
    # gap is between the clusters and stacks, which the paper does not state. (Both train
    # with dropout, and the unfused attention streams scores and masks per head: 160 heads
    # of 128 stream 25% more score elements than 128 of 160, 20 against 16 x 2048^2 per
    # layer and micro-batch per GPU x 45 B (forward 9, backward 27, recompute 9) = 0.76 GB
    # more, ~0.37 ms of a ~45 ms layer (0.8%), and run their score GEMMs on other shapes:
    # 2.3% apart. They were within 1% while the MegaScale rows left their masks out.)
    here = rows["megascale2024-530b-megatron-2240gpu"]
    assert here.measured_step_s == pytest.approx(43.1, abs=0.05)
    selene = v.load_measurements()["korthikanti2022-530b-selective-2240gpu"]
    assert selene.measured.iteration_time_s == 39.15
    assert here.measured_step_s / 39.15 - 1 == pytest.approx(0.10, abs=0.005)
    assert selene.plan is not None
    plan = selene.plan.model_copy(update={"interleave": 3})  # the 280-GPU run's, as here
    other = v.predict_row(selene.model_copy(update={"plan": plan}), catalog)
    assert other is not None and other.predicted_step_s is not None
    assert here.predicted_step_s is not None
    assert 1.0 < here.predicted_step_s / other.predicted_step_s < 1.03
