"""The Huber fit of a Chinchilla-form law in log space, and its bootstrap.

The objective and its gradient (:func:`objective`), on a whole grid of starting points at
once (:func:`grid_objective`), minimised by L-BFGS (:func:`minimise`), and the bootstrap
refits (:func:`bootstrap_fits`) of :func:`gpuplan.fitting.scaling_fit.fit_scaling_law`.

L-BFGS on five parameters makes thousands of calls into BLAS on vectors of five; with
OpenBLAS's thread pool (scipy's own copy) on a loaded machine each call waits for its
threads: 200 bootstrap refits of 240 runs took 160 s, 1.3 s per 10 with one thread (12.9 s
with the pool, measured on the project's 2-core machine). The fit runs with one BLAS thread
(:func:`one_blas_thread`) and restores the pool after.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Progress = Callable[[int, int], None]
"""Called with (refits done, refits in all) after each bootstrap refit."""


@functools.cache
def _scipy_openblas() -> Any:
    """scipy's bundled OpenBLAS (already loaded by scipy.optimize), or None where it has none
    that can be told its thread count (other platforms, other BLAS builds)."""
    import scipy

    folder = Path(scipy.__file__).resolve().parent.parent / "scipy.libs"
    for path in sorted(folder.glob("libscipy_openblas*.so*")):
        try:
            lib = ctypes.CDLL(str(path))
            lib.scipy_openblas_get_num_threads.restype = ctypes.c_int
            lib.scipy_openblas_set_num_threads.argtypes = [ctypes.c_int]
        except (OSError, AttributeError):
            continue
        return lib
    return None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the body with scipy's OpenBLAS on one thread; the previous count after."""
    import scipy.optimize  # noqa: F401  (loads the library first)

    lib = _scipy_openblas()
    if lib is None:
        yield
        return
    before = int(lib.scipy_openblas_get_num_threads())
    lib.scipy_openblas_set_num_threads(1)
    try:
        yield
    finally:
        lib.scipy_openblas_set_num_threads(before)


def huber(residual: FloatArray, delta: float) -> tuple[FloatArray, FloatArray]:
    """Huber loss (Huber 1964) and its derivative, elementwise.

    With ``c = clip(r, -delta, delta)`` (the derivative), the loss is ``c (r - c / 2)``:
    ``r^2 / 2`` inside ``[-delta, delta]`` and ``delta (|r| - delta / 2)`` outside.
    """
    slope = np.clip(residual, -delta, delta)
    return slope * (residual - 0.5 * slope), slope


def objective(
    theta: FloatArray, log_n: FloatArray, log_d: FloatArray, log_l: FloatArray, delta: float
) -> tuple[float, FloatArray]:
    """Huber objective of ``theta = (log A, log B, log E, alpha, beta)`` and its gradient."""
    log_a, log_b, log_e, alpha, beta = theta
    params_term = log_a - alpha * log_n
    tokens_term = log_b - beta * log_d
    top = np.maximum(np.maximum(params_term, tokens_term), log_e)
    w_params = np.exp(params_term - top)
    w_tokens = np.exp(tokens_term - top)
    w_floor = np.exp(log_e - top)
    total = w_params + w_tokens + w_floor
    predicted = top + np.log(total)  # log-sum-exp of the three terms
    value, slope = huber(predicted - log_l, delta)
    # d predicted / d term is the term's softmax share.
    g_params = slope * w_params / total
    g_tokens = slope * w_tokens / total
    gradient = np.array(
        [
            g_params.sum(),
            g_tokens.sum(),
            (slope * w_floor / total).sum(),
            -(g_params @ log_n),
            -(g_tokens @ log_d),
        ]
    )
    return float(value.sum()), gradient


def grid_objective(
    starts: FloatArray, log_n: FloatArray, log_d: FloatArray, log_l: FloatArray, delta: float
) -> FloatArray:
    """The objective at every start at once (rows of ``starts``)."""
    log_a, log_b, log_e, alpha, beta = (starts[:, i : i + 1] for i in range(5))
    params_term = log_a - alpha * log_n
    tokens_term = log_b - beta * log_d
    top = np.maximum(np.maximum(params_term, tokens_term), log_e)
    total = np.exp(params_term - top) + np.exp(tokens_term - top) + np.exp(log_e - top)
    value, _ = huber(top + np.log(total) - log_l, delta)
    result: FloatArray = value.sum(axis=1)
    return result


def minimise(
    starts: FloatArray, log_n: FloatArray, log_d: FloatArray, log_l: FloatArray, delta: float
) -> tuple[FloatArray, float]:
    """Run L-BFGS from each start; return the best optimum and its objective."""
    from scipy.optimize import minimize  # slow to import; only fitting needs it

    # The objective is ~1e-4 at the optimum; scipy's ftol is relative to max(|f|, 1), so it
    # would stop early (the flaw Besiroglu et al. found in the original fit). Dividing by
    # n delta^2 makes f of order one without moving the optimum.
    scale = 1.0 / (log_n.size * delta**2)

    def scaled(theta: FloatArray) -> tuple[float, FloatArray]:
        value, gradient = objective(theta, log_n, log_d, log_l, delta)
        return value * scale, gradient * scale

    best_theta, best_value = starts[0], math.inf
    with one_blas_thread():
        found_all = [
            minimize(scaled, start, jac=True, method="L-BFGS-B",
                     options={"ftol": 1e-12, "gtol": 1e-8, "maxiter": 500})
            for start in starts
        ]  # fmt: skip
    for found in found_all:
        value = float(found.fun) / scale
        if math.isfinite(value) and value < best_value:
            best_theta, best_value = np.asarray(found.x, dtype=float), value
    return best_theta, best_value


def bootstrap_fits(
    logs: tuple[FloatArray, FloatArray, FloatArray], theta: FloatArray, points: FloatArray,
    *, bootstrap: int, seed: int, starts: int, delta: float, progress: Progress | None,
) -> FloatArray:  # fmt: skip
    """``bootstrap`` refits (rows of theta) on the runs resampled with replacement
    (``numpy.random.default_rng(seed)``), each from the full-data optimum ``theta`` and the
    ``starts`` best ``points`` of its resample; ``theta`` itself when ``bootstrap`` is 0."""
    log_n, log_d, log_l = logs
    if bootstrap == 0:
        return theta[np.newaxis, :]
    rng = np.random.default_rng(seed)
    samples = np.empty((bootstrap, 5))
    with one_blas_thread():
        for row in range(bootstrap):
            pick = rng.integers(0, log_n.size, log_n.size)
            n, d, ell = log_n[pick], log_d[pick], log_l[pick]
            best = np.argsort(grid_objective(points, n, d, ell, delta))[:starts]
            samples[row], _ = minimise(np.vstack((theta, points[best])), n, d, ell, delta)
            if progress is not None:
                progress(row + 1, bootstrap)
    return samples
