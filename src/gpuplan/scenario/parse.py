"""Reading a scenario: YAML files and mappings into a :class:`Scenario`, or one clear error."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from gpuplan.catalog.loader import BOUND_HINTS, Catalog, load_catalog
from gpuplan.errors import ScenarioError, shorten
from gpuplan.scenario.cluster import InlineCluster
from gpuplan.scenario.schema import (
    Budget,
    InlineModel,
    Parallelism,
    Prices,
    Scenario,
    Site,
    Training,
)

_ALLOWED_HINTS = {
    **BOUND_HINTS,
    "too_short": "must hold at least {min_length} item(s), got {actual_length} (or leave it out)",
    "too_long": "must hold at most {max_length} items, got {actual_length}",
}


SECTIONS: dict[str, type[BaseModel]] = {
    "": Scenario,
    "model": InlineModel,
    "cluster": InlineCluster,
    "training": Training,
    "parallelism": Parallelism,
    "site": Site,
    "budget": Budget,
    "prices": Prices,
}
"""The mappings of a scenario, by path, for the keys an unknown key could have meant."""


def _describe(error: Mapping[str, Any], loc: list[str]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _ALLOWED_HINTS:
        return _ALLOWED_HINTS[kind].format(**ctx)
    if kind == "extra_forbidden":
        section = SECTIONS.get(".".join(loc[:-1]))
        allowed = f"; allowed: {', '.join(section.model_fields)}" if section else ""
        return f"unknown key{allowed} (docs/design.md lists every scenario key)"
    if kind == "missing":
        return "required"
    if kind == "enum":
        return f"allowed: {ctx.get('expected', '')}"
    return str(error["msg"]).removeprefix("Value error, ")


def as_scenario(value: Scenario | Mapping[str, Any]) -> Scenario:
    """A Scenario as given, or a mapping parsed: ``gpuplan.plan({...})`` is what a new user
    writes first (it was "AttributeError: 'dict' object has no attribute 'stages'")."""
    return value if isinstance(value, Scenario) else parse_scenario(value)


def as_catalog(value: Catalog | None) -> Catalog:
    """The catalog given, or the package's; anything else is refused by name (a path or a
    string was an AttributeError deep inside the plan)."""
    if value is None:
        return load_catalog()
    if not isinstance(value, Catalog):
        raise TypeError(
            f"catalog must be a gpuplan.Catalog (gpuplan.load_catalog()), not "
            f"{type(value).__name__}"
        )
    return value


def parse_scenario(data: Mapping[str, Any]) -> Scenario:
    """Validate a scenario mapping. Raises ScenarioError naming the first bad field."""
    if not isinstance(data, Mapping):
        raise ScenarioError("", f"a scenario must be a mapping, got {type(data).__name__}")
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        errors = exc.errors()
        # For `model: str | InlineModel`, pydantic reports both union branches; keep the
        # branch that matches what the user wrote.
        relevant = [e for e in errors if not (e["type"] == "string_type" and "str" in e["loc"])]
        # A list whose items failed is also 'too short' (0 items survived): say the items'.
        relevant = [e for e in relevant if not (e["type"] == "too_short" and _inside(e, relevant))]
        problems = [_problem(error) for error in (relevant or errors)]
        field, message = problems[0]
        if len(problems) > 1:  # every wrong input at once, not one per try
            message += "; and " + "; ".join(f"{f}: {m}" for f, m in problems[1:])
        raise ScenarioError(field, message) from None


def _inside(error: Mapping[str, Any], errors: list[Any]) -> bool:
    """Whether another error lies within ``error``'s location (an item of its list, or a
    field of one: ``stages.0.gpus`` was also reported as 'stages: Tuple should have at
    least 1 item after validation, not 0')."""
    loc = tuple(error["loc"])
    return any(len(e["loc"]) > len(loc) and tuple(e["loc"][: len(loc)]) == loc for e in errors)


def parse_section(data: Any, path: str, model: type[BaseModel]) -> BaseModel:
    """One block of a scenario mapping (``site``, ``prices``) validated on its own, for a
    door that reads it without a whole scenario (a budget question). Raises ScenarioError
    naming ``path.field``, as :func:`parse_scenario` would."""
    try:
        return model.model_validate(dict(data) if isinstance(data, Mapping) else data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field, message = _problem({**error, "loc": (path, *error["loc"])})
        raise ScenarioError(field, message) from None


def _problem(error: Mapping[str, Any]) -> tuple[str, str]:
    """(field with its value, what is wrong and allowed) of one pydantic error."""
    # pydantic puts union branch names ("str", "function-after[...]") in the location.
    loc = [
        str(p)
        for p in error["loc"]
        if p not in ("str", "InlineModel", "InlineCluster") and "[" not in str(p)
    ]
    if error["type"] == "extra_forbidden" and loc and not loc[-1].strip():
        # An empty key has no name to show: say so, where it is.
        where = ".".join(loc[:-1]) or "scenario"
        return where, f"has an empty key {loc[-1]!r}; " + _describe(error, loc).removeprefix(
            "unknown key; "
        )
    field = ".".join(loc) or "scenario"
    value = error.get("input")
    shown = "" if error["type"] in ("missing", "extra_forbidden") else f" = {shorten(repr(value))}"
    return field + shown, _describe(error, loc)


def read_yaml_file(path: Path, field: str) -> Any:
    """A user's YAML file (scenario, claims, sweep), or a ScenarioError naming ``field``.

    Read bounded (size, UTF-8, aliases, depth, integer digits): see :mod:`.files`.
    """
    from gpuplan.scenario.files import read_yaml  # YAML: only when a file is read

    return read_yaml(path, field)


def load_scenario_file(path: Path) -> dict[str, Any]:
    """Read a YAML scenario file into a plain mapping (validated by parse_scenario)."""
    data = read_yaml_file(path, "scenario")
    if not isinstance(data, dict):
        raise ScenarioError("scenario", f"{path} must hold a YAML mapping")
    return data
