"""Plotly figures of a plan, as plain JSON-ready dicts (``{"data": [...], "layout": {...}}``).

Built without plotly's Python API so that the same dicts serve the HTML report (embedded
and drawn with ``Plotly.newPlot``) and the web planner (sent over the JSON API). Every
figure takes the saved plan (:class:`gpuplan.report.data.SavedPlan`) and, where it needs
more, the curves of :mod:`gpuplan.report.curves`; nothing here computes a plan.

:data:`CHART_IDS` are the DOM ids the report and the planner give the charts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gpuplan import units
from gpuplan.fitting.scaling_laws import ComputeOptimal
from gpuplan.report import plotstyle as style
from gpuplan.report.curves import ClusterPoint, ScalingCurve, ScalingPoint, TrendPoint
from gpuplan.report.data import SavedPlan

Figure = dict[str, Any]

CHART_IDS = ("chart-step", "chart-memory", "chart-scaling", "chart-loss", "chart-trend")


def step_figure(saved: SavedPlan) -> Figure:
    """One stacked bar: where the time of a training step goes (seconds)."""
    step = saved.step
    parts: list[tuple[str, float | None, str]] = [
        ("compute", step.compute_s, style.PALETTE["compute"]),
        ("recompute", step.recompute_s, style.PALETTE["recompute"]),
    ]
    for axis, seconds in step.exposed_comm_by_axis_s.items():
        name = f"exposed comm: {style.AXIS_NAMES.get(axis, axis)} ({axis})"
        parts.append((name, seconds, style.PALETTE.get(axis, style.PALETTE["muted"])))
    parts += [
        ("pipeline bubble", step.bubble_s, style.PALETTE["bubble"]),
        ("optimizer", step.optimizer_s, style.PALETTE["optimizer"]),
        ("compute slowed by hidden comm", step.overlap_slowdown_s, style.PALETTE["contention"]),
        ("waiting for the slowest GPU", step.straggler_s, style.PALETTE["straggler"]),
    ]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": name,
            "x": [seconds],
            "y": ["step"],
            "marker": {"color": color},
            "hovertemplate": f"{name}: %{{x:.3f}} s<extra></extra>",
        }
        for name, seconds, color in parts
        if seconds is not None and seconds > 0
    ]
    annotations = []
    if not step.exposed_comm_by_axis_s and step.time_s is not None:
        annotations.append(
            style.note("step time from the given MFU (a what-if); its parts are not modelled", 1.12)
        )
    if step.time_s is None:
        if saved.fits is False:
            reason = saved.infeasible_reason or "no parallel plan"
            why = "does not fit: " + (reason if len(reason) < 64 else reason[:61] + "...")
        else:
            why = "step not modelled: give training.global_batch"
        annotations.append(style.note(why))
    title = "Step time" + (f": {step.time_s:.3g} s" if step.time_s else "")
    return {
        "data": data,
        "layout": style.layout(
            title,
            barmode="stack",
            height=340,
            xaxis=style.axis("", ticksuffix=" s", visible=bool(data)),
            yaxis=style.axis("", showticklabels=False),
            legend={"orientation": "h", "y": -0.3, "yanchor": "top", "traceorder": "normal"},
            margin={"l": 20, "r": 20, "t": 50, "b": 20},
            annotations=annotations,
        ),
    }


def memory_figure(saved: SavedPlan) -> Figure:
    """Memory per GPU by kind (GiB), stacked, against the accelerator's HBM capacity."""
    b = saved.memory.breakdown
    capacity_gib = saved.memory.capacity_bytes / units.GiB
    parts = [
        ("weights", b.weights_bytes, style.PALETTE["weights"]),
        ("gradients", b.grads_bytes, style.PALETTE["grads"]),
        ("optimizer state", b.optimizer_bytes, style.PALETTE["optimizer_mem"]),
        ("activations", b.activations_bytes, style.PALETTE["activations"]),
        ("framework overhead", b.overhead_bytes, style.PALETTE["overhead"]),
    ]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "name": name,
            "x": ["per GPU"],
            "y": [value / units.GiB],
            "marker": {"color": color},
            "hovertemplate": f"{name}: %{{y:.1f}} GiB<extra></extra>",
        }
        for name, value, color in parts
        if value is not None and value > 0
    ]
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"HBM capacity ({capacity_gib:.1f} GiB)",
            "x": [-0.5, 0.5],
            "y": [capacity_gib, capacity_gib],
            "xaxis": "x2",
            "line": {"color": style.PALETTE["plan"], "dash": "dash", "width": 2},
            "hovertemplate": "capacity: %{y:.1f} GiB<extra></extra>",
        }
    )
    total = saved.memory.per_gpu_bytes
    annotations = []
    if total is None:
        why = (
            "memory not modelled: give training.global_batch"
            if saved.fits is None
            else "no parallel plan fits: nothing to break down"
        )
        annotations.append(style.note(why, 0.6))
    verdict = "" if total is None else f": {total / units.GiB:.1f} of {capacity_gib:.1f} GiB"
    highest = max(capacity_gib, (total or 0) / units.GiB) * 1.12
    return {
        "data": data,
        "layout": style.layout(
            "Memory per GPU" + verdict,
            barmode="stack",
            height=380,
            xaxis=style.axis(""),
            xaxis2={"overlaying": "x", "range": [-0.5, 0.5], "visible": False},
            yaxis=style.axis("GiB (2^30 bytes)", range=[0, highest]),
            legend={"orientation": "v", "x": 1.02, "y": 1},
            margin={"l": 70, "r": 10, "t": 50, "b": 40},
            annotations=annotations,
        ),
    }


