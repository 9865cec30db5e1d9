"""A validation row as a scenario: what ``gpuplan validate`` evaluated, for ``gpuplan plan``.

Every door gives the same number (issue 13): a published row that validate predicts is
written in the scenario language with everything validate used, so that planning it gives
validate's step time. The plan is validate's own (:func:`gpuplan.checks.row_plans.
best_estimate`): the published fields as given, the ones the source leaves out as validate
chose them (the stack's defaults, the least recompute that fits, or the searched schedule);
the notes say which fields the source did not state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpuplan.catalog.loader import Catalog, nearest_ids
from gpuplan.catalog.schema import InlineShape, MeasuredPlan, Measurement
from gpuplan.checks.moe_validation import (
    PLAN_FIELDS,
    load_moe_measurements,
    predict_moe_row,
    scenario_of,
)
from gpuplan.checks.row_plans import best_estimate, stated_plan
from gpuplan.checks.table_scenarios import table_rows, table_scenario, tables_holding
from gpuplan.checks.validation import (
    FRAMEWORK_PROFILES,
    _model_of,
    load_measurements,
    unpredictable,
)
from gpuplan.errors import ScenarioError
from gpuplan.model.step import Infeasible
from gpuplan.scenario.plan import ParallelPlan

RUN_STEPS = 1000
"""The run length a row's scenario states, in optimizer steps: a row publishes throughput,
not a run length, and a scenario needs one (training.tokens). The step time does not
depend on it; 1,000 steps keeps every row's run well inside the planner's bounds."""

_FIELDS = (
    ("cp", "context_parallel"),
    ("ep", "expert_parallel"),
    ("microbatch", "microbatch"),
    ("interleave", "interleave"),
    ("recompute", "recompute"),
    ("sequence_parallel", "sequence_parallel"),
    ("zero", "zero"),
)
"""Scenario parallelism fields a source may leave out, and the plan's attribute for each."""


@dataclass(frozen=True)
class RowScenario:
    """One validation row as a scenario mapping (``parse_scenario`` accepts it) and notes
    on what the source did not state (as YAML comments; the scenario has no notes field)."""

    row_id: str
    scenario: dict[str, Any]
    notes: tuple[str, ...]
    table: str = "dense rows (measurements.yaml)"
    """The table of ``gpuplan validate`` the row is in."""


DENSE, MOE = "dense rows (measurements.yaml)", "MoE rows (moe_measurements.yaml)"


def row_scenario(row_id: str, catalog: Catalog) -> RowScenario:
    """The scenario validate evaluates for row ``row_id`` of any of its tables (dense and
    MoE rows, published runs off the H100 and at scale, video rows, whole runs); a
    :class:`ScenarioError` of one line when the row is unknown, validate does not predict it
    or two tables share the id."""
    tables: dict[str, dict[str, Any]] = {
        DENSE: dict(load_measurements()),
        MOE: dict(load_moe_measurements()),
        **table_rows(),
    }
    held = tables_holding(row_id, tables)
    if not held:
        close = nearest_ids(row_id, [i for ids in tables.values() for i in ids])
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ScenarioError(
            f"row '{row_id}'",
            f"no such row in any table{hint} (gpuplan validate --json lists the rows' ids)",
        )
    table = held[0]
    if table == MOE:
        return _moe_scenario(tables[MOE][row_id], catalog)
    if table != DENSE:
        return RowScenario(row_id, *table_scenario(tables[table][row_id]), table)
    measurement = tables[DENSE][row_id]
    reason = unpredictable(measurement, catalog)
    if reason is not None:
        raise ScenarioError(f"row '{row_id}'", f"validate does not predict it: {reason}")
    framework_id = FRAMEWORK_PROFILES[measurement.framework]
    model = _model_of(measurement, catalog)
    result = best_estimate(measurement, catalog, model, framework_id)
    notes: list[str] = []
    if isinstance(result, Infeasible):
        parallel = stated_plan(measurement, catalog, framework_id)
        notes.append(f"validate predicts this row infeasible: {result.reason}")
    else:
        parallel = result.plan
    scenario: dict[str, Any] = {
        "model": _model_field(measurement),
        "hardware": measurement.hardware,
        "gpus": parallel.gpus,
        "framework": framework_id,
    }
    cluster = catalog.cluster_measured_on(measurement.id)
    if cluster is not None:
        scenario["cluster"] = cluster.id
    scenario["training"] = _training(measurement, notes)
    scenario["parallelism"] = parallel.as_dict()  # complete: evaluated, not searched
    notes += _unstated(measurement, parallel)
    if measurement.gpus is not None and measurement.gpus != parallel.gpus:
        notes.append(
            f"gpus: the source states {measurement.gpus:,} GPUs; its plan (tp x pp x dp x cp) "
            f"uses {parallel.gpus:,}, which validate evaluates"
        )
    return RowScenario(measurement.id, scenario, tuple(notes))


