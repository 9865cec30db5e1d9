"""The look of gpuplan's charts: colours, fonts, axes; plain plotly.js layout dicts.

Kept apart from :mod:`gpuplan.report.figures` so that the figures read as data, not styling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

PALETTE = {
    "compute": "#2563eb",
    "recompute": "#93c5fd",
    "bubble": "#f59e0b",
    "optimizer": "#a855f7",
    "contention": "#64748b",
    "straggler": "#0d9488",
    "tp": "#ef4444",
    "cp": "#fb7185",
    "ep": "#be185d",
    "pp": "#f43f5e",
    "dp": "#991b1b",
    "weights": "#2563eb",
    "grads": "#60a5fa",
    "optimizer_mem": "#a855f7",
    "activations": "#16a34a",
    "overhead": "#9ca3af",
    "plan": "#dc2626",
    "muted": "#6b7280",
}

AXIS_NAMES = {
    "tp": "tensor",
    "cp": "context",
    "ep": "expert",
    "pp": "pipeline",
    "dp": "data",
}


def layout(title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 16}},
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "margin": {"l": 70, "r": 30, "t": 50, "b": 55},
        "legend": {"orientation": "h", "y": -0.22, "x": 0},
        "hovermode": "closest",
    }
    layout.update(extra)
    return layout


def axis(title: str, **extra: Any) -> dict[str, Any]:
    axis: dict[str, Any] = {
        "title": {"text": title},
        "gridcolor": "#e5e7eb",
        "zerolinecolor": "#d1d5db",
        "linecolor": "#9ca3af",
    }
    axis.update(extra)
    return axis


def note(text: str, y: float = 0.5) -> dict[str, Any]:
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": 0.5,
        "y": y,
        "showarrow": False,
        "font": {"color": PALETTE["muted"], "size": 13},
    }


def ladder(low: float, high: float) -> list[float]:
    """1-2-5 tick values covering [low, high] on a log axis."""
    if low <= 0 or high <= 0:
        return []
    ticks: list[float] = []
    mantissas = (1, 2, 5) if high / low >= 10 else (1, 1.5, 2, 3, 5, 7)
    decade = 10.0 ** math.floor(math.log10(low))
    while decade <= high:
        ticks += [m * decade for m in mantissas if low / 1.5 <= m * decade <= high * 1.5]
        decade *= 10
    return ticks


def short(value: float, prefix: str = "") -> str:
    """50e6 -> '50M' (with a prefix such as '$'); 1.5e9 -> '1.5B'; 20000 -> '20k'."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{prefix}{value / scale:g}{suffix}"
    return f"{prefix}{value:g}"


def log_axis(title: str, values: Sequence[float | None], prefix: str = "") -> dict[str, Any]:
    """A log axis with readable 1-2-5 ticks ('$50M', '100k') instead of bare digits."""
    present = [v for v in values if v is not None and v > 0]
    if not present:  # nothing to scale: no ticks or grid for an empty chart
        return axis(title, type="log", showticklabels=False, showgrid=False)
    ticks = ladder(min(present), max(present))
    return axis(title, type="log", tickvals=ticks, ticktext=[short(t, prefix) for t in ticks])
