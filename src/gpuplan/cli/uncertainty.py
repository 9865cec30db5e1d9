"""``gpuplan plan`` for a scenario with ranges or distributions: P10/P50/P90 and drivers.

``cli.plan`` calls :func:`print_uncertainty` when
:func:`gpuplan.studies.uncertainty.has_distributions` finds a range in the scenario mapping.
Bad input raises :class:`ScenarioError`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from rich.console import Console, Group
from rich.table import Table

from gpuplan.report import humanize as hz
from gpuplan.report.intervals import combined_rows
from gpuplan.studies.uncertainty import HEADLINE_OUTPUTS, UncertaintyResult, run_uncertainty

TABLE_OUTPUTS: dict[str, tuple[str, Callable[[float], str]]] = {
    "run.days": ("time to train", hz.days),
    "run.gpu_hours": ("GPU-hours", hz.number),
    "step.mfu": ("MFU", hz.percent),
    "power.facility_w": ("facility power", hz.watts),
    "energy.mwh": ("energy", lambda mwh: hz.watt_hours(mwh * 1e6)),
    "emissions.tco2e": ("emissions", hz.tonnes),
    "cost.cluster_capex_usd": ("cluster capex", hz.usd),
    "cost.amortized_usd": ("amortised cost", hz.usd),
    "cost.energy_usd": ("energy cost", hz.usd),
    "cost.cloud_usd": ("cloud rental", hz.usd),
}
"""The headline outputs the table shows (when they vary), with their formatters."""

SHORT = {
    "run.days": "days",
    "cost.amortized_usd": "amortised",
    "cost.cluster_capex_usd": "capex",
    "power.facility_w": "power",
    "emissions.tco2e": "CO2e",
}


def uncertainty_report(result: UncertaintyResult) -> Group:
    """The P10/P50/P90 table of the headline outputs, the drivers and the notes."""
    title = f"Spread over {result.samples:,} samples (seed {result.seed})"
    if result.feasible_samples < result.samples:
        title += f"; the {result.feasible_samples:,} that fit"
    spread = Table(title=title)
    for column in ("output", "P10", "P50", "P90", "mean"):
        spread.add_column(column, justify="left" if column == "output" else "right")
    for key, (label, show) in TABLE_OUTPUTS.items():
        s = result.outputs.get(key)
        if s is not None:
            spread.add_row(f"{label} ({key})", show(s.p10), show(s.p50), show(s.p90), show(s.mean))

    drivers = Table(title="What drives the spread (Spearman rank correlation)")
    drivers.add_column("input")
    drivers.add_column("distribution")
    drivers.add_column("mean |rho|", justify="right")
    for key in HEADLINE_OUTPUTS:
        drivers.add_column(SHORT[key], justify="right")
    for d in result.drivers:
        cells = [f"{d.rank_correlation[k]:+.2f}" if k in d.rank_correlation else "—"
                 for k in HEADLINE_OUTPUTS]  # fmt: skip
        drivers.add_row(d.input, d.distribution, f"{d.importance:.2f}", *cells)
    notes = Table.grid(padding=(0, 1))
    for note in result.notes:
        notes.add_row("•", note)
    combined = Table(title="With the model's error (validation residuals) combined")
    for name in ("quantity", "P10", "P50", "P90"):
        combined.add_column(name, justify="left" if name == "quantity" else "right")
    for label, values in combined_rows(result.intervals):
        combined.add_row(label, *values)
    if result.intervals is None:
        return Group(spread, drivers, notes)
    return Group(spread, combined, drivers, notes)


def print_uncertainty(
    data: Mapping[str, Any],
    *,
    samples: int,
    seed: int,
    as_json: bool,
    console: Console | None = None,
) -> None:
    """Run the Monte Carlo of ``data`` and print the table or, with ``as_json``, the JSON."""
    result = run_uncertainty(data, samples=samples, seed=seed)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        (console or Console()).print(uncertainty_report(result))
