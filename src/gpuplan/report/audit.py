"""Audits of disclosed runs (:mod:`gpuplan.checks.audit`) as terminal tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gpuplan.checks.audit import Audit
from gpuplan.report import humanize as hz

VERDICT_STYLES = {
    "impossible": "bold red",
    "implausible": "red",
    "plausible": "green",
    "unverifiable": "dim",
}

ROWS: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("flops", "Training compute", hz.flops),
    ("gpus", "GPUs", lambda v: f"{v:,.0f}"),
    ("days", "Days", hz.days),
    ("gpu_hours", "GPU-hours", hz.number),
    ("mfu", "MFU (of dense BF16 peak)", hz.percent),
    ("mfu_vs_precision_peak", "MFU of the training precision's peak", hz.percent),
    ("goodput", "Goodput (failures, checkpoints, restarts)", hz.percent),
    ("goodput_adjusted_mfu", "MFU while running (MFU / goodput)", hz.percent),
    ("mtbi_h", "Mean time between interruptions", lambda v: f"{v:,.2g} h"),
    ("facility_mw", "Facility power, average", lambda v: hz.watts(v * 1e6)),
    ("provisioned_facility_mw", "Facility power, provisioned", lambda v: hz.watts(v * 1e6)),
    ("energy_mwh", "Energy", lambda v: hz.watt_hours(v * 1e6)),
    ("usd_disclosed", "Cost, disclosed", hz.usd),
    ("cost_usd_stated_rate", "Cost at the disclosed rate", hz.usd),
    ("cost_usd_market", "Cost at the market price (catalog default)", hz.usd),
    ("amortized_usd", "Cost, amortised hardware + energy", hz.usd),
)


def audit_report(audits: Sequence[Audit]) -> Group:
    """Each audit: its verdict, the implied numbers, the arithmetic and the validated range."""
    parts: list[Table | Text] = []
    for a in audits:
        style = VERDICT_STYLES.get(a.verdict, "")
        table = Table(title=f"Audit: {a.disclosure.name}", show_header=False)
        table.add_column("", style="bold")
        table.add_column("", justify="right")
        table.add_row("Verdict", Text(a.verdict.upper(), style=style))
        n = a.numbers
        for key, label, show in ROWS:
            value = n.get(key)
            if value is not None:
                table.add_row(label, show(value))
        low, high = n.get("cost_usd_market_low"), n.get("cost_usd_market_high")
        if low is not None and high is not None and high > low:
            table.add_row("Cost over the catalog's cloud prices", f"{hz.usd(low)} - {hz.usd(high)}")
        notes = Text()
        for title, lines in (
            ("Why", a.reasons),
            ("How", a.derivations),
            ("Against the validated range", a.range_notes),
        ):
            if lines:
                notes.append(f"{title}\n", style="bold")
                for line in lines:
                    notes.append(f"• {line}\n")
        parts += [table, notes]
    return Group(*parts)


def audits_table(audits: Sequence[Audit]) -> Table:
    """Many audits, one row each (``gpuplan audit --runs``)."""
    table = Table(title="Audits of published runs (catalog runs.yaml)")
    for name in ("run", "GPUs", "days", "GPU-hours", "FLOPs", "MFU", "while running", "MW",
                 "verdict"):  # fmt: skip
        left = name in ("run", "verdict")
        table.add_column(name, justify="left" if left else "right", overflow="fold")
    for a in audits:

        def cell(key: str, show: Callable[[float], str], a: Audit = a) -> str:
            value = a.numbers.get(key)
            return "—" if value is None else show(value)

        table.add_row(
            a.disclosure.name,
            cell("gpus", lambda v: f"{v:,.0f}"),
            cell("days", lambda v: f"{v:,.0f}"),
            cell("gpu_hours", hz.number),
            cell("flops", lambda v: f"{v:.2g}"),
            cell("mfu", hz.percent),
            cell("goodput_adjusted_mfu", hz.percent),
            cell("facility_mw", lambda v: f"{v:,.1f}"),
            Text(a.verdict, style=VERDICT_STYLES.get(a.verdict, "")),
        )
    return table
