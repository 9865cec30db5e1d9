"""The held-out rows of ``gpuplan validate`` by source and by precision.

Issue 13's acceptance reads the held-out step-time errors apart: no single source with a
median |error| above 10%, BF16 (and FP16) rows apart from FP8 rows, and every row with a
stated plan answered. This module groups the rows the ``held-out-sources`` target selects
(``validation_targets.yaml``); it computes nothing the target does not.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpuplan.checks.validation import (
    ErrorSummary,
    ValidationRow,
    load_measurements,
    load_targets,
    select_rows,
    summarize,
)

HELD_OUT = "held-out-sources"


@dataclass(frozen=True)
class Group:
    """One group of held-out rows and its error summary (infeasible rows count 100%)."""

    kind: str
    """'source' or 'precision'."""
    name: str
    summary: ErrorSummary
    unanswered: int
    """Rows predicted infeasible although they ran."""


def _precision(row: ValidationRow) -> str:
    precision = load_measurements()[row.id].precision
    return "fp8" if precision == "fp8" else "bf16/fp16"


def held_out_groups(rows: list[ValidationRow]) -> list[Group]:
    """The held-out rows by source group, then by precision."""
    chosen = select_rows(load_targets()[HELD_OUT], rows)
    groups: list[Group] = []
    for kind, key in (("source", lambda r: r.source_group), ("precision", _precision)):
        names = sorted({key(r) for r in chosen})
        for name in names:
            members = [r for r in chosen if key(r) == name]
            unanswered = sum(1 for r in members if r.predicted_step_s is None)
            groups.append(Group(kind, name, summarize(members, 1.0), unanswered))
    return groups


def sources_over_bar(groups: list[Group]) -> list[str]:
    """The held-out sources whose median |error| exceeds the held-out target's per-source
    bar (issue 13: 10%; ``validation_targets.yaml``)."""
    bar = load_targets()[HELD_OUT].source_median_abs_max
    assert bar is not None, "the held-out target names a per-source bar"
    return [g.name for g in groups if g.kind == "source" and not g.summary.median_abs <= bar]
