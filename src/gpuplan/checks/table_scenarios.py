"""The rows of validate's other tables as scenarios (``gpuplan validate --scenario ID``).

The published runs off the H100 (chip_runs.yaml), the runs at scale (scale_validation.yaml),
the video rows (video_validation.yaml) and the whole runs (run_totals.yaml) are each planned
by validate through :func:`gpuplan.planning.run.plan` from one scenario mapping, written by
the table's own function: :func:`gpuplan.checks.chip_runs.scenario_of`, the video row's
``scenario`` and :func:`gpuplan.checks.totals.scenario_of`. The scenario printed is that
one, unchanged, so planning it gives the table's number (issue 13: every door gives the
same number); the notes say what the table reads from the plan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpuplan.catalog.schema import ChipRun, RunTotal
from gpuplan.catalog.schema.video import VideoThroughputRow
from gpuplan.checks import chip_runs, totals
from gpuplan.checks.validation import load_measurements
from gpuplan.checks.video import load_video_rows
from gpuplan.errors import ScenarioError
from gpuplan.scenario.schema import Parallelism

TableScenario = tuple[dict[str, Any], tuple[str, ...]]
"""A row's scenario mapping and its notes."""


def table_rows() -> dict[str, dict[str, Any]]:
    """Each table's rows by id, under the table's name as validate prints it."""
    return {
        "published runs off the H100 (chip_runs.yaml)": dict(chip_runs.load_chip_runs()),
        "published runs at scale (scale_validation.yaml)": dict(chip_runs.load_scale_runs()),
        "video rows (video_validation.yaml)": dict(load_video_rows()[0]),
        "whole runs (run_totals.yaml)": dict(totals.load_run_totals()),
    }


def tables_holding(row_id: str, tables: dict[str, Any]) -> list[str]:
    """The names of the tables (name -> ids) that hold ``row_id``; a :class:`ScenarioError`
    naming them when more than one does (the id would not say which row)."""
    names = [name for name, ids in tables.items() if row_id in ids]
    if len(names) > 1:
        raise ScenarioError(
            f"row '{row_id}'", f"the id is shared by {' and '.join(names)}; it names no one row"
        )
    return names


def table_scenario(row: Any) -> TableScenario:
    """The scenario a table row is planned from, with notes."""
    writers: dict[type, Callable[[Any], TableScenario]] = {
        ChipRun: _chip_run,
        VideoThroughputRow: _video,
        RunTotal: _total,
    }
    return writers[type(row)](row)


def _chip_run(run: ChipRun) -> TableScenario:
    scenario = chip_runs.scenario_of(run, load_measurements()[run.measurement])
    stated = run.parallelism or {}
    left_out = [f for f in Parallelism.model_fields if f not in stated and f != "recompute_layers"]
    plan_note = (
        f"parallelism: the run leaves out {', '.join(left_out)}, searched within the stack "
        f"({run.framework}): its fastest plan that fits"
        if left_out
        else "parallelism: the run states the whole plan"
    )
    notes = (
        f"published run of measurements.yaml row {run.measurement}: validate plans this "
        f"scenario as written (checks/chip_runs.py) and reads its step time",
        plan_note,
        "training.tokens: a run length for the plan (the row publishes throughput, not a run "
        "length); the step time does not depend on it",
    )
    return scenario, notes


def _video(row: VideoThroughputRow) -> TableScenario:
    if row.measured_tokens_per_s_per_gpu is not None:
        read = "its tokens per second per GPU"
    elif row.measured_step_s is not None:
        read = "its tokens per second per GPU over the model's sequence (clips per second)"
    else:
        read = "its model TFLOP/s per GPU"
    notes = (
        f"video row: validate plans this scenario as written in video_validation.yaml "
        f"(checks/video.py) and reads {read}",
    )
    return dict(row.scenario), notes


def _total(run: RunTotal) -> TableScenario:
    notes = [
        "whole run: validate plans this scenario as written (checks/totals.py) and reads its "
        "GPU-hours and days, failures and checkpoints included",
    ]
    if run.published_basis == "throughput":
        notes.append(
            "the published total counts no downtime: validate compares it with the run's "
            "failure-free compute time (compute_days x gpus), not gpu_hours"
        )
    if run.batch_schedule is not None:
        notes.append(
            "stages: the published batch ramp, one stage per phase at its batch for its "
            "tokens (samples of seq_len tokens); the run's totals are the stages' sums"
        )
    return totals.scenario_of(run), tuple(notes)
