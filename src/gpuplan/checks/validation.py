"""`gpuplan validate`: the performance model against published measurements.

Each usable row of ``catalog/data/measurements.yaml`` is predicted from its published
configuration alone (model shape, accelerator, GPU count, batch, parallel plan, framework)
and compared on step time, the quantity every source's definition agrees on:

- a published iteration time is used as is;
- tokens/s/GPU gives ``step = global_batch x seq_len / (tokens/s/GPU x GPUs)``;
- Narayanan et al. 2021 print TFLOP/s per GPU computed with their eq. 3, which counts the
  recompute forward: ``F = 96 B s l h^2 (1 + s / 6h + V / 16 l h)``, so
  ``step = F / (TFLOP/s x GPUs)``.

Kernel efficiencies come from kernel benchmarks (``efficiency.yaml``), framework behaviour
from documentation (``frameworks.yaml``). The one constant fitted on training runs,
``training_kernel_efficiency``, is fitted on Korthikanti et al. 2022 alone; the held-out
target leaves that source out.

The kernel model is also checked below the step (:mod:`gpuplan.checks.kernel_checks`):
each GEMM and decoder layer timed on a lent GPU by ``benchmarks/gpu_kernels.py``
(``catalog/data/measured/``), with ``training_kernel_efficiency`` left out.
"""

from __future__ import annotations

import functools
import math
import statistics
from dataclasses import dataclass, replace

from gpuplan import units
from gpuplan.catalog.loader import Catalog, _parse, _read_yaml
from gpuplan.catalog.schema import (
    InlineShape,
    Measurement,
    MedianTarget,
    Model,
    ValidationTarget,
)
from gpuplan.checks.row_plans import best_estimate, schedule_searched
from gpuplan.model.step import Infeasible

FRAMEWORK_PROFILES = {
    "megatron-lm": "megatron-2022",
    "megatron-lm-2021": "megatron-lm-2021",
    "nemo": "nemo-2024",
    "nemo-sft": "nemo-2024-sft",
    "llm-foundry": "llm-foundry-2023",
    "llm-foundry-fa2": "llm-foundry-fa2",
    "megatron-bridge": "megatron-bridge-llm-2025",
    "megatron-bridge-mxfp8": "megatron-bridge-llm-2025-mxfp8",
    "megatron-bridge-mxfp8-sync-ag": "megatron-bridge-llm-2025-mxfp8-sync-ag",
    "torchtitan": "fsdp2-torchtitan-2024",
    "torchtitan-sync-tp": "fsdp2-torchtitan-2024-sync-tp",
    "torchtitan-fp8ag": "fsdp2-torchtitan-2024-fp8ag",
    "torchtitan-fp8ag-sync-tp": "fsdp2-torchtitan-2024-fp8ag-sync-tp",
}


@dataclass(frozen=True)
class ValidationRow:
    id: str
    source_group: str
    source: str
    measured_step_s: float
    predicted_step_s: float | None
    basis: str
    """Which published quantity the measured step time comes from."""
    predicted_mfu: float | None
    note: str = ""

    @property
    def error(self) -> float | None:
        """Relative error of the predicted step time (positive: we predict slower)."""
        if self.predicted_step_s is None:
            return None
        return self.predicted_step_s / self.measured_step_s - 1


@functools.cache
def load_measurements() -> dict[str, Measurement]:
    return _parse("measurements.yaml", "measurements", Measurement, _read_yaml("measurements.yaml"))


def source_group(measurement: Measurement) -> str:
    """Rows from one publication share a group: 'korthikanti2022', 'mosaicml', ..."""
    return measurement.id.split("-")[0]


def _model_of(measurement: Measurement, catalog: Catalog) -> Model:
    """The row's model, with its packed-sample attention span when the run packed samples."""
    model = _shape_of(measurement, catalog)
    if measurement.packed_sample_tokens is None:
        return model
    return model.model_copy(update={"packed_sample_tokens": measurement.packed_sample_tokens})


def _shape_of(measurement: Measurement, catalog: Catalog) -> Model:
    shape = measurement.model
    if isinstance(shape, str):
        return catalog.model(shape)
    assert isinstance(shape, InlineShape) and measurement.seq_len is not None
    return Model.model_validate(
        {
            "id": f"measured:{measurement.id}",
            "name": measurement.id,
            "kind": "llm",
            "params_published_b": 1.0,
            "layers": shape.layers,
            "hidden": shape.hidden,
            "heads": shape.heads,
            "kv_heads": shape.kv_heads,
            "ffn_hidden": shape.ffn_hidden,
            "ffn": shape.ffn,
            "vocab": shape.vocab or 0,
            "seq_len": measurement.seq_len,
            **shape.stated(),
            "source": measurement.source,
            "retrieved": measurement.retrieved,
        }
    )


