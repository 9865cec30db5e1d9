"""The entry point builds only the command it runs (issue 15, Speed: start-up): for every
command line, :func:`gpuplan.cli.app.command_app` answers as the whole app does."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from gpuplan.cli.app import app, command_app

PLAN = ["plan", "--model", "llama3-8b", "--hardware", "h100-sxm", "--gpus", "64", "--mfu", "0.4"]
TIMED = re.compile(r'"(elapsed_s|plans_per_s)"')
ARGVS = [
    PLAN,
    [*PLAN, "--json"],
    ["plan", "--help"],
    ["search", "--help"],
    ["scaling-fit", "--help"],
    ["catalog", "models"],
    ["plan", "--gpus", "many", "--model", "llama3-8b", "--hardware", "h100-sxm"],
    ["plan", "--no-such-flag"],
    ["check", "--model", "no-such-model"],
    ["--help"],
    ["no-such-command"],
    [],
]


def _untimed(output: str) -> list[str]:
    """The output without the search's wall-clock fields (they differ between runs)."""
    return [line for line in output.splitlines() if not TIMED.search(line)]


@pytest.mark.parametrize("argv", ARGVS, ids=[" ".join(a) or "(none)" for a in ARGVS])
def test_the_lean_app_answers_as_the_whole_app(argv: list[str]) -> None:
    whole = CliRunner().invoke(app, argv, env={"COLUMNS": "100"})
    lean_app = command_app(argv[:1])
    lean = CliRunner().invoke(lean_app, argv, env={"COLUMNS": "100"})
    assert (lean.exit_code, _untimed(lean.output)) == (whole.exit_code, _untimed(whole.output))
    assert type(lean.exception) is type(whole.exception)
    named = argv[:1] and not argv[0].startswith("-") and argv[0] != "no-such-command"
    assert (lean_app is not app) == bool(named)
    if named:
        assert len(lean_app.registered_commands) == 1
