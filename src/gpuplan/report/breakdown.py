"""The held-out rows by source and by precision (``gpuplan validate``) and their JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table

from gpuplan.checks.breakdown import Group


def breakdown_dict(groups: Sequence[Group]) -> dict[str, Any]:
    """``held_out_breakdown``: one entry per source and per precision."""
    return {
        "held_out_breakdown": [
            {
                "kind": g.kind,
                "name": g.name,
                "rows": g.summary.rows,
                "mean_abs": g.summary.mean_abs,
                "median_abs": g.summary.median_abs,
                "p90_abs": g.summary.p90_abs,
                "max_abs": g.summary.max_abs,
                "unanswered": g.unanswered,
            }
            for g in groups
        ]
    }


def breakdown_table(groups: Sequence[Group]) -> Table:
    view = Table(title="Held-out sources apart (|error| of step time)")
    for column in ("group", "rows", "mean", "median", "p90", "max", "no answer"):
        view.add_column(column, justify="left" if column == "group" else "right")
    for g in groups:
        s = g.summary
        view.add_row(
            f"{g.kind}: {g.name}", str(s.rows), f"{s.mean_abs:.1%}", f"{s.median_abs:.1%}",
            f"{s.p90_abs:.1%}", f"{s.max_abs:.1%}", str(g.unanswered),
        )  # fmt: skip
    return view
