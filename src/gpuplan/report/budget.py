"""What a budget buys (``gpuplan plan --budget-usd/--power-mw/--days``): the chosen run, its
cost split and the GPU counts weighed; the plan itself follows as a plan report."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gpuplan import units
from gpuplan.report import humanize as hz
from gpuplan.report.terminal import plan_report
from gpuplan.studies.budget import BudgetPlan


def budget_report(answer: BudgetPlan) -> Group:
    """The budget, the run it buys, and the plan report of that run."""
    result, asked = answer.result, answer.budget
    wanted = ", ".join(
        text
        for value, text in (
            (asked.usd, f"{hz.usd(asked.usd or 0)}"),
            (asked.mw, f"{asked.mw or 0:,.0f} MW"),
            (asked.days, f"{asked.days or 0:g} days"),
        )
        if value is not None
    )
    table = Table(title=f"What {wanted} buys on {result.resolved.accelerator.name}",
                  show_header=False)  # fmt: skip
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    rows = [("GPUs", f"{result.resolved.gpus:,}")]
    run = result.run
    if run is not None:
        cost = run.cost
        rows += [
            ("Model", f"{result.params.total / units.GIGA:,.0f} billion parameters"),
            ("Tokens", f"{run.compute.tokens / 1e12:,.1f} trillion"),
            ("Days (failures included)", f"{run.reliability.wall_days:.1f}"),
            ("Predicted loss (nats/token)", f"{run.scaling.predicted_loss:.3f}"),
            ("Cost, cloud rental", hz.usd(cost.cloud_usd)),
            ("Cost, amortised hardware", hz.usd(cost.amortized_hardware_usd)),
            ("Cost, energy", hz.usd(cost.energy_usd)),
            ("Cost, amortised facility", hz.usd(cost.amortized_facility_usd)),
            ("Facility power, provisioned", hz.watts(run.power.peak_facility_w)),
        ]
    else:
        reason = result.infeasible.reason if result.infeasible else "no plan"
        rows.append(("No run", reason))
    for label, value in rows:
        table.add_row(label, value)
    weighed = Table(title="GPU counts weighed (best first guess first)")
    for column in ("GPUs", "days", "loss, first guess", "loss, planned"):
        weighed.add_column(column, justify="right")
    for c in answer.candidates[:6]:
        planned = "—" if c.planned_loss is None else f"{c.planned_loss:.4f}"
        weighed.add_row(f"{c.gpus:,}", f"{c.days:.1f}", f"{c.first_guess_loss:.4f}", planned)
    notes = Text("".join(f"• {line}\n" for line in answer.notes))
    return Group(table, weighed, notes, plan_report(result))
