"""Fit your own scaling law L(N, D) = E + A / N^alpha + B / D^beta to training runs.

The method is Chinchilla's approach 3 (Hoffmann et al. 2022, sec. 3.3 and appendix D.2) as
Besiroglu et al. 2024 (arXiv 2404.10102, sec. 2) replicated it. With ``a = log A``,
``b = log B``, ``e = log E``, minimise over ``(a, b, e, alpha, beta)``

    sum_i Huber_delta( LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i ),   delta = 1e-3

with L-BFGS started from a grid of points (alpha, beta in {0, 0.5, ..., 2},
e in {-1, -0.5, ..., 1}, a, b in {0, 5, ..., 25}: 4,500 starts), keeping the best optimum.
LSE is log-sum-exp, so the prediction is ``log L_pred``. Confidence intervals come from the
bootstrap: resample the runs with replacement, refit, take percentiles (Hoffmann et al.
report 10th-90th percentiles; Besiroglu et al. use 4,000 resamples). A fixed seed makes
the intervals reproducible; the seed is in the result.

Simplifications (speed trades, listed in every result's ``assumptions``): the papers run
L-BFGS from every grid point; gpuplan evaluates the objective on the whole grid at once and
runs L-BFGS from the ``starts`` best points (32 by default; ``starts=None`` runs all 4,500,
which takes minutes). Each bootstrap refit starts from the full-data optimum and the
``bootstrap_starts`` best grid points of its resample.

Video models: there is no agreed public scaling law for video diffusion transformers
(loss is not comparable across VAEs, tokenisers and noise schedules). This module does not
supply one; it fits whatever (N, D, loss) runs the user gives it, and a law fitted this way
describes only those runs.

Compute for a loss, and loss per decade of compute, use the compute-optimal frontier of
Hoffmann et al. 2022 (eq. 4) with ``C = 6 N D``; on it, for the Chinchilla form,
``L*(C) = E + K (C / 6)^(-gamma)`` with ``gamma = alpha beta / (alpha + beta)`` and
``K = A G^-alpha + B G^beta``, ``G = (alpha A / (beta B))^(1 / (alpha + beta))``.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from gpuplan.catalog.schema import ScalingLaw, ScalingLawForm
from gpuplan.defaults import MAX_SAMPLES
from gpuplan.errors import ScenarioError, require_draws, shorten
from gpuplan.fitting.huber_fit import Progress, bootstrap_fits, grid_objective, minimise
from gpuplan.fitting.intervals import Interval, percentile_interval
from gpuplan.fitting.scaling_laws import compute_optimal
from gpuplan.scenario.files import read_csv_text

FloatArray = npt.NDArray[np.float64]

HUBER_DELTA = 1e-3
"""Hoffmann et al. 2022, appendix D.2; kept by Besiroglu et al. 2024."""
MIN_RUNS = 6
"""Five constants need at least six runs to leave a residual."""
CSV_COLUMNS = ("N", "D", "loss")


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class LossObservations:
    """Training runs: parameters N, training tokens D, final loss (nats per token)."""

    params: tuple[float, ...]
    tokens: tuple[float, ...]
    losses: tuple[float, ...]

    def __post_init__(self) -> None:
        sizes = {len(self.params), len(self.tokens), len(self.losses)}
        if len(sizes) != 1:
            raise ScenarioError("runs", f"N, D and loss have different lengths {sorted(sizes)}")
        for name, values in (("N", self.params), ("D", self.tokens), ("loss", self.losses)):
            for index, value in enumerate(values):
                if not (math.isfinite(value) and value > 0):
                    raise ScenarioError(
                        f"runs[{index}].{name}", f"{value} must be a positive finite number"
                    )
        if len(self.params) < MIN_RUNS:
            raise ScenarioError(
                "runs", f"{len(self.params)} runs; fitting five constants needs {MIN_RUNS}+"
            )
        if len(set(self.params)) < 2 or len(set(self.tokens)) < 2:
            raise ScenarioError(
                "runs", "N and D must each take at least two values, or alpha/beta are unknown"
            )

    def __len__(self) -> int:
        return len(self.params)

    def logs(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(log N, log D, log L) as arrays."""
        return (
            np.log(np.asarray(self.params, dtype=float)),
            np.log(np.asarray(self.tokens, dtype=float)),
            np.log(np.asarray(self.losses, dtype=float)),
        )


