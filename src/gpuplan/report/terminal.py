"""Terminal reports with rich: a plan result, a search, a scaling table, the claims (the seed
demo: :mod:`gpuplan.report.demo`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gpuplan import units
from gpuplan.model.step import InfeasibleKind, StepEstimate
from gpuplan.planning.accounts import RunAccounts
from gpuplan.planning.result import PlanResult
from gpuplan.planning.serialize import run_dict
from gpuplan.report import humanize as hz
from gpuplan.report.intervals import interval_rows
from gpuplan.report.stages import staged_rows
from gpuplan.studies.time_to_train import shortest_run

if TYPE_CHECKING:  # a type only: the claims' study is not imported to print a plan
    from gpuplan.checks.claims import ClaimResult


def plan_report(result: PlanResult) -> Group:
    """The plan as a two-column table (what fits, the step, the run), then its assumptions."""
    r = result.resolved
    table = Table(title=f"{r.model.name} on {r.gpus:,} × {r.accelerator.name}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    rows = _plan_rows(result) + _step_rows(result)
    if result.stages:
        rows += staged_rows(result)
    elif result.run is not None:
        rows += _run_rows(result, result.run)
    rows += interval_rows(result.intervals())
    for label, value in rows:
        table.add_row(label, value)
    notes = Text()
    notes.append("Assumptions\n", style="bold")
    for line in result.assumptions:
        notes.append(f"• {line}\n")
    return Group(table, notes)


Rows = list[tuple[str, str]]


def _idle(used: int, gpus: int) -> str:
    """What a plan that leaves GPUs idle says: MFU is over the GPUs it uses, costs are not."""
    if used >= gpus:
        return ""
    return (
        f"; uses {used:,} of the {gpus:,} GPUs (no layout uses all): MFU is over the "
        f"{used:,}; GPU-hours, cost and power count all {gpus:,}"
    )


def _plan_rows(result: PlanResult) -> Rows:
    """Parameters, the parallel plan, whether it fits, memory per GPU."""
    r = result.resolved
    rows: Rows = [("Model parameters (from shapes)", hz.number(result.params.total))]
    p = result.parallel_plan
    if p is not None:
        rows.append(
            (
                "Parallel plan",
                f"TP {p.tensor_parallel} · PP {p.pipeline_parallel} · DP {p.data_parallel} · "
                f"CP {p.context_parallel} · EP {p.expert_parallel} · micro-batch {p.microbatch}"
                f" · interleave {p.interleave} · recompute {p.recompute_text} · ZeRO {p.zero}"
                + _idle(p.gpus, r.gpus),
            )
        )
    if result.infeasible is not None:
        label = {InfeasibleKind.PROGRESS: "Can progress", InfeasibleKind.KERNEL: "Runs"}
        rows += [(label.get(result.infeasible.kind, "Fits"), "NO"),
                 ("Why", result.infeasible.reason)]  # fmt: skip
    memory = result.step.memory if result.step else None
    if memory is not None:
        rows.append(
            (
                "Memory per GPU",
                f"{memory.total_bytes / units.GiB:.1f} of {r.accelerator.hbm_gib:.1f} GiB "
                f"(weights {memory.weights_bytes / units.GiB:.1f}, grads "
                f"{memory.grads_bytes / units.GiB:.1f}, optimizer "
                f"{memory.optimizer_bytes / units.GiB:.1f}, activations "
                f"{memory.activations_bytes / units.GiB:.1f}, assumed overhead "
                f"{memory.overhead_bytes / units.GiB:.1f})"
                + (
                    "; MARGINAL: over the HBM by the assumed overhead alone (see notes)"
                    if memory.total_bytes > r.accelerator.hbm_bytes
                    else ""
                ),
            )
        )
    return rows


def _step_rows(result: PlanResult) -> Rows:
    """The step time by part, MFU and HFU (read from the JSON: their one definition)."""
    r, step = result.resolved, result.step
    numbers = result.step_numbers()
    rows: Rows = []
    if step is not None and not r.mfu_is_what_if:
        comm = sum(step.exposed_comm_s.values())
        rows.append(
            (
                "Step time",
                f"{step.time_s:.2f} s = compute {step.compute_s:.2f} + recompute "
                f"{step.recompute_s:.2f} + comm {comm:.2f} + bubble {step.bubble_s:.2f} + "
                f"optimizer {step.optimizer_s:.2f} + slowed by hidden comm "
                f"{step.overlap_slowdown_s:.2f} + stragglers {step.straggler_s:.2f}",
            )
        )
        rows.append(("Cluster profile", f"{r.cluster.name} ({r.cluster.id})"))
    elif numbers["time_s"] is not None:
        rows.append(("Step time (from the given MFU)", f"{numbers['time_s']:.2f} s"))
    if numbers["mfu"] is None:
        return rows
    label = "MFU (given, what-if)" if r.mfu_is_what_if else "MFU / HFU (of dense BF16 peak)"
    shown = hz.percent(numbers["mfu"])
    if numbers["hfu"] is not None:
        shown += f" / {hz.percent(numbers['hfu'])}"
    rows.append((label, shown))
    if r.precision.value != "bf16":
        peak = f"MFU of the {r.precision.value.upper()} peak"
        rows.append((peak, hz.percent(numbers["mfu_vs_precision_peak"])))
    return rows


def _run_rows(result: PlanResult, run: RunAccounts) -> Rows:
    """Tokens, compute, time with failures, power, energy, CO2, cost, loss."""
    r, c, failures = result.resolved, run.compute, run.reliability
    return [
        ("Training tokens", hz.number(c.tokens)),
        *([("Training clips", hz.number(c.tokens / r.seq_len))] if r.model.video else []),
        ("Model FLOPs per token", f"{c.flops_per_token:.3g}"),
        ("Training compute (model FLOPs)", hz.flops(c.model_flops)),
        ("Throughput", f"{hz.number(c.tokens_per_s)} tokens/s"),
        ("Time to train, failure-free", hz.days(c.days)),
        (
            "Time to train, with failures",
            f"{hz.days(failures.wall_days)} (goodput {hz.percent(failures.goodput)}, "
            f"{hz.number(failures.interruptions)} interruptions, one every "
            f"{failures.mtbi_s / 3600:.2g} h)",
        ),
        (
            "Whole-run overheads",
            f"failures and restarts {failures.failure_loss_s / 3600:.3g} h, checkpoint writes "
            f"{failures.checkpointing_s / 3600:.3g} h, loss-spike rollbacks "
            f"{failures.redone_s / 3600:.3g} h, {hz.number(failures.planned_restarts)} planned "
            f"restarts {failures.planned_restart_s / 3600:.3g} h",
        ),
        ("GPU-hours", hz.number(r.gpus * failures.wall_time_s / 3600)),
        ("Facility power, average", hz.watts(run.power.facility_w)),
        ("Facility power, provisioned", hz.watts(run.power.peak_facility_w)),
        ("Energy of the run", hz.watt_hours(run.energy.energy_j / 3600.0)),
        (f"Emissions ({r.grid.name} grid)", hz.tonnes(run.energy.tco2e)),
        ("GPU capex", hz.usd(run.capex.gpu_capex_usd)),
        ("Full cluster capex", hz.usd(run.capex.cluster_capex_usd)),
        ("Run cost, amortised hardware + energy", hz.usd(run.cost.amortized_usd)),
        ("Run cost, cloud rental", hz.usd(run.cost.cloud_usd)),
        *_scaling_rows(run),
    ]


def _scaling_rows(run: RunAccounts) -> list[tuple[str, str]]:
    """The loss rows; for a model without a law (video), the reason instead."""
    s = run.scaling
    if s.predicted_loss is None or s.optimal is None:
        return [("Predicted loss", s.note or "not modelled")]
    return [
        ("Predicted loss (nats/token)", f"{s.predicted_loss:.3f}"),
        (
            "Compute-optimal for this compute",
            f"{hz.number(s.optimal.params)} params, {hz.number(s.optimal.tokens)} tokens",
        ),
    ]


def _plan_text(step: StepEstimate) -> str:
    p = step.plan
    return (
        f"TP{p.tensor_parallel} PP{p.pipeline_parallel} DP{p.data_parallel} "
        f"CP{p.context_parallel} EP{p.expert_parallel} mb{p.microbatch} v{p.interleave} "
        f"{p.recompute_text} {'SP ' if p.sequence_parallel else ''}ZeRO{p.zero}"
    )


def search_report(planned: PlanResult) -> Group:
    """The searched plans of a plan result, and the run the best one makes."""
    result, resolved = planned.search, planned.resolved
    assert result is not None, "a plan given in full is shown by plan_report"
    table = Table(
        title=f"Best plans: {resolved.model.name} on {result.gpus:,} × {resolved.accelerator.name}"
    )
    for column in ("#", "plan", "GPUs used", "step s", "MFU", "memory GiB", "bubble s", "comm s"):
        table.add_column(column, justify="left" if column == "plan" else "right")
    for rank, step in enumerate(result.top, start=1):
        table.add_row(
            str(rank),
            _plan_text(step),
            f"{step.plan.gpus:,}",
            f"{step.time_s:.2f}",
            hz.percent(step.mfu),
            f"{step.memory.total_bytes / units.GiB:.1f}",
            f"{step.bubble_s:.2f}",
            f"{sum(step.exposed_comm_s.values()):.2f}",
        )
    notes = Text()
    notes.append(
        f"{result.enumerated:,} plans enumerated, {result.evaluated:,} evaluated, "
        f"{result.feasible:,} fit; {result.elapsed_s:.2f} s "
        f"({result.plans_per_s:,.0f} plans/s)\n"
    )
    notes.append("Pruned: ", style="bold")
    notes.append(", ".join(f"{k} {v:,}" for k, v in result.pruned.items()) + "\n")
    if result.pareto:
        notes.append(
            f"Pareto front (time vs memory headroom vs GPUs used): {len(result.pareto)} plans; "
            f"lowest memory: {_plan_text(min(result.pareto, key=lambda s: s.memory.total_bytes))}"
            "\n"
        )
    for note in result.notes:
        notes.append(f"• {note}\n")
    run = run_dict(planned.resolved, planned.run)["run"] if planned.run else None
    if run is not None:
        what_if = resolved.mfu is not None and resolved.mfu_is_what_if
        given = f" at the given MFU of {hz.percent(resolved.mfu or 0)} (a what-if)" * what_if
        notes.append(f"Run with the best plan{given}: ", style="bold")
        notes.append(
            f"{hz.days(run['days'])} with failures (goodput {hz.percent(run['goodput'])}), "
            f"{hz.number(run['gpu_hours'])} GPU-hours for {hz.number(run['tokens'])} tokens\n"
        )
    return Group(table, notes, *warnings_text([planned]))


def warnings_text(results: Sequence[PlanResult]) -> list[Text]:
    """The plans' warnings (a what-if MFU above every measured run's), each once: a table
    of plans shows no assumptions, and these were in the JSON only. [] without any."""
    lines = dict.fromkeys(a for r in results for a in r.assumptions if a.startswith("Warning"))
    return [Text(f"• {line}", style="bold yellow") for line in lines]


def scaling_report(results: Sequence[PlanResult]) -> Group:
    """One row per GPU count: the best plan, its step, and the run with failures."""
    first = results[0].resolved
    table = Table(
        title=f"Scaling: {first.model.name} on {first.accelerator.name}, "
        f"{results[0].global_batch or 0:,} sequences x {first.seq_len:,} tokens per step"
    )
    columns = ["GPUs", "GPUs used", "best plan", "step s", "MFU", "tokens/s", "speed-up/GPU",
               "days to train", "goodput"]  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "best plan" else "right")
    base: tuple[float, int] | None = None
    shortest = shortest_run(results)
    for index, result in enumerate(results):
        step = result.step
        if step is None or result.run is None:
            reason = result.infeasible.reason if result.infeasible else "no plan"
            table.add_row(f"{result.resolved.gpus:,}", "—", reason, *[""] * (len(columns) - 3))
            continue
        data = {"step": result.step_numbers(), **run_dict(result.resolved, result.run)}
        rate = data["step"]["tokens_per_s"]
        base = base or (rate, step.plan.gpus)
        efficiency = (rate / base[0]) / (step.plan.gpus / base[1])
        table.add_row(
            f"{result.resolved.gpus:,}",
            f"{step.plan.gpus:,}",
            _plan_text(step),
            f"{data['step']['time_s']:.2f}",
            hz.percent(data["step"]["mfu"]),
            hz.number(rate),
            hz.percent(efficiency),
            hz.days(data["run"]["days"]) + (" *" if shortest and shortest.index == index else ""),
            hz.percent(data["run"]["goodput"]),
        )
    notes = Text(
        "speed-up/GPU: throughput gained per GPU added, relative to the smallest count "
        "(100% = perfect scaling). The global batch is fixed, so large counts run few "
        "micro-batches per replica and pay in bubbles and communication. Days to train "
        "include failures, checkpoints and restarts (goodput); * marks the shortest run.\n"
    )
    if shortest is not None and shortest.note is not None:
        notes.append(shortest.note + "\n", style="bold yellow")
    return Group(table, notes, *warnings_text(results))


def claims_table(results: Sequence[ClaimResult], styles: dict[str, str]) -> Table:
    """Claims with their verdicts and the numbers behind them."""
    table = Table(title="The article's claims, checked", show_lines=True)
    table.add_column("", style="bold")
    table.add_column("claim", ratio=3)
    table.add_column("verdict")
    table.add_column("what gpuplan computes", ratio=4, overflow="fold")  # ids stay whole
    for result in results:
        verdict = result.verdict.value
        table.add_row(
            result.claim.id,
            result.claim.statement,
            Text(verdict, style=styles.get(verdict, "")),
            result.computed.explanation,
        )
    return table
