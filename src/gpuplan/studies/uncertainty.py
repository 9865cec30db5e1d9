"""Uncertain inputs, uncertain outputs: Monte Carlo of a scenario with ranges in it.

A scenario mapping whose numbers may be ranges or distributions
(:mod:`gpuplan.scenario.distributions`) is sampled ``samples`` times with a fixed, reported
seed; each sample is planned (:func:`gpuplan.planning.run.plan`, plan searches reused
through :mod:`gpuplan.search.cache`), and every
numeric output that varies is summarised by its P10, P50, P90 and mean. The inputs that drive
the spread are ranked by the mean |Spearman rank correlation| between the input and the
headline outputs (:data:`HEADLINE_OUTPUTS`); each correlation is reported too.

Speed: a plan search (~0.5 s) depends on the GPU count, the global batch and the sequence
(its length, packed samples, a video clip), so when a search runs and one of those is
uncertain its draws are quantised to at most ``levels`` values at the sample quantiles (GPU
counts to whole 8-GPU nodes); the result's notes say so. Everything else (prices, PUE, grids,
MFU, tokens) costs ~0.4 ms a sample.

Left out: correlations between inputs (all are drawn independently) and a variance
decomposition (the rank correlation orders influence; it does not split the variance).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gpuplan.catalog import Catalog, load_catalog
from gpuplan.catalog.residuals import above_measured_mfu
from gpuplan.defaults import DEFAULT_SAMPLES, DEFAULT_SEED, MAX_SAMPLES
from gpuplan.errors import ScenarioError, require_draws
from gpuplan.scenario.distributions import (
    Distribution,
    centered,
    find_distributions,
    has_distributions,
    with_values,
)
from gpuplan.scenario.parse import parse_scenario
from gpuplan.search.cache import SearchCache
from gpuplan.studies.combined import combined_intervals
from gpuplan.studies.rows import Scalar, flat_plan, search_group

__all__ = [
    "DEFAULT_SAMPLES",
    "DEFAULT_SEED",
    "HEADLINE_OUTPUTS",
    "Draws",
    "Driver",
    "Summary",
    "UncertaintyResult",
    "draw_samples",
    "has_distributions",
    "quantise",
    "run_uncertainty",
]

DEFAULT_SEARCH_LEVELS = 16
NODE_GPUS = 8
"""GPUs per node that quantised GPU counts are rounded to (HGX/DGX servers hold 8)."""

SEARCH_INPUTS = {
    "gpus": NODE_GPUS,
    "training.global_batch": 1,
    "training.seq_len": 1,
    "training.packed_sample_tokens": 1,
    "training.clip.frames": 1,
    "training.clip.height": 1,
    "training.clip.width": 1,
}
"""Inputs of the plan search that are quantised when uncertain, with their rounding step:
the GPUs, the batch and the sequence, and what sets a sequence's attention span or length
(packed samples, a video clip). A continuous packed_sample_tokens ran one search per sample
(40 samples of DeepSeek-V3 on 1,024 MI300X: over 30 s)."""

HEADLINE_OUTPUTS = (
    "run.days",
    "cost.amortized_usd",
    "cost.cluster_capex_usd",
    "power.facility_w",
    "emissions.tco2e",
)
"""Outputs the drivers are ranked against."""


def quantise(values: NDArray[np.float64], levels: int, step: int) -> NDArray[np.float64]:
    """``values`` moved to the nearest of at most ``levels`` values: the sample quantiles at
    (k + 1/2) / levels, rounded to multiples of ``step`` (never below ``step``). The order of
    the values is kept (a draw never passes a larger one)."""
    if np.unique(values).size <= levels:
        return values
    quantiles = np.quantile(values, (np.arange(levels) + 0.5) / levels)
    grid = np.unique(np.maximum(step, np.round(quantiles / step) * step))
    midpoints = (grid[1:] + grid[:-1]) / 2
    return np.asarray(grid[np.searchsorted(midpoints, values)], dtype=np.float64)


@dataclass(frozen=True)
class Draws:
    """Sampled values of each uncertain input, by path; sample ``i`` is column ``i``."""

    seed: int
    samples: int
    distributions: Mapping[str, Distribution]
    values: Mapping[str, NDArray[np.float64]]
    notes: tuple[str, ...]

    def column(self, path: str) -> list[int] | list[float]:
        """Every sample's value of one input as plain numbers."""
        values = self.values[path]
        if self.distributions[path].field.integer:
            return [int(v) for v in values.astype(np.int64)]
        return [float(v) for v in values]

    def point(self, index: int) -> dict[str, int | float]:
        """The inputs of sample ``index`` as plain numbers (integers for integer fields)."""
        return {
            path: int(v[index]) if self.distributions[path].field.integer else float(v[index])
            for path, v in self.values.items()
        }