def _csv_number(text: str, where: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        shown = shorten(text)
        raise ScenarioError(where, f"'{shown}' is not a number; write e.g. 1.4e12") from None
    if not (math.isfinite(value) and value > 0):
        raise ScenarioError(where, f"{shorten(text.strip())} must be a positive finite number")
    return value


def read_loss_csv(path: Path) -> LossObservations:
    """Read runs from a CSV whose header names the columns ``N``, ``D`` and ``loss``.

    Column names are matched without regard to case or surrounding spaces; other columns
    (a run name, notes) are ignored. Each bad value raises :class:`ScenarioError` naming the
    file, the line and the column.
    """
    text = read_csv_text(path, str(path))
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise ScenarioError(str(path), "the file is empty; expected a header N,D,loss")
    names = [h.strip().lower() for h in header]
    where: dict[str, int] = {}
    for column in CSV_COLUMNS:
        hits = [i for i, name in enumerate(names) if name == column.lower()]
        if len(hits) > 1:
            raise ScenarioError(str(path), f"column {column} appears {len(hits)} times")
        if hits:
            where[column] = hits[0]
    missing = [c for c in CSV_COLUMNS if c not in where]
    if missing:
        raise ScenarioError(
            str(path),
            f"missing column(s) {', '.join(missing)}; the header must name N, D and loss "
            f"(found: {', '.join(h.strip() for h in header)})",
        )
    columns: dict[str, list[float]] = {c: [] for c in CSV_COLUMNS}
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank line
        for column, index in where.items():
            place = f"{path.name}, line {line}, column {column}"
            if index >= len(row) or not row[index].strip():
                raise ScenarioError(place, "is empty; every run needs N, D and loss")
            columns[column].append(_csv_number(row[index], place))
    return LossObservations(tuple(columns["N"]), tuple(columns["D"]), tuple(columns["loss"]))


@dataclass(frozen=True)
class InitGrid:
    """Starting points for L-BFGS; the default is Hoffmann et al. 2022, appendix D.2."""

    alpha: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0)
    beta: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0)
    log_e: tuple[float, ...] = (-1.0, -0.5, 0.0, 0.5, 1.0)
    log_a: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0)
    log_b: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0)

    def points(self) -> FloatArray:
        """Every start as a row ``(log A, log B, log E, alpha, beta)``."""
        rows = itertools.product(self.log_a, self.log_b, self.log_e, self.alpha, self.beta)
        return np.array(list(rows), dtype=float)


# --------------------------------------------------------------------------- objective


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class ScalingFit:
    """A fitted Chinchilla-form law with bootstrap intervals for every constant.

    ``params_exponent`` is a = beta / (alpha + beta), so N_opt grows as C^a;
    ``tokens_exponent`` is b = alpha / (alpha + beta), so D_opt grows as C^b
    (Hoffmann et al. 2022, eq. 4).
    """

    e: float
    a: float
    b: float
    alpha: float
    beta: float
    e_interval: Interval
    a_interval: Interval
    b_interval: Interval
    alpha_interval: Interval
    beta_interval: Interval
    params_exponent: float
    tokens_exponent: float
    params_exponent_interval: Interval
    tokens_exponent_interval: Interval
    runs: int
    objective: float
    """Huber objective at the optimum (sum over runs)."""
    huber_delta: float
    starts: int
    """L-BFGS starting points of the point estimate."""
    grid_size: int
    bootstrap: int
    seed: int
    assumptions: tuple[str, ...] = field(default=())

    def law(
        self,
        *,
        law_id: str = "user-fit",
        name: str = "Chinchilla-form law fitted by gpuplan",
        data_domain: str = "the user's runs",
        source: str = "fitted by gpuplan (Chinchilla approach 3) to the user's runs",
        retrieved: dt.date | None = None,
    ) -> ScalingLaw:
        """This fit as a catalog :class:`ScalingLaw`, for ``loss`` and ``compute_optimal``."""
        if not (0 < self.alpha < 1 and 0 < self.beta < 1):
            raise ScenarioError(
                "fit",
                f"alpha = {self.alpha:.3g}, beta = {self.beta:.3g}: a scaling law needs both "
                "in (0, 1); the runs do not pin the law down (add runs over a wider range)",
            )
        return ScalingLaw(
            id=law_id,
            name=name,
            form=ScalingLawForm.CHINCHILLA,
            e=self.e,
            a=self.a,
            b=self.b,
            alpha=self.alpha,
            beta=self.beta,
            params_counted="as in the user's runs",
            data_domain=data_domain,
            source=source,
            retrieved=retrieved or dt.date.today(),
            notes=f"{self.runs} runs; {self.bootstrap} bootstrap resamples, seed {self.seed}",
        )

    def to_dict(self) -> dict[str, Any]:
        constants = ("e", "a", "b", "alpha", "beta", "params_exponent", "tokens_exponent")
        return {
            "constants": {name: getattr(self, name) for name in constants},
            "intervals": {name: getattr(self, f"{name}_interval").to_dict() for name in constants},
            "runs": self.runs,
            "objective": self.objective,
            "huber_delta": self.huber_delta,
            "starts": self.starts,
            "grid_size": self.grid_size,
            "bootstrap": self.bootstrap,
            "seed": self.seed,
            "assumptions": list(self.assumptions),
        }


