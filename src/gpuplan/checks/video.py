"""Video diffusion transformers against their published training throughput
(``gpuplan validate``'s video table).

Each row of ``catalog/data/video_validation.yaml`` is a scenario written from what its
source states, planned by :func:`gpuplan.planning.run.plan` (the function every door
calls); its tokens per second per GPU, or model TFLOP/s per GPU, are compared with the
published figure. No constant is fitted on any video row, so every source is held out;
the bar is the median |error| over all rows.
"""

from __future__ import annotations

import functools
import statistics
from dataclasses import dataclass
from typing import Any

from gpuplan.catalog.loader import Catalog, _parse, _read_yaml
from gpuplan.catalog.schema import MedianTarget
from gpuplan.catalog.schema.video import VideoThroughputRow
from gpuplan.checks.validation import load_median_target
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario

FILE = "video_validation.yaml"


@functools.cache
def load_video_rows() -> tuple[dict[str, VideoThroughputRow], MedianTarget]:
    """The published video rows by id, and their target."""
    data = _read_yaml(FILE)
    rows = _parse(FILE, "rows", VideoThroughputRow, data)
    return rows, load_median_target(FILE)


@dataclass(frozen=True)
class VideoRow:
    row: VideoThroughputRow
    metric: str
    """'tok/s/GPU', 'TFLOP/s/GPU' (model FLOPs) or 'clips/s/GPU' (from a stated step time)."""
    measured: float
    predicted: float | None
    plan: str
    """The plan gpuplan used (``tp2 pp1 cp4 dp16 mb1 z1 none``), or why none fits."""

    @property
    def error(self) -> float | None:
        """Predicted / measured - 1, or None when no plan fits."""
        return None if self.predicted is None else self.predicted / self.measured - 1


def predict_video_row(row: VideoThroughputRow, catalog: Catalog) -> VideoRow:
    result = plan(parse_scenario(row.scenario), catalog).to_dict()
    step = result["step"]
    if row.measured_tokens_per_s_per_gpu is not None:
        metric, measured = "tok/s/GPU", row.measured_tokens_per_s_per_gpu
        predicted = step["tokens_per_s_per_gpu"]
    elif row.measured_step_s is not None:
        # tokens_per_s_per_gpu counts the encoders' forward (step.time_s does not), as the
        # source's step time does; a clip is the model's sequence (text joined where joint)
        metric = "clips/s/GPU"
        clips_per_gpu = row.scenario["training"]["global_batch"] / row.scenario["gpus"]
        measured = clips_per_gpu / row.measured_step_s
        predicted = step["tokens_per_s_per_gpu"] / result["model"]["seq_len"]
    else:
        assert row.measured_model_tflops_per_gpu is not None, "the schema requires one"
        metric, measured = "TFLOP/s/GPU", row.measured_model_tflops_per_gpu
        predicted = step["model_tflops_per_gpu"]
    if not result["fits"]:
        return VideoRow(row, metric, measured, None, str(result["infeasible_reason"]))
    p = result["plan"]
    short = {"tp": "tp", "pp": "pp", "cp": "cp", "dp": "dp", "microbatch": "mb", "zero": "z"}
    layout = " ".join(f"{name}{p[key]}" for key, name in short.items())
    layers = f" {n} layers/chunk" if (n := p.get("recompute_layers")) is not None else ""
    return VideoRow(row, metric, measured, predicted, f"{layout} {p['recompute']}{layers}")


def predict_video_rows(catalog: Catalog) -> list[VideoRow]:
    rows, _ = load_video_rows()
    return [predict_video_row(row, catalog) for row in rows.values()]


@dataclass(frozen=True)
class VideoSummary:
    median_abs_error: float | None
    rows: int
    sources: int
    target: MedianTarget
    by_source: dict[str, float]
    """Median |error| of each source's rows (every source is held out), in row order."""

    @property
    def passed(self) -> bool:
        median = self.median_abs_error
        return median is not None and median <= self.target.median_abs_max


def summarize_video(rows: list[VideoRow]) -> VideoSummary:
    """Median |error| over every row and per source (a row that does not fit counts as
    100% off)."""
    _, target = load_video_rows()
    groups: dict[str, list[float]] = {}
    for r in rows:
        groups.setdefault(r.row.group, []).append(abs(r.error) if r.error is not None else 1.0)
    errors = [e for group in groups.values() for e in group]
    median = statistics.median(errors) if errors else None
    by_source = {g: statistics.median(e) for g, e in groups.items()}
    return VideoSummary(median, len(rows), len(groups), target, by_source)


def video_dict(rows: list[VideoRow]) -> dict[str, Any]:
    summary = summarize_video(rows)
    return {
        "rows": [
            {
                "id": r.row.id,
                "group": r.row.group,
                "metric": r.metric,
                "measured": r.measured,
                "predicted": r.predicted,
                "error": r.error,
                "plan": r.plan,
                "source": r.row.source,
            }
            for r in rows
        ],
        "summary": {
            "median_abs_error": summary.median_abs_error,
            "median_abs_error_by_source": summary.by_source,
            "rows": summary.rows,
            "sources": summary.sources,
            "target_median_abs_max": summary.target.median_abs_max,
            "passed": summary.passed,
        },
    }
