"""``gpuplan demo``'s video table: the seed article's video claims as video runs
(:mod:`gpuplan.studies.video_seed`), a P10-P90 band where an input is unknown."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gpuplan.report import humanize as hz

ROWS: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("Clips seen", "run.samples", hz.number),
    ("GPU-hours", "run.gpu_hours", hz.number),
    ("MFU (modelled)", "step.mfu", hz.percent),
    ("Facility power, average", "power.facility_w", hz.watts),
    ("Energy", "energy.mwh", lambda v: hz.watt_hours(v * 1e6)),
    ("CO2", "emissions.tco2e", hz.tonnes),
    ("Cost, amortised hardware + energy", "cost.amortized_usd", hz.usd),
    ("Cost, cloud rental", "cost.cloud_usd", hz.usd),
)


def _band(
    numbers: dict[str, dict[str, float | None]], key: str, fmt: Callable[[float], str]
) -> str:
    q = numbers.get(key)
    if q is None or q["p50"] is None:
        return "—"
    low, mid, high = q["p10"], q["p50"], q["p90"]
    if low == high or low is None or high is None:
        return fmt(mid)
    return f"{fmt(mid)} (P10-P90 {fmt(low)} to {fmt(high)})"


def _clip(run: dict[str, Any]) -> str:
    clip = run["model"]["clip"] or {}
    return (
        f"{clip.get('frames')} frames × {clip.get('height')}×{clip.get('width')} px "
        f"({hz.number(clip.get('latent_tokens') or 0)} tokens)"
    )


def video_demo_table(runs: Sequence[dict[str, Any]], days: float) -> Group:
    table = Table(
        title=f"The article's video claims as video runs: what {days:g} days buy",
        header_style="bold",
    )
    table.add_column("", style="bold")
    for run in runs:
        table.add_column(run["label"], justify="right")
    table.add_row("Model", *(run["model"]["id"] for run in runs))
    table.add_row("Clip", *(_clip(run) for run in runs))
    for label, key, fmt in ROWS:
        table.add_row(label, *(_band(run["numbers"], key, fmt) for run in runs))
    table.add_row("Predicted loss", *("not modelled" for _ in runs))
    notes = Text()
    for run in runs:
        notes.append(f"• {run['label']}: {run['claim']}; ")
        notes.append(f"{run['source']}\n", style="dim")
    if runs and runs[0]["loss_note"]:
        notes.append(f"• {runs[0]['loss_note']}\n")
    return Group(table, notes)
