"""Ranges and distributions in place of numbers: parsed, validated against the field, drawn.

Any numeric field of a scenario mapping may hold, instead of a number, one of::

    {low: 2000, high: 4000}                        uniform (the default kind)
    {dist: uniform, low: 2000, high: 4000}
    {dist: normal, p10: 1.1, p90: 1.4}             10th and 90th percentiles
    {dist: lognormal, p10: 25000, p90: 40000}
    {dist: triangular, low: 1.1, mode: 1.2, high: 1.5}
    {dist: loguniform, low: 0.03, high: 0.3}

An integer field (``gpus``, ``training.global_batch``, ...) gets integers: a uniform draws
each whole number in ``[low, high]`` with equal chance, other kinds are rounded. Draws
outside the field's allowed range (a normal's tail below 1.0 for ``site.pue``) are clipped
to it and counted. Errors name the path: ``prices.gpu_usd.p10 = 50000: must be <= p90``.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from gpuplan.errors import ScenarioError
from gpuplan.scenario.schema import Scenario

Z90 = NormalDist().inv_cdf(0.9)
"""Standard normal 90th percentile (1.2816): a normal's p10..p90 spans 2 x Z90 sigma."""

MARKER_KEYS = frozenset({"dist", "low", "high", "mode", "p10", "p90"})
"""A mapping with any of these keys is a distribution (no scenario block has such a field)."""


class DistributionKind(StrEnum):
    UNIFORM = "uniform"
    NORMAL = "normal"
    LOGNORMAL = "lognormal"
    TRIANGULAR = "triangular"
    LOGUNIFORM = "loguniform"


PARAMETERS: dict[DistributionKind, tuple[str, ...]] = {
    DistributionKind.UNIFORM: ("low", "high"),
    DistributionKind.NORMAL: ("p10", "p90"),
    DistributionKind.LOGNORMAL: ("p10", "p90"),
    DistributionKind.TRIANGULAR: ("low", "mode", "high"),
    DistributionKind.LOGUNIFORM: ("low", "high"),
}
"""The parameters each kind takes, all required, in the order they must be increasing."""


@dataclass(frozen=True)
class FieldSpec:
    """What a numeric scenario field accepts (read from the pydantic schema)."""

    path: str
    integer: bool
    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    lt: float | None = None

    def violation(self, value: float) -> str | None:
        """Why ``value`` is outside the field's range, or None."""
        if self.gt is not None and value <= self.gt:
            return f"must be > {self.gt:g}"
        if self.ge is not None and value < self.ge:
            return f"must be >= {self.ge:g}"
        if self.le is not None and value > self.le:
            return f"must be <= {self.le:g}"
        if self.lt is not None and value >= self.lt:
            return f"must be < {self.lt:g}"
        return None

    def clip(self, values: NDArray[np.float64]) -> tuple[NDArray[np.float64], int]:
        """Values moved into the field's range, and how many had to move."""
        low = self.ge if self.ge is not None else -math.inf
        if self.gt is not None:
            low = max(low, math.nextafter(self.gt, math.inf))
            if self.integer:
                low = max(low, math.floor(self.gt) + 1)
        high = self.le if self.le is not None else math.inf
        if self.lt is not None:
            high = min(high, math.nextafter(self.lt, -math.inf))
        clipped = np.clip(values, low, high)
        return clipped, int(np.count_nonzero(clipped != values))


