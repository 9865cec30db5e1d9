"""The scenario's CLI flags, generated from the one schema (:mod:`gpuplan.scenario.schema`).

Every command that takes a scenario (plan, search, report) takes a scenario file and the
same flags: one per field of the scenario (``--model``, ``--gpus``, ``--global-batch``,
``--tp``, ``--grid``, ``--gpu-usd`` ...), its help the field's docstring. A flag overrides
the file; a length flag (``--tokens``, ``--days``, ``--samples``) replaces the file's length.
Values are read as YAML scalars (``15.6e12``, ``true``), ``--gpus`` also as a list
(``8,16,32``) or a range (``1024..131072``). Errors name the flag, not the scenario key.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from gpuplan.cli.flag_table import Flag, flag_table
from gpuplan.errors import ScenarioError

LENGTHS = ("tokens", "days", "samples")
FLAGS = flag_table()

_INTEGER = re.compile(r"0|[1-9][0-9]{0,17}")
_DECIMAL = re.compile(r"[0-9]{1,18}\.[0-9]{1,18}")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_YAML_WORDS = frozenset({"yes", "no", "true", "false", "on", "off", "null", "y", "n"})
"""Names YAML reads as booleans or null (in some spelling): they go to the YAML parser."""


def flag_for(field: str) -> str:
    """The flag that sets a scenario key ('training.global_batch' -> '--global-batch')."""
    path = field.split(" = ", 1)[0]
    return next((f.name for f in FLAGS if f.path == path), field)


def _plain(text: str) -> tuple[bool, Any]:
    """A value YAML reads as a plain integer (16384), decimal (0.4) or name (llama3-405b),
    read as YAML would without importing it (~15 ms of start-up); (False, None) otherwise."""
    if _INTEGER.fullmatch(text):
        return True, int(text)
    if _DECIMAL.fullmatch(text):
        return True, float(text)
    if _NAME.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return True, text
    return False, None


def _value(flag: Flag, text: str) -> Any:
    if flag.path == "gpus" and (".." in text or "," in text):
        return text  # a list or a range, expanded by studies.answer
    plain, value = _plain(text)
    if plain:
        return value
    import yaml

    from gpuplan.scenario.files import Refused, load_yaml

    try:
        value = load_yaml(text)
    except yaml.YAMLError:
        return text
    except Refused as exc:
        raise ScenarioError(flag.name, f"refused: {exc}") from None
    # '', '~' and 'null' read as nothing, which the scenario would name as None ('--model =
    # None: ... a valid dictionary'): the text itself is what was given
    return text if value is None else value


def scenario_mapping(scenario_file: Path | None, given: dict[str, str | None]) -> dict[str, Any]:
    """The scenario file (if any) with the given flags (by flag name) set over it."""
    from gpuplan.scenario.parse import load_scenario_file  # pydantic: not for --help

    data: dict[str, Any] = load_scenario_file(scenario_file) if scenario_file else {}
    training = data.get("training")
    if isinstance(training, dict) and any(given.get("--" + k) is not None for k in LENGTHS):
        for key in LENGTHS:  # a length given as a flag replaces the file's length
            training.pop(key, None)
    values = {f.path: _value(f, text) for f in FLAGS if (text := given.get(f.name)) is not None}
    from gpuplan.scenario.distributions import with_values  # numpy: not for --help

    return with_values(data, values)


def _flag_error(exc: ScenarioError, used: set[str]) -> ScenarioError:
    """The error with every scenario key the user gave as a flag named by its flag."""
    path, shown = exc.field.split(" = ", 1)[0], exc.field.partition(" = ")[1:]
    field = flag_for(path) + "".join(shown) if path in used else exc.field
    message = exc.message
    for key in used:  # the other wrong inputs listed after "; and "
        message = re.sub(
            rf"(?:(?<=; and )|(?<=; )){re.escape(key)}(?=: | = )", flag_for(key), message
        )
    return ScenarioError(field, message)


def with_scenario_flags(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command(scenario: dict, ...)`` a scenario-file argument and every scenario
    flag; it receives the mapping they make. A bad value names its flag."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "scenario"]
    file_param = inspect.Parameter(
        "scenario_file",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Path | None, typer.Argument(help="Scenario YAML file; flags override its values.")
        ],
    )
    flag_params = [
        inspect.Parameter(
            "flag_" + f.path.replace(".", "__"),
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[str | None, typer.Option(f.name, help=f.help, metavar=f.metavar)],
        )
        for f in FLAGS
    ]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        given = {f.name: kwargs.pop("flag_" + f.path.replace(".", "__")) for f in FLAGS}
        scenario = scenario_mapping(kwargs.pop("scenario_file"), given)
        used = {f.path for f in FLAGS if given[f.name] is not None}
        try:
            command(scenario=scenario, **kwargs)
        except ScenarioError as exc:
            raise _flag_error(exc, used) from None

    params = [
        file_param,
        *flag_params,
        *[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own],
    ]
    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return wrapper