def scaling_figure(saved: SavedPlan, curve: ScalingCurve | None) -> Figure:
    """Days and dollars to train the same tokens at other GPU counts (log-log)."""
    annotations = []
    data: list[dict[str, Any]] = []
    points: tuple[ScalingPoint, ...] = ()
    if curve is None:
        annotations.append(
            style.note("no scaling curve: the plan does not fit, or no curve was asked for")
        )
    else:
        points = tuple(p for p in curve.points if p.fits)
        gpus = [p.gpus for p in points]
        data += [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "days to train (failures included)",
                "x": gpus,
                "y": [p.days for p in points],
                "line": {"color": style.PALETTE["compute"]},
                "hovertemplate": "%{x:,} GPUs: %{y:.1f} days<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "cost, amortised (right axis)",
                "x": gpus,
                "y": [p.amortized_usd for p in points],
                "yaxis": "y2",
                "line": {"color": style.PALETTE["activations"]},
                "hovertemplate": "%{x:,} GPUs: $%{y:,.3s}<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "cost, cloud rental (right axis)",
                "x": gpus,
                "y": [p.cloud_usd for p in points],
                "yaxis": "y2",
                "line": {"color": style.PALETTE["activations"], "dash": "dot"},
                "hovertemplate": "%{x:,} GPUs: $%{y:,.3s} rented<extra></extra>",
            },
        ]
        if saved.run is not None:
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": f"this plan ({saved.gpus:,} GPUs)",
                    "x": [saved.gpus],
                    "y": [saved.run.days],
                    "marker": {"color": style.PALETTE["plan"], "size": 14, "symbol": "star"},
                    "hovertemplate": "this plan: %{y:.1f} days<extra></extra>",
                }
            )
        missing = [p.gpus for p in curve.points if not p.fits]
        if missing and not points:
            span = f"{missing[0]:,} to {missing[-1]:,}"
            annotations.append(style.note(f"no parallel plan fits anywhere from {span} GPUs"))
        elif missing:
            shown = ", ".join(f"{g:,}" for g in missing[:6]) + (" ..." if len(missing) > 6 else "")
            annotations.append(style.note(f"no parallel plan fits at {shown} GPUs", 1.08))
    basis = (
        ""
        if curve is None
        else f"{curve.tokens:.3g} tokens; "
        + (
            "best parallel plan searched at each count"
            if curve.basis == "search"
            else "a fixed MFU (what-if)"
        )
    )
    return {
        "data": data,
        "layout": style.layout(
            "Time and cost to train vs GPU count",
            height=420,
            xaxis=style.log_axis(f"GPUs ({basis})", [p.gpus for p in points]),
            yaxis=style.log_axis("days to train", [p.days for p in points]),
            yaxis2={
                **style.log_axis(
                    "USD", [u for p in points for u in (p.amortized_usd, p.cloud_usd)], "$"
                ),
                "overlaying": "y",
                "side": "right",
                "showgrid": False,
            },
            margin={"l": 70, "r": 80, "t": 50, "b": 55},
            annotations=annotations,
        ),
    }


def _no_loss(saved: SavedPlan) -> str:
    if saved.run is not None and saved.scaling is not None and saved.scaling.note:
        return "no validated video scaling law: no predicted loss"
    return "the plan does not fit: no predicted loss"