def draw_samples(
    distributions: Mapping[str, Distribution],
    samples: int,
    seed: int = DEFAULT_SEED,
    *,
    searched: bool = False,
    levels: int = DEFAULT_SEARCH_LEVELS,
) -> Draws:
    """``samples`` independent draws of each input, in path order, from one generator.

    With ``searched`` (a plan search runs for each sample), uncertain search inputs
    (:data:`SEARCH_INPUTS`) are quantised to at most ``levels`` values.
    """
    if samples < 1:
        raise ScenarioError(f"samples = {samples}", "must be >= 1")
    if levels < 1:
        raise ScenarioError(f"levels = {levels}", "must be >= 1")
    rng = np.random.default_rng(seed)
    values: dict[str, NDArray[np.float64]] = {}
    notes: list[str] = []
    for path in sorted(distributions):
        dist = distributions[path]
        drawn, clipped = dist.sample(rng, samples)
        if clipped:
            notes.append(
                f"{path}: {clipped:,} of {samples:,} draws of {dist.describe()} fell outside "
                "the field's allowed range and were clipped to it."
            )
        step = SEARCH_INPUTS.get(path)
        if searched and step is not None:
            step = step if drawn.min() >= step else 1
            quantised = quantise(drawn, levels, step)
            if quantised is not drawn:
                count = np.unique(quantised).size
                nodes = f", whole {step}-GPU nodes" if path == "gpus" and step > 1 else ""
                notes.append(
                    f"{path}: draws quantised to {count} values (sample quantiles{nodes}; "
                    "each draw moved to the nearest) so that plan searches are reused; "
                    "the spread is kept, the resolution between the values is not."
                )
            drawn = quantised
        values[path] = drawn
    return Draws(seed, samples, dict(distributions), values, tuple(notes))


@dataclass(frozen=True)
class Summary:
    """Percentiles and mean of one quantity over the samples where it is defined."""

    p10: float
    p50: float
    p90: float
    mean: float
    count: int

    @classmethod
    def of(cls, values: Sequence[float] | NDArray[np.float64]) -> Summary:
        p10, p50, p90 = np.percentile(values, [10, 50, 90])
        return cls(float(p10), float(p50), float(p90), float(np.mean(values)), len(values))

    def as_dict(self) -> dict[str, float]:
        return {"p10": self.p10, "p50": self.p50, "p90": self.p90, "mean": self.mean}


@dataclass(frozen=True)
class Driver:
    """How strongly one uncertain input moves the headline outputs."""

    input: str
    distribution: str
    importance: float
    """Mean |Spearman rank correlation| over the headline outputs that vary, 0 to 1: an input
    that moves several headline outputs ranks above one that moves a single output."""
    rank_correlation: Mapping[str, float]
    """Signed Spearman correlation with each headline output that varies."""


@dataclass(frozen=True)
class UncertaintyResult:
    seed: int
    samples: int
    feasible_samples: int
    inputs: Mapping[str, tuple[str, Summary]]
    """Each uncertain input: its distribution and a summary of what was drawn."""
    outputs: Mapping[str, Summary]
    """Every numeric output (dotted ``to_dict`` key) that varies across the samples by more
    than rounding (a relative 1e-9)."""
    drivers: tuple[Driver, ...]
    """Most important first."""
    notes: tuple[str, ...]
    intervals: Mapping[str, Any] | None = None
    """Input spread and model error combined (:mod:`gpuplan.studies.combined`)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "samples": self.samples,
            "feasible_samples": self.feasible_samples,
            "inputs": {
                path: {"distribution": text, **summary.as_dict()}
                for path, (text, summary) in self.inputs.items()
            },
            "outputs": {key: s.as_dict() for key, s in self.outputs.items()},
            "drivers": [
                {
                    "input": d.input,
                    "distribution": d.distribution,
                    "importance": d.importance,
                    "rank_correlation": dict(d.rank_correlation),
                }
                for d in self.drivers
            ],
            "notes": list(self.notes),
            "intervals": None if self.intervals is None else dict(self.intervals),
        }


def _numeric(values: list[Scalar]) -> NDArray[np.float64] | None:
    """The defined values if every one is a number (bools are not), else None."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if not kinds:
        return None
    present = values if None not in values else [v for v in values if v is not None]
    if not kinds <= {int, float} and any(  # bools, text or a subclass: one by one
        isinstance(v, bool) or not isinstance(v, int | float) for v in present
    ):
        return None
    return np.asarray(present, dtype=np.float64)  # as float() converts each


