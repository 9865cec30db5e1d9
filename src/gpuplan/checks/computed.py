"""What a claim's computation found (:class:`Computed`), and how a computation reads its
arguments; shared by the computations of :mod:`gpuplan.checks.claims` and
:mod:`gpuplan.checks.cluster_checks`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gpuplan.errors import ScenarioError
from gpuplan.fitting.growth import GrowthRate


@dataclass(frozen=True)
class Computed:
    """What a check found: the value (None when it cannot be known), and why."""

    value: float | None
    explanation: str
    sources: tuple[str, ...] = ()
    rates: Mapping[str, GrowthRate] = field(default_factory=dict)
    """Growth rates behind the value, by role: 'used' (the rate the value rests on) and
    'catalog_fit' (gpuplan's fit to the same quantity, for comparison)."""


def arg(args: Mapping[str, Any], name: str) -> Any:
    """``args[name]``; a ScenarioError naming ``args.<name>`` when it is missing, or when it
    is a number (or a number's text) that is not finite and positive, or a boolean: every
    count, price and span of years a check reads is one (``years: 1e6`` was an OverflowError
    traceback, ``years: nan`` a verdict on NaN dollars, ``gpus: -1`` on negative ones)."""
    if name not in args:
        raise ScenarioError(f"args.{name}", "required by this check")
    value = args[name]  # a ValueError here is named with its claim by claims.check
    if isinstance(value, bool):
        raise ValueError(f"args.{name} = {value!r}: a boolean is neither a number nor an id")
    try:
        number = float(value) if isinstance(value, int | float | str) else None
    except ValueError:
        number = None  # an id, or text the check refuses itself
    if number is not None and not (math.isfinite(number) and number > 0):
        raise ValueError(f"args.{name} = {value!r}: a number here must be finite and > 0")
    return value
