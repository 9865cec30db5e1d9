"""Checkpoint intervals: Young 1974, Daly 2006 and the exact optimum of the
exponential-failure goodput (split from :mod:`gpuplan.reliability.analytical`, which
re-exports them)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from enum import StrEnum

from gpuplan.reliability.checked import _positive


class IntervalRule(StrEnum):
    YOUNG = "young"
    """sqrt(2 delta M): Young 1974, first order in delta/M."""
    DALY = "daly"
    """Daly 2006's higher-order series in delta/M."""
    OPTIMAL = "optimal"
    """The exact maximiser of the exponential-failure goodput (Lambert W)."""


def young_interval_s(checkpoint_s: float, mtbi_s: float) -> float:
    """Young 1974: ``tau = sqrt(2 delta M)``, first order in ``delta / M``."""
    return math.sqrt(2.0 * _positive("checkpoint_s", checkpoint_s) * _positive("mtbi_s", mtbi_s))


def daly_interval_s(checkpoint_s: float, mtbi_s: float) -> float:
    """Daly 2006's higher-order estimate; ``M`` once the checkpoint exceeds ``2 M``.

    ``tau = sqrt(2 delta M) [1 + sqrt(x)/3 + x/9] - delta`` with ``x = delta / (2 M)``. It
    reproduces the worked examples of Daly's Figs. 3-5 (117, 57 and 9.1 min; tested).
    """
    delta, m = _positive("checkpoint_s", checkpoint_s), _positive("mtbi_s", mtbi_s)
    if delta >= 2.0 * m:
        return m
    x = delta / (2.0 * m)
    return math.sqrt(2.0 * delta * m) * (1.0 + math.sqrt(x) / 3.0 + x / 9.0) - delta


@functools.lru_cache(maxsize=4096)  # pure: plans of one size and sharding share the answer
def optimal_interval_s(checkpoint_s: float, mtbi_s: float) -> float:
    """The ``tau`` that maximises :func:`goodput`: ``M (1 + W0(-e^(-1 - delta/M)))``.

    Setting the derivative of ``tau / (e^((tau+delta)/M) - 1)`` to zero gives, with
    ``y = tau / M`` and ``e = delta / M``, ``f(y) = e + y + ln(1 - y) = 0`` on (0, 1): f is
    concave and decreasing there, so a bracketed Newton iteration converges from Young's
    ``sqrt(2 e)`` without the precision loss of W0 near its branch point.
    """
    e = _positive("checkpoint_s", checkpoint_s) / _positive("mtbi_s", mtbi_s)
    low, high = 0.0, 1.0
    y = min(math.sqrt(2.0 * e), 0.5)
    for _ in range(200):
        f = e + y + math.log1p(-y)
        low, high = (y, high) if f > 0 else (low, y)
        step = y + f * (1.0 - y) / y  # Newton: f'(y) = -y / (1 - y)
        nxt = step if low < step < high else 0.5 * (low + high)
        if abs(nxt - y) <= 1e-15 * y:
            break
        y = nxt
    return y * mtbi_s


def checkpoint_interval_s(rule: IntervalRule, checkpoint_s: float, mtbi_s: float) -> float:
    """The interval that ``rule`` gives."""
    formulas: dict[IntervalRule, Callable[[float, float], float]] = {
        IntervalRule.YOUNG: young_interval_s,
        IntervalRule.DALY: daly_interval_s,
        IntervalRule.OPTIMAL: optimal_interval_s,
    }
    return formulas[IntervalRule(rule)](checkpoint_s, mtbi_s)
