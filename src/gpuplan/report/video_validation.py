"""``gpuplan validate``'s video table: published video DiT throughput against the model
(:mod:`gpuplan.checks.video`), and the held-out median against its target."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gpuplan.checks.video import VideoRow, summarize_video


def _figure(value: float) -> str:
    """Whole numbers from 100 up (tokens/s, TFLOP/s), three significant figures below
    (clips/s/GPU)."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def video_table(rows: list[VideoRow]) -> Group:
    table = Table(title="Video diffusion transformers: published training throughput")
    for column in ("row", "source", "metric", "measured", "predicted", "error", "plan"):
        right = column in ("measured", "predicted", "error")
        table.add_column(column, justify="right" if right else "left", overflow="fold")
    for r in rows:
        table.add_row(
            r.row.id,
            r.row.group,
            r.metric,
            _figure(r.measured),
            "—" if r.predicted is None else _figure(r.predicted),
            "—" if r.error is None else f"{r.error:+.1%}",
            r.plan,
        )
    s = summarize_video(rows)
    median = "—" if s.median_abs_error is None else f"{s.median_abs_error:.1%}"
    verdict = "PASS" if s.passed else "MISS"
    line = Text(
        f"Video: median |error| {median} over {s.rows} rows from {s.sources} sources, all held "
        f"out (nothing fitted on them); target <= {s.target.median_abs_max:.0%}: {verdict}",
        style="green" if s.passed else "red",
    )
    per_source = ", ".join(f"{g} {m:.1%}" for g, m in s.by_source.items())
    return Group(table, line, Text(f"Median |error| by source: {per_source}"))


def video_target_dict(rows: list[VideoRow]) -> dict[str, Any]:
    """The video bar in the shape of ``validate --json``'s other targets."""
    s = summarize_video(rows)
    return {
        "id": s.target.id,
        "description": "Published video DiT training throughput, every source held out",
        "rows": s.rows,
        "mean_abs": None,
        "median_abs": s.median_abs_error,
        "p90_abs": None,
        "max_abs": None,
        "passed": s.passed,
        "failures": [] if s.passed else ["median_abs"],
        "source": s.target.source,
    }
