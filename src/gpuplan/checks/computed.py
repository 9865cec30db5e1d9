"""What a claim's computation found (:class:`Computed`), and how a computation reads its
arguments; shared by the computations of :mod:`gpuplan.checks.claims` and
:mod:`gpuplan.checks.cluster_checks`."""

from __future__ import annotations

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
    """``args[name]``; a ScenarioError naming ``args.<name>`` when it is missing."""
    if name not in args:
        raise ScenarioError(f"args.{name}", "required by this check")
    return args[name]