def _moe_scenario(measurement: Measurement, catalog: Catalog) -> RowScenario:
    """An MoE row (moe_measurements.yaml): validate plans it through ``gpuplan plan`` as its
    source states it (:func:`gpuplan.checks.moe_validation.scenario_of`), the plan fields
    the source leaves out searched there; the scenario is that one, unchanged."""
    if predict_moe_row(measurement, catalog) is None:
        why = (
            "the catalog marks it not usable for validation (usable_for_validation: false)"
            if not measurement.usable_for_validation
            else "it states no plan, no catalog model or no step-time basis"
        )
        raise ScenarioError(f"row '{measurement.id}'", f"validate does not predict it: {why}")
    assert measurement.plan is not None
    left_out = [k for k in PLAN_FIELDS if getattr(measurement.plan, k) is None]
    notes = [
        "MoE row: validate plans this scenario as written (checks/moe_validation.py); "
        + (
            f"the fields the source leaves out ({', '.join(left_out)}) are searched by the plan"
            if left_out
            else "the source states the whole plan"
        )
    ]
    return RowScenario(measurement.id, scenario_of(measurement), tuple(notes), MOE)


def _model_field(measurement: Measurement) -> str | dict[str, Any]:
    """The catalog model id, or the row's inline shape as the scenario's inline model."""
    shape = measurement.model
    if isinstance(shape, str):
        return shape
    assert isinstance(shape, InlineShape)
    return {
        "name": measurement.id,
        "layers": shape.layers,
        "hidden": shape.hidden,
        "heads": shape.heads,
        "kv_heads": shape.kv_heads,
        "ffn_hidden": shape.ffn_hidden,
        "ffn": shape.ffn.value,
        "vocab": shape.vocab or 0,
        "seq_len": measurement.seq_len,
        **shape.stated(),
    }


def _training(measurement: Measurement, notes: list[str]) -> dict[str, Any]:
    batch, seq_len = measurement.global_batch, measurement.seq_len
    assert batch is not None and seq_len is not None
    if measurement.precision is None:
        notes.append("training.precision: not stated by the source; bf16, as validate assumes")
    training: dict[str, Any] = {
        "global_batch": batch,
        "seq_len": seq_len,
        "precision": "fp8" if measurement.precision == "fp8" else "bf16",
        "tokens": RUN_STEPS * batch * seq_len,
        "objective": "step_time",
    }
    if measurement.packed_sample_tokens is not None:
        training["packed_sample_tokens"] = measurement.packed_sample_tokens
    notes.append(
        f"training.tokens: {RUN_STEPS:,} steps, a run length for the plan (the row publishes "
        "throughput, not a run length); the step time does not depend on it"
    )
    return training


def _unstated(measurement: Measurement, parallel: ParallelPlan) -> list[str]:
    """One note per plan field the source leaves out, with the value validate used."""
    stated = measurement.plan
    assert isinstance(stated, MeasuredPlan)
    notes = []
    for field, attribute in _FIELDS:
        if getattr(stated, field) is not None:
            continue
        value = getattr(parallel, attribute)
        if stated.microbatch is None and field in ("microbatch", "sequence_parallel", "recompute"):
            how = "searched within the stack: its fastest plan that fits, a lower bound"
        elif field == "recompute":
            how = "the least recompute that fits"
        else:
            how = "the stack's default"
        notes.append(
            f"parallelism.{field}: not stated by the source; {_shown(value)}, "
            f"as validate chose it ({how})"
        )
    return notes


def _shown(value: object) -> str:
    """A plan value as the scenario writes it: 'true', 'selective', '4'."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(getattr(value, "value", value))