def _params_exponents(theta: FloatArray, samples: FloatArray, constants: FloatArray) -> FloatArray:
    """b / (a + b) of each refit; a ScenarioError where the runs hold no scaling law (alpha or
    beta <= 0: a flat loss was a ZeroDivisionError, or alpha = -2.7e-11 and N_opt ~ C^47) or
    no refit gives finite constants (1e-300 and 1e300: ValueError; E, A, B: OverflowError)."""
    alpha, beta = float(theta[3]), float(theta[4])
    if not (math.isfinite(alpha + beta) and alpha > 0 and beta > 0):
        raise ScenarioError(
            "runs",
            f"the losses do not fall with N or D (fitted alpha = {alpha:.3g}, beta = "
            f"{beta:.3g}): there is no scaling law in them to fit",
        )
    if not np.isfinite(constants).all(axis=1).any() or max(theta[:3]) > np.log(np.finfo(float).max):
        raise ScenarioError("runs", "no bootstrap refit gives finite constants; are the "
                            "losses in nats per token and N, D plain counts?")  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        exponents: FloatArray = samples[:, 4] / (samples[:, 3] + samples[:, 4])
    return exponents


def fit_scaling_law(
    runs: LossObservations,
    *,
    bootstrap: int = 200,
    seed: int = 0,
    level: float = 0.8,
    grid: InitGrid | None = None,
    starts: int | None = 32,
    bootstrap_starts: int = 1,
    huber_delta: float = HUBER_DELTA,
    progress: Progress | None = None,
) -> ScalingFit:
    """Fit L = E + A/N^alpha + B/D^beta to ``runs`` (Hoffmann et al. 2022, approach 3).

    ``bootstrap`` resamples (0 gives zero-width intervals at the point estimate), drawn
    with ``numpy.random.default_rng(seed)``; intervals at ``level`` (0.8: the 10th-90th
    percentiles of Hoffmann et al. Table 2). L-BFGS runs from the ``starts`` grid points
    with the lowest objective (None: every point, as the papers did). ``progress(done,
    total)`` is called after each bootstrap refit.
    """
    require_draws("bootstrap", bootstrap, 0, MAX_SAMPLES, seed)
    if not 0 < level < 1:
        raise ScenarioError("level", f"{level} must be in (0, 1), e.g. 0.8")
    if bootstrap_starts < 1 or (starts is not None and starts < 1):
        raise ScenarioError("starts", "L-BFGS needs at least one starting point")
    log_n, log_d, log_l = runs.logs()
    points = (grid or InitGrid()).points()
    ranked = points[np.argsort(grid_objective(points, log_n, log_d, log_l, huber_delta))]
    first = ranked if starts is None else ranked[:starts]
    theta, value = minimise(first, log_n, log_d, log_l, huber_delta)
    samples = bootstrap_fits(
        runs.logs(), theta, points, bootstrap=bootstrap, seed=seed,
        starts=bootstrap_starts, delta=huber_delta, progress=progress,
    )  # fmt: skip

    with np.errstate(over="ignore"):  # an overflowing refit is inf, then refused below
        e_a_b = np.exp(samples[:, [2, 0, 1]])
    constants = np.column_stack((e_a_b, samples[:, 3:]))  # columns e, a, b, alpha, beta
    params_exponent = _params_exponents(theta, samples, constants)
    intervals = [percentile_interval(constants[:, i], level) for i in range(5)]
    log_a, log_b, log_e, fit_alpha, fit_beta = (float(x) for x in theta)
    return ScalingFit(
        e=math.exp(log_e),
        a=math.exp(log_a),
        b=math.exp(log_b),
        alpha=fit_alpha,
        beta=fit_beta,
        e_interval=intervals[0],
        a_interval=intervals[1],
        b_interval=intervals[2],
        alpha_interval=intervals[3],
        beta_interval=intervals[4],
        params_exponent=fit_beta / (fit_alpha + fit_beta),
        tokens_exponent=fit_alpha / (fit_alpha + fit_beta),
        params_exponent_interval=percentile_interval(params_exponent, level),
        tokens_exponent_interval=percentile_interval(1.0 - params_exponent, level),
        runs=len(runs),
        objective=value,
        huber_delta=huber_delta,
        starts=first.shape[0],
        grid_size=points.shape[0],
        bootstrap=bootstrap,
        seed=seed,
        assumptions=(
            f"L-BFGS from the {first.shape[0]} of {points.shape[0]} grid points with the "
            "lowest objective",
            f"bootstrap refits start from the full-data optimum and the {bootstrap_starts} "
            "best grid points of each resample, not the whole grid",
            "percentile bootstrap over runs resampled with replacement",
        ),
    )


