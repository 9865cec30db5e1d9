"""Stragglers: a synchronous step waits for its slowest GPU.

GPUs of one SKU do not run at one speed: power management and manufacturing spread put a
few percent between them (Sinha et al. 2022, arXiv 2208.11035; clusters.yaml ``at_scale``,
``rank_speed_cv``). Model each GPU's busy time (compute and recompute of a step) as
``T (1 + cv Z_i)`` with ``Z_i`` independent standard normals. A step's collectives couple
every rank (tensor- and context-parallel groups every layer, pipeline neighbours every
micro-batch, the gradient reduction once per step), and the spread is a property of the GPU,
so the same GPU is slow at every synchronisation point: whichever the points are, the step
finishes with the slowest of its ``N`` GPUs, ``T cv E[max_i Z_i]`` later than the median.

The expected maximum of ``N`` independent standard normals grows like ``sqrt(2 ln N)``:
for any ``t > 0``, by Jensen's inequality, ``exp(t E[max Z]) <= E[exp(t max Z)] <=
sum_i E[exp(t Z_i)] = N exp(t^2 / 2)``, so ``E[max Z] <= ln N / t + t / 2``, smallest at
``t = sqrt(2 ln N)``: ``E[max Z] <= sqrt(2 ln N)``, and the ratio tends to 1 as ``N`` grows.
At the GPU counts of real runs the bound is loose (N = 8: 2.04 against the exact 1.42;
N = 16,384: 4.41 against 3.97), so the model uses Blom's (1958) approximation of the
expected largest order statistic, ``Phi^-1((N - 0.375) / (N + 0.25))``, within 0.03 of
the exact value for every N (1.43 at 8, 3.96 at 16,384), 0 for one GPU and increasing in N.
"""

from __future__ import annotations

import functools
from statistics import NormalDist
from typing import Any, Protocol

import numpy as np

from gpuplan.model import xp
from gpuplan.model.collectives import Network


class _Layout(Protocol):
    @property
    def tp(self) -> np.ndarray: ...
    @property
    def pp(self) -> np.ndarray: ...
    @property
    def dp(self) -> np.ndarray: ...
    @property
    def cp(self) -> np.ndarray: ...


BLOM_ALPHA = 0.375
"""Blom 1958, 'Statistical Estimates and Transformed Beta-Variables', eq. 6.10.3."""
_STANDARD = NormalDist()


def expected_max_normal(ranks: float | np.ndarray) -> Any:
    """Expected maximum of ``N`` independent standard normals (Blom's approximation); a
    float of a Python number (one plan)."""
    if isinstance(ranks, xp.Number):  # (a tuple: faster than a float | int union)
        return _blom(max(float(ranks), 1.0))
    n = np.maximum(np.asarray(ranks, dtype=float), 1.0)
    counts, where = (  # few distinct counts in a search; one value: its own
        (n.reshape(-1), np.zeros(1, dtype=np.int64)) if n.size == 1
        else np.unique(n, return_inverse=True)
    )  # fmt: skip
    quantiles = [_blom(count) for count in counts]
    return np.asarray(np.asarray(quantiles)[where].reshape(n.shape))


@functools.lru_cache(maxsize=4096)
def _blom(count: float) -> float:
    """Blom's expected largest of ``count`` standard normals (``count`` >= 1); kept per
    count (the plans of a scenario run on few GPU counts)."""
    # stdlib NormalDist: scipy's import costs ~0.5 s per command
    return _STANDARD.inv_cdf((count - BLOM_ALPHA) / (count - 2 * BLOM_ALPHA + 1))


def max_normal_bound(ranks: float | np.ndarray) -> np.ndarray:
    """``sqrt(2 ln N)``: the bound on (and asymptote of) :func:`expected_max_normal`."""
    n = np.maximum(np.asarray(ranks, dtype=float), 1.0)
    return np.asarray(np.sqrt(2.0 * np.log(n)))


def straggler_times(
    busy_s: float | np.ndarray, ranks: float | np.ndarray, rank_speed_cv: float
) -> Any:
    """Seconds a step waits for its slowest GPU: ``cv x busy x E[max of N normals]`` (an
    array, or a float of Python numbers)."""
    assert rank_speed_cv >= 0
    return rank_speed_cv * xp.floats(busy_s) * expected_max_normal(ranks)


def plan_straggler_times(busy_s: Any, plans: _Layout, network: Network) -> Any:
    """:func:`straggler_times` of plans (arrays, or one plan's Python numbers) over their
    ``tp x pp x dp x cp`` GPUs."""
    ranks = xp.floats(plans.tp * plans.pp * plans.dp * plans.cp)
    return straggler_times(busy_s, ranks, network.rank_speed_cv)