MEGATRON_MODEL_FLOPS = "model (Megatron-LM formula)"
"""``tflops_definition`` of an MFU counted with Megatron-LM's model FLOPs per step,
``72 B s l h^2 (1 + s / 6h + V / 12lh)`` (Narayanan et al. 2021 eq. 3 without the recompute
forward; a 4h MLP): MegaScale's MFU column (Jiang et al. 2024 Table 2) follows it."""


def measured_step_s(measurement: Measurement, model: Model) -> tuple[float, str] | None:
    m = measurement.measured
    gpus, batch, seq = measurement.gpus, measurement.global_batch, measurement.seq_len
    if m.iteration_time_s is not None:
        return m.iteration_time_s, "iteration time"
    if gpus is None or batch is None or seq is None:
        return None
    if m.tokens_per_s_per_gpu is not None:
        return batch * seq / (m.tokens_per_s_per_gpu * gpus), "tokens/s/GPU"
    definition = measurement.tflops_definition or ""
    h, layers, vocab = model.hidden, model.layers, model.vocab
    if m.tflops_per_gpu is not None and definition.startswith("hardware"):
        flops = 96 * batch * seq * layers * h**2 * (1 + seq / (6 * h) + vocab / (16 * layers * h))
        return flops / (m.tflops_per_gpu * units.TERA * gpus), "TFLOP/s (Narayanan eq. 3)"
    peak = measurement.peak_tflops_basis
    if m.mfu_pct is not None and definition == MEGATRON_MODEL_FLOPS and peak is not None:
        flops = 72 * batch * seq * layers * h**2 * (1 + seq / (6 * h) + vocab / (12 * layers * h))
        return flops / (m.mfu_pct / 100 * peak * units.TERA * gpus), "MFU (Megatron-LM formula)"
    return None


def unpredictable(measurement: Measurement, catalog: Catalog) -> str | None:
    """Why ``gpuplan validate`` does not predict the row, in one clause ('its source does
    not state the hardware'), or None when it predicts it: the one test of
    :func:`predict_row` and of :func:`gpuplan.checks.row_scenarios.row_scenario`."""
    plan, m = measurement.plan, measurement
    missing = [name for name, value in (("a parallel plan", plan), ("the hardware", m.hardware),
               ("the model", m.model), ("the global batch", m.global_batch),
               ("the sequence length", m.seq_len)) if value is None]  # fmt: skip
    if plan is not None:
        missing += [f"{name} of its plan" for name in ("tp", "pp", "dp")
                    if getattr(plan, name) is None]  # fmt: skip
    if not m.usable_for_validation:
        return "the catalog marks it not usable for validation (usable_for_validation: false)"
    if missing:
        return f"its source does not state {', '.join(missing)}"
    if m.framework not in FRAMEWORK_PROFILES:
        return f"its framework '{m.framework}' has no validation profile (FRAMEWORK_PROFILES)"
    if measured_step_s(m, _model_of(m, catalog)) is None:
        return "its published throughput gives no step time (no basis the rows compare on)"
    return None


def predict_row(measurement: Measurement, catalog: Catalog) -> ValidationRow | None:
    """Predict one usable row, or None when the row cannot be predicted.

    Plan fields the source does not state are chosen as its stack would: an unpublished
    micro-batch is searched over the search's set (the fastest that fits, so the prediction
    is a lower bound on the step time), an unpublished recompute is the least that fits.
    """
    if unpredictable(measurement, catalog) is not None:
        return None
    framework_id = FRAMEWORK_PROFILES[measurement.framework]
    model = _model_of(measurement, catalog)
    measured = measured_step_s(measurement, model)
    assert measured is not None
    result = best_estimate(measurement, catalog, model, framework_id)
    step_s, basis = measured
    row = (measurement.id, source_group(measurement), measurement.source, step_s)
    if isinstance(result, Infeasible):
        return ValidationRow(*row, None, basis, None, f"predicted infeasible: {result.reason}")
    note = ""
    if schedule_searched(measurement):
        chosen = result.plan
        note = (
            f"schedule not published, searched within {framework_id} (its fastest plan that "
            f"fits): micro-batch {chosen.microbatch}, sequence parallel "
            f"{'on' if chosen.sequence_parallel else 'off'}, recompute {chosen.recompute.value}"
        )
    return ValidationRow(*row, result.time_s, basis, result.mfu, note)


def validate(catalog: Catalog) -> list[ValidationRow]:
    rows = []
    for measurement in load_measurements().values():
        row = predict_row(measurement, catalog)
        if row is not None:
            rows.append(row)
    return rows


@dataclass(frozen=True)
class ErrorSummary:
    rows: int
    mean_abs: float
    median_abs: float
    p90_abs: float
    max_abs: float


def summarize(rows: list[ValidationRow], infeasible_error: float | None = None) -> ErrorSummary:
    """|error| statistics; rows predicted infeasible count as ``infeasible_error`` if given."""
    errors: list[float] = []
    for r in rows:
        if r.error is not None:
            errors.append(abs(r.error))
        elif infeasible_error is not None:
            errors.append(infeasible_error)
    return error_summary(errors)