def loss_figure(saved: SavedPlan, frontier: Sequence[ComputeOptimal], law_name: str = "") -> Figure:
    """Compute-optimal loss against compute, with the plan's predicted loss marked."""
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "compute-optimal frontier",
            "x": [f.compute_flops for f in frontier],
            "y": [f.loss for f in frontier],
            "customdata": [[f.params, f.tokens] for f in frontier],
            "line": {"color": style.PALETTE["compute"]},
            "hovertemplate": (
                "%{x:.2e} FLOP: loss %{y:.3f}<br>%{customdata[0]:.3s} params on "
                "%{customdata[1]:.3s} tokens<extra></extra>"
            ),
        }
    ]
    annotations = []
    if saved.run is not None and saved.scaling is not None and saved.scaling.predicted_loss:
        s = saved.scaling
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"this plan: {saved.model.id}",
                "x": [saved.run.model_flops],
                "y": [s.predicted_loss],
                "marker": {"color": style.PALETTE["plan"], "size": 14, "symbol": "star"},
                "hovertemplate": "this plan: %{x:.2e} FLOP, loss %{y:.3f}<extra></extra>",
            }
        )
        if s.compute_optimal_loss is not None:
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": "compute-optimal at the same compute",
                    "x": [saved.run.model_flops],
                    "y": [s.compute_optimal_loss],
                    "marker": {
                        "color": style.PALETTE["compute"],
                        "size": 10,
                        "symbol": "circle-open",
                    },
                    "hovertemplate": "optimal: loss %{y:.3f}<extra></extra>",
                }
            )
    else:
        annotations.append(style.note(_no_loss(saved), 0.9))
    return {
        "data": data,
        "layout": style.layout(
            "Predicted loss vs training compute" + (f" ({law_name})" if law_name else ""),
            height=420,
            xaxis=style.axis("training compute (FLOP)", type="log", exponentformat="power"),
            yaxis=style.axis("loss (nats per token)"),
            annotations=annotations,
        ),
    }


def _date_range(runs: Sequence[TrendPoint], clusters: Sequence[ClusterPoint]) -> list[str] | None:
    """From the first run to a year past the last point, so that cluster labels fit."""
    years = [int(r.date[:4]) for r in runs] + [c.year for c in clusters]
    if not years:
        return None
    return [f"{min(years)}-01-01", f"{max(years) + 1}-09-01"]


def trend_figure(
    saved: SavedPlan, runs: Sequence[TrendPoint], clusters: Sequence[ClusterPoint]
) -> Figure:
    """Training compute of published runs over time (log y), with the seed clusters."""
    data: list[dict[str, Any]] = []
    for frontier, name, color in ((True, "frontier runs", "#1d4ed8"), (False, "other", "#9ca3af")):
        chosen = [r for r in runs if r.frontier is frontier]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"published {name}",
                "x": [r.date for r in chosen],
                "y": [r.training_flops for r in chosen],
                "text": [f"{r.name} ({r.organization})" for r in chosen],
                "marker": {"color": color, "size": 8, "opacity": 0.8},
                "hovertemplate": "%{text}<br>%{x}: %{y:.2e} FLOP<extra></extra>",
            }
        )
    if clusters:
        days = clusters[0].days
        basis = "modelled MFU" if not clusters[0].mfu_is_what_if else "a given MFU (what-if)"
        data.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": f"seed clusters: {days:.0f} days at {basis}, net of failures",
                "x": [f"{c.year}-07-01" for c in clusters],
                "y": [c.trainable_flops for c in clusters],
                "text": [c.label for c in clusters],
                "customdata": [[c.mfu, c.params, c.goodput, c.days] for c in clusters],
                "textposition": "middle right",
                "marker": {"color": style.PALETTE["bubble"], "size": 13, "symbol": "diamond"},
                "hovertemplate": f"%{{text}}: %{{y:.2e}} FLOP in {days:.0f} days at "
                "%{customdata[0]:.0%} MFU, a %{customdata[1]:.3s}-parameter model<extra></extra>",
            }
        )
    if saved.run is not None:
        flops = saved.run.model_flops
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"this plan: {flops:.2e} FLOP",
                "x": [runs[0].date, runs[-1].date] if runs else [],
                "y": [flops, flops],
                "line": {"color": style.PALETTE["plan"], "dash": "dash"},
                "hoverinfo": "skip",
            }
        )
    return {
        "data": data,
        "layout": style.layout(
            "Training compute of notable runs over time",
            height=460,
            xaxis=style.axis("publication date", type="date", range=_date_range(runs, clusters)),
            yaxis=style.axis("training compute (FLOP)", type="log", exponentformat="power"),
        ),
    }
