"""`gpuplan validate`'s MoE table: published mixture-of-experts throughput against the model.

Each usable row of ``catalog/data/moe_measurements.yaml`` becomes a scenario with what its
source states (model, accelerator, GPU count, batch, sequence length, precision, framework
profile, the stated plan fields) and goes through :func:`gpuplan.planning.run.plan`, the
same door as ``gpuplan plan``: plan fields the source leaves out are searched. The step time
is compared with the published one (:func:`gpuplan.checks.validation.measured_step_s`).
Sources that a catalog number was fitted on are listed under ``fitted_sources`` in the data
file; their rows are reported but kept out of the held-out summary (issue 14's bar).
"""

from __future__ import annotations

import functools
from typing import Any

from gpuplan.catalog.loader import Catalog, _parse, _read_yaml
from gpuplan.catalog.schema import Measurement
from gpuplan.checks.validation import (
    ErrorSummary,
    ValidationRow,
    error_summary,
    measured_step_s,
    source_group,
)
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario

TRAINING_TOKENS = 1.0e12
"""Any length will do: only the step time is compared."""
PLAN_FIELDS = ("tp", "pp", "dp", "cp", "ep", "microbatch", "interleave", "recompute",
               "sequence_parallel", "zero")  # fmt: skip


@functools.cache
def load_moe_measurements() -> dict[str, Measurement]:
    """The MoE rows (moe_measurements.yaml), by id."""
    data = _read_yaml("moe_measurements.yaml")
    return _parse("moe_measurements.yaml", "measurements", Measurement, data)


@functools.cache
def fitted_sources() -> frozenset[str]:
    """Source groups (the id's first part) that a catalog number was fitted on."""
    return frozenset(_read_yaml("moe_measurements.yaml").get("fitted_sources") or ())


def scenario_of(measurement: Measurement) -> dict[str, Any]:
    """The scenario mapping of a row: what its source states, nothing else."""
    m = measurement
    assert m.plan is not None and isinstance(m.model, str)
    stated = {k: getattr(m.plan, k) for k in PLAN_FIELDS}
    return {
        "model": m.model,
        "hardware": m.hardware,
        "gpus": m.gpus,
        "framework": m.framework,
        "training": {
            "tokens": TRAINING_TOKENS,
            "global_batch": m.global_batch,
            "seq_len": m.seq_len,
            "precision": m.precision or "bf16",
        },
        "parallelism": {k: v for k, v in stated.items() if v is not None},
    }


def predict_moe_row(measurement: Measurement, catalog: Catalog) -> ValidationRow | None:
    """One usable row planned from its stated setup, or None when it is not usable."""
    m = measurement
    if not m.usable_for_validation or m.plan is None or not isinstance(m.model, str):
        return None
    measured = measured_step_s(m, catalog.model(m.model))
    if measured is None:
        return None
    step_s, basis = measured
    result = plan(parse_scenario(scenario_of(m)), catalog)
    group, source = source_group(m), m.source
    if result.step is None:
        reason = result.infeasible.reason if result.infeasible else "no plan"
        return ValidationRow(m.id, group, source, step_s, None, basis, None,
                             f"predicted infeasible: {reason}")  # fmt: skip
    chosen = result.parallel_plan
    note = "" if chosen is None else f"plan {chosen.as_dict()}"
    return ValidationRow(
        m.id, group, source, step_s, result.step.time_s, basis, result.step.mfu, note
    )


def validate_moe(catalog: Catalog) -> list[ValidationRow]:
    """Every usable MoE row, predicted."""
    rows = (predict_moe_row(m, catalog) for m in load_moe_measurements().values())
    return [r for r in rows if r is not None]


def moe_summary(rows: list[ValidationRow]) -> ErrorSummary:
    """|error| statistics of the step time over the rows predicted feasible."""
    return error_summary([r.error for r in rows if r.error is not None])


def held_out(rows: list[ValidationRow]) -> list[ValidationRow]:
    """The rows of sources nothing was fitted on (:func:`fitted_sources`)."""
    fitted = fitted_sources()
    return [r for r in rows if r.source_group not in fitted]