def ranks(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Ranks from 1, tied values sharing their average rank (as scipy.stats.rankdata, whose
    import would cost the command line ~1.5 s)."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)
    return np.asarray(((last - counts + 1 + last) / 2)[inverse], dtype=np.float64)


def _spearman(x: NDArray[np.float64], y: NDArray[np.float64]) -> float | None:
    """Spearman's rank correlation (Pearson's on the ranks); None if either is constant."""
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return float(np.corrcoef(ranks(x), ranks(y))[0, 1])


def _drivers(
    draws: Draws, rows: list[dict[str, Scalar]], fits: list[bool], outputs: Mapping[str, Summary]
) -> list[Driver]:
    """The inputs ranked over the samples that fit, as the outputs are: a sample that does
    not fit has no run, and its numbers (a step time that does not fit memory) would rank an
    input by what it does to plans nobody can run."""
    headline = [key for key in HEADLINE_OUTPUTS if key in outputs]
    drivers = []
    for path, drawn in draws.values.items():
        correlations: dict[str, float] = {}
        for key in headline:
            keep = [i for i, row in enumerate(rows) if fits[i] and row.get(key) is not None]
            column = np.asarray([rows[i][key] for i in keep], dtype=np.float64)
            rho = _spearman(drawn[keep], column)
            if rho is not None:
                correlations[key] = rho
        magnitudes = [abs(r) for r in correlations.values()]
        importance = sum(magnitudes) / len(magnitudes) if magnitudes else 0.0
        drivers.append(Driver(path, draws.distributions[path].describe(), importance, correlations))
    return sorted(drivers, key=lambda d: (-d.importance, d.input))


def _output_keys(rows: list[dict[str, Scalar]]) -> list[str]:
    """The rows' keys in order, without ``intervals.*`` (each sample's interval is combined
    with the input spread by :func:`combined_intervals`, not summarised key by key)."""
    return [k for k in dict.fromkeys(k for row in rows for k in row) if k[:10] != "intervals."]


def run_uncertainty(
    data: Mapping[str, Any],
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    catalog: Catalog | None = None,
    levels: int = DEFAULT_SEARCH_LEVELS,
    cache: SearchCache | None = None,
) -> UncertaintyResult:
    """Monte Carlo of a scenario mapping with ranges or distributions in it."""
    require_draws("samples", samples, 2, MAX_SAMPLES, seed)
    found = find_distributions(data)
    if not found:
        raise ScenarioError("scenario", "holds no range or distribution; plan it directly")
    center = centered(data, found)
    # bad fields fail here, naming the field, before any sampling
    precision = parse_scenario(center).training.precision.value
    draws = draw_samples(found, samples, seed, searched=search_group(center) is not None,
                         levels=levels)  # fmt: skip
    catalog = load_catalog() if catalog is None else catalog
    cache = SearchCache() if cache is None else cache
    hits, misses = cache.hits, cache.misses
    rows = [flat_plan(with_values(data, draws.point(i)), catalog, cache) for i in range(samples)]
    errors = [str(row["error"]) for row in rows if row["error"] is not None]
    if len(errors) == samples:
        raise ScenarioError("scenario", f"every sample failed; the first: {errors[0]}")
    fits = [row["error"] is None and row.get("fits") is not False for row in rows]
    fit = [row if ok else {} for row, ok in zip(rows, fits, strict=True)]  # {}: no numbers
    feasible, outputs = sum(fits), {}
    for key in _output_keys(rows):  # over the samples that fit, as the notes say
        values = _numeric([row.get(key) for row in fit])
        if values is not None and values.max() - values.min() > 1e-9 * np.abs(values).max():
            outputs[key] = Summary.of(values)
    notes = _notes(draws, feasible, errors, (cache.hits - hits, cache.misses - misses), precision)
    return UncertaintyResult(
        seed=seed,
        samples=samples,
        feasible_samples=feasible,
        inputs={
            path: (found[path].describe(), Summary.of(list(draws.values[path])))
            for path in draws.values
        },
        outputs=outputs,
        drivers=tuple(_drivers(draws, rows, fits, outputs)),
        notes=tuple(notes),
        intervals=combined_intervals(fit, seed),
    )


def _notes(
    draws: Draws, feasible: int, errors: list[str], searches: tuple[int, int], precision: str
) -> list[str]:
    """The result's notes: the draws, what did not fit, the searches (reused, run), the
    drivers, and a what-if MFU drawn above every measured run's."""
    notes = [
        f"{draws.samples:,} samples drawn with seed {draws.seed} (numpy default_rng); the same "
        "seed and number of samples give the same numbers.",
        *draws.notes,
    ]
    if feasible < draws.samples:
        notes.append(
            f"{draws.samples - feasible:,} of {draws.samples:,} samples do not fit or are invalid; "
            f"percentiles are over the {feasible:,} that fit."
        )
    if errors:
        notes.append(f"{len(errors):,} samples are invalid, e.g. {errors[0]}")
    if searches[1]:
        notes.append(
            f"Plan searches: {searches[1]:,} run and reused "
            f"{searches[0]:,} times (one per distinct model, accelerator, GPU count, "
            "batch, sequence length, precision and fixed parallelism)."
        )
    notes.append(
        "Drivers: ranked by the mean |Spearman rank correlation| between each input and "
        f"{', '.join(HEADLINE_OUTPUTS)} over the {feasible:,} samples that fit; inputs are "
        "drawn independently, and the ranking orders influence without splitting the variance."
    )
    mfu = draws.values.get("training.mfu")
    best, words = above_measured_mfu(precision)
    if mfu is not None and (above := int((mfu > best).sum())):
        notes.append(
            f"Warning: training.mfu: {above:,} of {draws.samples:,} draws are above {words}."
        )
    return notes
