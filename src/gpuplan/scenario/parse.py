"""Reading a scenario: YAML files and mappings into a :class:`Scenario`, or one clear error."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gpuplan.errors import ScenarioError
from gpuplan.scenario.schema import Scenario

_ALLOWED_HINTS = {
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
}


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _ALLOWED_HINTS:
        return _ALLOWED_HINTS[kind].format(**ctx)
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see DESIGN.md for the scenario keys)"
    if kind == "missing":
        return "required"
    if kind == "enum":
        return f"allowed: {ctx.get('expected', '')}"
    return str(error["msg"]).removeprefix("Value error, ")


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
        error = (relevant or errors)[0]
        # pydantic puts union branch names ("str", "function-after[...]") in the location.
        loc = [
            str(p) for p in error["loc"] if p not in ("str", "InlineModel") and "[" not in str(p)
        ]
        field = ".".join(loc)
        value = error.get("input")
        shown = "" if error["type"] in ("missing", "extra_forbidden") else f" = {value!r}"
        raise ScenarioError(field + shown, _describe(error)) from None


def read_yaml_file(path: Path, field: str) -> Any:
    """A user's YAML file (scenario, claims, sweep), or a ScenarioError naming ``field``."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ScenarioError(field, f"cannot read {path}: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(field, f"{path} is not valid YAML: {exc}") from None


def load_scenario_file(path: Path) -> dict[str, Any]:
    """Read a YAML scenario file into a plain mapping (validated by parse_scenario)."""
    data = read_yaml_file(path, "scenario")
    if not isinstance(data, dict):
        raise ScenarioError("scenario", f"{path} must hold a YAML mapping")
    return data
