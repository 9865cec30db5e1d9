"""Training runs from a CSV file in Epoch AI's public format (Notable AI Models or All ML
Systems exports, CC-BY, credit Epoch AI), as :class:`~gpuplan.fitting.trends.RunPoint`."""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path

from gpuplan.errors import ScenarioError, shorten
from gpuplan.fitting.trends import Metric, RunPoint, decimal_year
from gpuplan.scenario.files import read_csv_text

EPOCH_NAME = "Model"
EPOCH_DATE = "Publication date"
EPOCH_COLUMNS: Mapping[Metric, str] = {
    Metric.TRAINING_COMPUTE: "Training compute (FLOP)",
    Metric.ACCELERATOR_COUNT: "Hardware quantity",
    Metric.COST: "Training compute cost (2023 USD)",
    Metric.POWER: "Training power draw (W)",
}
EPOCH_FRONTIER = "Frontier model"
"""Notable AI Models: 'True' for runs in the top 10 by compute when published."""
EPOCH_RANK = "Compute rank when published"
"""All ML Systems: the same definition as a rank; frontier when <= 10."""
FRONTIER_RANK = 10


def _epoch_number(text: str, where: str) -> float | None:
    """'4.64e+26' -> 4.64e26; '$6,770,000.00' -> 6.77e6; '' -> None."""
    cleaned = text.strip().replace("$", "").replace(",", "")
    if not cleaned:
        return None
    try:
        value = float(cleaned)
    except ValueError:
        raise ScenarioError(where, f"'{shorten(text.strip())}' is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ScenarioError(where, f"{shorten(text.strip())} must be a non-negative number")
    return value if value > 0 else None  # Epoch writes no zeros; treat one as unknown


def read_epoch_csv(path: Path) -> tuple[RunPoint, ...]:
    """Runs from an Epoch AI CSV export (Notable AI Models, All ML Systems).

    Needs the columns 'Model' and 'Publication date' and at least one of
    'Training compute (FLOP)', 'Hardware quantity', 'Training compute cost (2023 USD)',
    'Training power draw (W)'. Empty cells are missing values; rows without a date are
    skipped. The frontier flag is 'Frontier model' = True or 'Compute rank when
    published' <= 10, whichever the file has. A malformed value raises
    :class:`ScenarioError` naming the row, the model and the column.
    """
    text = read_csv_text(path, str(path))
    reader = csv.DictReader(text.splitlines(keepends=True))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in (EPOCH_NAME, EPOCH_DATE) if c not in header]
    metrics = [m for m, column in EPOCH_COLUMNS.items() if column in header]
    if missing or not metrics:
        need = [f"'{c}'" for c in missing] or [
            " or ".join(f"'{c}'" for c in EPOCH_COLUMNS.values())
        ]
        raise ScenarioError(
            str(path),
            f"not an Epoch AI export: missing column(s) {', '.join(need)} "
            f"(found: {', '.join(header[:8])}{', ...' if len(header) > 8 else ''})",
        )
    points: list[RunPoint] = []
    for row_number, row in enumerate(reader, start=1):
        name = (row.get(EPOCH_NAME) or "").strip()
        where = f"{path.name}, row {row_number} ('{name}')"
        date_text = (row.get(EPOCH_DATE) or "").strip()
        if not date_text:
            continue  # a run without a date cannot be placed on the timeline
        try:
            date = dt.date.fromisoformat(date_text)
        except ValueError:
            raise ScenarioError(
                f"{where}, column '{EPOCH_DATE}'", f"'{date_text}' is not a date YYYY-MM-DD"
            ) from None
        values = {
            metric: _epoch_number(row.get(column) or "", f"{where}, column '{column}'")
            for metric, column in EPOCH_COLUMNS.items()
        }
        rank = _epoch_number(row.get(EPOCH_RANK) or "", f"{where}, column '{EPOCH_RANK}'")
        frontier = (row.get(EPOCH_FRONTIER) or "").strip().lower() == "true" or (
            rank is not None and rank <= FRONTIER_RANK
        )
        points.append(
            RunPoint(
                name=name or f"row {row_number}",
                year=decimal_year(date),
                frontier=frontier,
                domain=(row.get("Domain") or "").strip(),
                training_flops=values[Metric.TRAINING_COMPUTE],
                accelerator_count=values[Metric.ACCELERATOR_COUNT],
                cost_usd=values[Metric.COST],
                power_w=values[Metric.POWER],
            )
        )
    return tuple(points)


# --------------------------------------------------------------------------- fit