# --------------------------------------------------------------------------- what compute buys


def _frontier_coefficient(law: ScalingLaw) -> tuple[float, float]:
    """(K, gamma) with L*(C) = E + K (C / 6)^-gamma on the Chinchilla compute frontier."""
    g = (law.alpha * law.a / (law.beta * law.b)) ** (1.0 / (law.alpha + law.beta))
    k = law.a * g**-law.alpha + law.b * g**law.beta
    return k, law.alpha * law.beta / (law.alpha + law.beta)


def compute_for_loss(law: ScalingLaw, target_loss: float) -> float:
    """Compute (FLOP, C = 6 N D) that reaches ``target_loss`` on the compute-optimal frontier.

    Chinchilla form: ``C = 6 ((L - E) / K)^(-1 / gamma)`` (module docstring). Kaplan form
    (no floor): solved numerically. Raises :class:`ScenarioError` when the target is at or
    below the irreducible loss E, which no amount of compute reaches.
    """
    floor = law.e if law.form is ScalingLawForm.CHINCHILLA else 0.0
    if not math.isfinite(target_loss) or target_loss <= floor:
        raise ScenarioError(
            "target_loss",
            f"{target_loss} is at or below the irreducible loss E = {floor:.4g} of "
            f"'{law.id}'; no compute reaches it (choose a loss above E)",
        )
    if law.form is ScalingLawForm.CHINCHILLA:
        k, gamma = _frontier_coefficient(law)
        return float(6.0 * ((target_loss - law.e) / k) ** (-1.0 / gamma))
    from scipy.optimize import brentq  # slow to import; only this form needs it

    def gap(log10_c: float) -> float:
        return compute_optimal(law, 10.0**log10_c).loss - target_loss

    low, high = 10.0, 60.0
    if gap(low) < 0 or gap(high) > 0:
        raise ScenarioError(
            "target_loss", f"{target_loss} is outside the law's range from 1e10 to 1e60 FLOP"
        )
    return float(10.0 ** brentq(gap, low, high, xtol=1e-12))


def loss_per_decade(law: ScalingLaw, compute_flops: float) -> float:
    """Loss that ten times more compute buys at ``compute_flops``: L*(C) - L*(10 C) > 0.

    Both ends on the compute-optimal frontier (C = 6 N D). For the Chinchilla form this is
    ``(L*(C) - E)(1 - 10^-gamma)``: each decade buys the same fraction of the reducible loss.
    """
    if not (math.isfinite(compute_flops) and compute_flops > 0):
        raise ScenarioError("compute_flops", f"{compute_flops} must be a positive number")
    return compute_optimal(law, compute_flops).loss - compute_optimal(law, 10 * compute_flops).loss