def error_summary(errors: list[float]) -> ErrorSummary:
    """Mean, median, 90th percentile and max of |error|."""
    errors = sorted(abs(e) for e in errors)
    if not errors:
        return ErrorSummary(0, float("nan"), float("nan"), float("nan"), float("nan"))
    p90_index = min(len(errors) - 1, round(0.9 * (len(errors) - 1)))
    return ErrorSummary(
        rows=len(errors),
        mean_abs=statistics.fmean(errors),
        median_abs=statistics.median(errors),
        p90_abs=errors[p90_index],
        max_abs=errors[-1],
    )


def log_errors(rows: list[ValidationRow]) -> list[float]:
    return [
        abs(math.log(r.predicted_step_s / r.measured_step_s))
        for r in rows
        if r.predicted_step_s is not None
    ]


def fit_kernel_efficiency(catalog: Catalog, source: str) -> tuple[float, float]:
    """Fit the catalog's ``training_kernel_efficiency`` on one source's rows.

    Least squares: minimises the root-mean-square log(predicted / measured) step time over
    the rows of ``source`` (a source group such as ``narayanan2021``) by golden-section
    search on [0.5, 1]. Returns (fitted value, its RMS log error). No other source is read.
    (The median |log error| used before 2026-12-06 is not smooth over nine rows: it has
    several local minima, where a golden-section search needs one.)
    """
    measurements = [m for m in load_measurements().values() if source_group(m) == source]
    parameter = catalog.system("training_kernel_efficiency")

    def objective(value: float) -> float:
        systems = dict(catalog.systems)
        systems[parameter.id] = parameter.model_copy(update={"value": value, "by_accelerator": {}})
        trial = replace(catalog, systems=systems)
        rows = [r for m in measurements if (r := predict_row(m, trial)) is not None]
        return math.sqrt(statistics.fmean([e * e for e in log_errors(rows)]))

    low, high = 0.5, 1.0
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(40):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if objective(a) < objective(b):
            high = b
        else:
            low = a
    best = (low + high) / 2
    return best, objective(best)


@functools.cache
def load_targets() -> dict[str, ValidationTarget]:
    return _parse(
        "validation_targets.yaml",
        "targets",
        ValidationTarget,
        _read_yaml("validation_targets.yaml"),
    )


def load_median_target(filename: str) -> MedianTarget:
    """The ``target`` of a table's data file (video_validation.yaml, run_totals.yaml): a bar
    on the median |error| of its rows."""
    data = _read_yaml(filename)
    parsed = _parse(filename, "target", MedianTarget, {"target": [data.get("target")]})
    return next(iter(parsed.values()))


@dataclass(frozen=True)
class TargetResult:
    target: ValidationTarget
    summary: ErrorSummary
    failures: tuple[str, ...]
    """The bars missed, as text ('mean 4.1% > 3.65%'); empty when the target is met."""

    @property
    def passed(self) -> bool:
        return not self.failures


def select_rows(target: ValidationTarget, rows: list[ValidationRow]) -> list[ValidationRow]:
    if target.row_ids:
        return [r for r in rows if r.id in target.row_ids]
    if target.source_groups:
        return [r for r in rows if r.source_group in target.source_groups]
    return [r for r in rows if r.source_group not in target.exclude_groups]


def check_targets(rows: list[ValidationRow]) -> list[TargetResult]:
    """Each target's error summary and the bars it misses.

    A row predicted infeasible (the model says it does not fit, though it ran) counts as a
    100% error: a miss is never dropped from the statistics.
    """
    results = []
    for target in load_targets().values():
        chosen = select_rows(target, rows)
        summary = summarize(chosen, infeasible_error=1.0)
        failures = []
        for name, bar in (
            ("mean", target.mean_abs_max),
            ("median", target.median_abs_max),
            ("p90", target.p90_abs_max),
            ("max", target.max_abs_max),
        ):
            value = getattr(summary, f"{name}_abs")
            if bar is not None and not value <= bar:
                failures.append(f"{name} {value:.2%} > {bar:.2%}")
        failures.extend(_source_median_failures(target, chosen))
        results.append(TargetResult(target, summary, tuple(failures)))
    return results


def _source_median_failures(target: ValidationTarget, rows: list[ValidationRow]) -> list[str]:
    """The source groups whose median |error| (infeasible rows 100%) misses the per-source
    bar, as text ('source mosaicml median 11.2% > 10.00%'); none without a bar."""
    bar = target.source_median_abs_max
    if bar is None:
        return []
    medians = {g: summarize([r for r in rows if r.source_group == g], 1.0).median_abs
               for g in sorted({r.source_group for r in rows})}  # fmt: skip
    return [f"source {g} median {m:.2%} > {bar:.2%}" for g, m in medians.items() if not m <= bar]
