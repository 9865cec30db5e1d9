"""Published throughputs off the H100 against ``plan`` (``gpuplan validate``'s "Published
runs off the H100" table).

Each record of ``catalog/data/chip_runs.yaml`` names a row of ``measurements.yaml`` (A100,
V100, TPU v4) whose plan is only partly published, the framework profile of the stack its
reports describe and the plan fields they state. It is planned through
:func:`gpuplan.planning.run.plan` (fields not stated are searched within the stack, so the
prediction is that stack's best plan) and its step time compared with the measured one.
Nothing here is fitted.

``catalog/data/scale_validation.yaml`` holds runs of the same kind on the H100 at scale
(Llama 3 405B on 8,192 and 16,384 GPUs, Dubey et al. 2024 Table 4), held out and reported
apart (:func:`predict_scale_runs`).
"""

from __future__ import annotations

import functools
import statistics
from dataclasses import dataclass
from typing import Any

from gpuplan.catalog.loader import Catalog, _parse, _read_yaml
from gpuplan.catalog.schema import ChipRun, Measurement
from gpuplan.checks.totals import plan_text
from gpuplan.checks.validation import load_measurements, measured_step_s
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario


@functools.cache
def load_chip_runs() -> dict[str, ChipRun]:
    """The catalogued runs (chip_runs.yaml), by id."""
    return _parse("chip_runs.yaml", "chip_runs", ChipRun, _read_yaml("chip_runs.yaml"))


@functools.cache
def load_scale_runs() -> dict[str, ChipRun]:
    """The held-out runs at scale on the H100 (scale_validation.yaml), by id."""
    return _parse("scale_validation.yaml", "scale_runs", ChipRun,
                  _read_yaml("scale_validation.yaml"))  # fmt: skip


def scenario_of(run: ChipRun, measurement: Measurement) -> dict[str, Any]:
    """The scenario mapping of a run: the row's setup, its stack and its stated plan."""
    assert measurement.hardware is not None, f"{run.id}: the row names its accelerator"
    scenario: dict[str, Any] = {
        "model": run.model,
        "hardware": measurement.hardware,
        "gpus": run.gpus or measurement.gpus,
        "framework": run.framework,
        "training": {
            "tokens": 1e12,
            "global_batch": run.global_batch or measurement.global_batch,
            "seq_len": measurement.seq_len,
        },
    }
    if run.cluster is not None:
        scenario["cluster"] = run.cluster
    if run.parallelism:
        scenario["parallelism"] = dict(run.parallelism)
    return scenario


@dataclass(frozen=True)
class ChipRunRow:
    """One published throughput: measured against predicted step time."""

    run: ChipRun
    accelerator: str
    gpus: int
    measured_step_s: float
    predicted_step_s: float | None
    predicted_mfu: float | None
    plan: str
    """The plan gpuplan chose, or why none fits."""

    @property
    def error(self) -> float | None:
        """Relative error of the step time (positive: predicted slower)."""
        if self.predicted_step_s is None:
            return None
        return self.predicted_step_s / self.measured_step_s - 1


def _measured_step_s(run: ChipRun, measurement: Measurement, catalog: Catalog) -> float:
    scenario = scenario_of(run, measurement)
    throughput = run.tokens_per_s_per_gpu or measurement.measured.tokens_per_s_per_gpu
    if throughput is not None:
        training = scenario["training"]
        tokens = training["global_batch"] * training["seq_len"]
        return float(tokens / (throughput * scenario["gpus"]))
    measured = measured_step_s(measurement, catalog.model(run.model))
    assert measured is not None, f"{run.id}: the row has a measured figure"
    return measured[0]


def predict_chip_run(run: ChipRun, catalog: Catalog) -> ChipRunRow:
    """Plan one run with its stack and stated plan; read the step time."""
    measurement = load_measurements()[run.measurement]
    scenario = scenario_of(run, measurement)
    result = plan(parse_scenario(scenario), catalog)
    step = result.step
    return ChipRunRow(
        run,
        scenario["hardware"],
        scenario["gpus"],
        _measured_step_s(run, measurement, catalog),
        step.time_s if step is not None else None,
        step.mfu if step is not None else None,
        plan_text(result),
    )


def predict_chip_runs(catalog: Catalog) -> list[ChipRunRow]:
    """Every catalogued run, in the file's order."""
    return [predict_chip_run(run, catalog) for run in load_chip_runs().values()]


def predict_scale_runs(catalog: Catalog) -> list[ChipRunRow]:
    """Every held-out run at scale (scale_validation.yaml), in the file's order."""
    return [predict_chip_run(run, catalog) for run in load_scale_runs().values()]


def median_abs_error(rows: list[ChipRunRow]) -> float | None:
    """Median |error| over the runs that got a plan."""
    errors = [abs(r.error) for r in rows if r.error is not None]
    return statistics.median(errors) if errors else None