def _branches(annotation: Any) -> tuple[list[Any], list[Any]]:
    """The types a field may hold (Optional and unions opened) and their constraints."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        kinds: list[Any] = []
        constraints: list[Any] = []
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                k, c = _branches(arg)
                kinds += k
                constraints += c
        return kinds, constraints
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        kinds, constraints = _branches(inner)
        for item in extra:
            constraints += list(getattr(item, "metadata", [item]))
        return kinds, constraints
    return [annotation], []


def field_spec(path: str) -> FieldSpec:
    """The numeric scenario field at a dotted path; ScenarioError if there is none."""
    model: type[BaseModel] = Scenario
    parts = path.split(".")
    for depth, part in enumerate(parts):
        fields = model.model_fields
        if part not in fields:
            where = ".".join(parts[:depth]) or "the scenario"
            raise ScenarioError(path, f"unknown field; {where} has: {', '.join(fields)}")
        info = fields[part]
        kinds, constraints = _branches(info.annotation)
        constraints += list(info.metadata)
        if depth < len(parts) - 1:
            blocks = [k for k in kinds if isinstance(k, type) and issubclass(k, BaseModel)]
            if not blocks:
                raise ScenarioError(path, f"'{'.'.join(parts[: depth + 1])}' has no sub-fields")
            model = blocks[0]
            continue
        numeric = [k for k in kinds if k in (int, float)]
        if not numeric:
            raise ScenarioError(path, "a range or distribution is allowed only for numbers")
        bounds = {
            name: float(getattr(c, name))
            for c in constraints
            for name in ("gt", "ge", "le", "lt")
            if getattr(c, name, None) is not None
        }
        return FieldSpec(path, integer=float not in numeric, **bounds)
    raise AssertionError("unreachable: a path has at least one part")


@dataclass(frozen=True)
class Distribution:
    """A validated range or distribution for the numeric field at ``field.path``."""

    kind: DistributionKind
    parameters: tuple[tuple[str, float], ...]
    """(name, value) in the order of :data:`PARAMETERS`."""
    field: FieldSpec

    @property
    def path(self) -> str:
        return self.field.path

    def __getitem__(self, name: str) -> float:
        return dict(self.parameters)[name]

    def describe(self) -> str:
        """'lognormal(p10=25000, p90=40000)'."""
        return f"{self.kind.value}({', '.join(f'{k}={v:g}' for k, v in self.parameters)})"

    def center(self) -> float | int:
        """A typical value (median, or mode of a triangular), used to validate the scenario."""
        k = self.kind
        if k is DistributionKind.UNIFORM:
            value = (self["low"] + self["high"]) / 2
        elif k is DistributionKind.LOGUNIFORM:
            value = math.sqrt(self["low"] * self["high"])
        elif k is DistributionKind.NORMAL:
            value = (self["p10"] + self["p90"]) / 2
        elif k is DistributionKind.LOGNORMAL:
            value = math.sqrt(self["p10"] * self["p90"])
        else:
            value = self["mode"]
        return round(value) if self.field.integer else value

    def sample(self, rng: np.random.Generator, n: int) -> tuple[NDArray[np.float64], int]:
        """``n`` draws in the field's range (rounded for integer fields), and how many were
        clipped into that range."""
        k = self.kind
        if k is DistributionKind.UNIFORM and self.field.integer:
            low, high = math.ceil(self["low"]), math.floor(self["high"])
            return rng.integers(low, high, size=n, endpoint=True).astype(np.float64), 0
        if k is DistributionKind.UNIFORM:
            raw = rng.uniform(self["low"], self["high"], n)
        elif k is DistributionKind.LOGUNIFORM:
            raw = np.exp(rng.uniform(math.log(self["low"]), math.log(self["high"]), n))
        elif k is DistributionKind.NORMAL:
            mean, sigma = (self["p10"] + self["p90"]) / 2, (self["p90"] - self["p10"]) / (2 * Z90)
            raw = rng.normal(mean, sigma, n)
        elif k is DistributionKind.LOGNORMAL:
            log10, log90 = math.log(self["p10"]), math.log(self["p90"])
            raw = np.exp(rng.normal((log10 + log90) / 2, (log90 - log10) / (2 * Z90), n))
        elif self["low"] == self["high"]:
            raw = np.full(n, self["low"])
        else:
            raw = rng.triangular(self["low"], self["mode"], self["high"], n)
        values, clipped = self.field.clip(np.asarray(raw, dtype=np.float64))
        if self.field.integer:
            values, more = self.field.clip(np.round(values))
            clipped += more
        return values, clipped


def is_distribution(value: object) -> bool:
    """True for a mapping written as a range or distribution (see the module docstring)."""
    return isinstance(value, Mapping) and any(key in MARKER_KEYS for key in value)


def _number(path: str, name: str, value: object) -> float:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):  # YAML 1.1 reads 1.5e4 as a string
            value = float(value)
    if isinstance(value, bool):  # as in every numeric field (schema.Number)
        raise ScenarioError(f"{path}.{name} = {value!r}", f"must be a number, not the boolean "
                            f"{str(value).lower()}")  # fmt: skip
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"{path}.{name} = {value!r}", "must be a finite number")
    return float(value)


def parse_distribution(path: str, spec: Mapping[str, Any]) -> Distribution:
    """Validate one range or distribution for the scenario field at ``path``."""
    field = field_spec(path)
    allowed = ", ".join(k.value for k in sorted(DistributionKind, key=str))
    given = spec.get("dist")
    if given is None:
        if not set(spec) <= {"low", "high"}:
            raise ScenarioError(
                path, f"give dist: (one of {allowed}) with {', '.join(map(str, spec))}"
            )
        kind = DistributionKind.UNIFORM
    elif str(given) in DistributionKind.__members__.values():
        kind = DistributionKind(str(given))
    else:
        raise ScenarioError(f"{path}.dist = {given!r}", f"unknown distribution; allowed: {allowed}")
    names = PARAMETERS[kind]
    unknown = [str(k) for k in spec if k not in (*names, "dist")]
    if unknown:
        raise ScenarioError(
            f"{path}.{unknown[0]}", f"unknown key for a {kind.value}; allowed: {', '.join(names)}"
        )
    missing = [name for name in names if name not in spec]
    if missing:
        raise ScenarioError(f"{path}.{missing[0]}", f"required: a {kind.value} needs {names}")
    values = [(name, _number(path, name, spec[name])) for name in names]
    for (lo_name, lo), (hi_name, hi) in itertools.pairwise(values):  # never decreasing
        if lo > hi:
            raise ScenarioError(f"{path}.{lo_name} = {lo:g}", f"must be <= {hi_name} = {hi:g}")
    if kind in (DistributionKind.LOGNORMAL, DistributionKind.LOGUNIFORM) and values[0][1] <= 0:
        name, value = values[0]
        raise ScenarioError(f"{path}.{name} = {value:g}", f"must be > 0 for a {kind.value}")
    for name, value in values:
        problem = field.violation(value)
        if problem is not None:
            raise ScenarioError(f"{path}.{name} = {value:g}", f"{problem} (allowed for {path})")
    if kind is DistributionKind.UNIFORM and field.integer:
        low, high = values[0][1], values[1][1]
        if math.ceil(low) > math.floor(high):
            raise ScenarioError(f"{path} = {{low: {low:g}, high: {high:g}}}", "holds no integer")
    return Distribution(kind, tuple(values), field)


def find_distributions(data: Mapping[str, Any], prefix: str = "") -> dict[str, Distribution]:
    """Every range or distribution in a scenario mapping, by dotted path (validated)."""
    found: dict[str, Distribution] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if is_distribution(value):
            found[path] = parse_distribution(path, value)
        elif isinstance(value, Mapping):
            found.update(find_distributions(value, f"{path}."))
    return dict(sorted(found.items()))


def has_distributions(data: Mapping[str, Any]) -> bool:
    """True when a scenario mapping holds a range or distribution anywhere (not validated)."""
    return any(
        is_distribution(v) or (isinstance(v, Mapping) and has_distributions(v))
        for v in data.values()
    )


def python_value(value: Any) -> Any:
    """NumPy scalars as plain Python numbers (pydantic and JSON want those)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def with_values(base: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with each dotted path set; blocks on the way are copied, not shared."""
    out = dict(base)
    for path, value in values.items():
        *parents, leaf = path.split(".")
        node = out
        for depth, part in enumerate(parents):
            child = node.get(part)
            if child is None:
                child = {}
            elif not isinstance(child, Mapping):
                where = ".".join(parents[: depth + 1])
                raise ScenarioError(f"{where} = {child!r}", f"is not a block; cannot set {path}")
            copy = dict(child)
            node[part] = copy
            node = copy
        node[leaf] = python_value(value)
    return out


def centered(data: Mapping[str, Any], found: Mapping[str, Distribution]) -> dict[str, Any]:
    """The scenario with each distribution replaced by its typical value."""
    return with_values(data, {path: d.center() for path, d in found.items()})
