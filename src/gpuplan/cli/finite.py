"""Every float flag of every command is a finite number: ``--days nan`` was 'must be <= 3650'
(NaN fails every bound) and ``--timeout inf`` was taken. :func:`finite_floats` checks the text
of each float flag before typer converts it and bounds it, in one place for all commands."""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin

import typer
from typer._click.exceptions import UsageError

from gpuplan.errors import shorten


def is_float_flag(param: Any) -> bool:
    """Whether typer converts the flag to ``float`` (``float`` or ``float | None``)."""
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if annotation is float:
        return True
    return get_origin(annotation) in (Union, types.UnionType) and float in get_args(annotation)


def _not_finite(value: Any) -> bool:
    texts = value if isinstance(value, (list, tuple)) else [value]
    for text in texts:
        try:
            number = float(text) if isinstance(text, (str, float)) else 0.0
        except ValueError:
            continue  # typer says it is not a number
        if not math.isfinite(number):
            return True
    return False


def _checked(param: Any, process: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def process_value(ctx: Any, value: Any) -> Any:
        if _not_finite(value):
            name = (getattr(param, "opts", None) or [param.name])[0]
            raise UsageError(f"{name} = {shorten(repr(value))}: must be a finite number", ctx=ctx)
        return process(ctx, value)

    return process_value


def finite_floats(app: typer.Typer) -> Any:
    """``app``'s click command with every float flag of its commands refusing NaN and
    infinity by name: '--days = 'nan': must be a finite number'."""
    command = typer.main.get_command(app)
    commands = getattr(command, "commands", {})
    for sub in [command, *commands.values()]:
        for param in sub.params:
            if is_float_flag(param):
                param.process_value = _checked(param, param.process_value)
    return command
