"""The held-out rows apart: by source and by precision (issue 13's acceptance)."""

from __future__ import annotations

from gpuplan.catalog import Catalog
from gpuplan.checks.breakdown import HELD_OUT, held_out_groups, sources_over_bar
from gpuplan.checks.validation import check_targets, validate
from gpuplan.report.breakdown import breakdown_dict


def test_groups_partition_the_held_out_rows(catalog: Catalog) -> None:
    rows = validate(catalog)
    groups = held_out_groups(rows)
    target = next(t for t in check_targets(rows) if t.target.id == HELD_OUT)
    for kind in ("source", "precision"):
        assert sum(g.summary.rows for g in groups if g.kind == kind) == target.summary.rows
    assert {g.name for g in groups if g.kind == "precision"} <= {"bf16/fp16", "fp8"}
    assert "korthikanti2022" not in {g.name for g in groups}
    # Issue 13: every row with a stated plan is answered; no held-out source has a median
    # |error| above 10%: WhiteFiber's two H200 rows (torchtitan) at 8.25% since the forward
    # FP8 GEMMs accumulate fast on Hopper (10.07% before, predicted slow; test_validation);
    # MegaScale's Megatron-LM baseline the closest at 9.6%, predicted fast (Jiang et al. 2024).
    assert all(g.unanswered == 0 for g in groups)
    assert sources_over_bar(groups) == []
    assert len(breakdown_dict(groups)["held_out_breakdown"]) == len(groups)
