"""Bad user files through every command that reads one: one line, exit status 2, no hang.

Each file is read by gpuplan.scenario.files (bounded size, UTF-8, aliases, depth, digits);
these tests run the real commands, with a generous timeout as a guard against hangs.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cli_run import run_gpuplan

HANG_GUARD_S = 20


def alias_bomb() -> str:
    """Billion laughs: 9 levels of 9 aliases, 342 bytes that expand to 9^9 strings."""
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


YAML_FILES: dict[str, str | bytes] = {
    "random": os.urandom(4096) + b"\xff\xfe",
    "bomb": alias_bomb(),
    "deep": "gpus: " + "[" * 10_000 + "]" * 10_000 + "\n",
    "digits": "model: llama3-405b\nhardware: h100-sxm\ngpus: " + "9" * 5000 + "\n",
    "syntax": "model: llama3-405b\ngpus: [1, 2\nhardware: h100-sxm\n",
    "empty-key": "model: llama3-405b\nhardware: h100-sxm\ngpus: 8\n'': 3\n",
    "huge-value": "model: llama3-405b\nhardware: h100-sxm\ngpus: '" + "x" * 3_000_000 + "'\n",
}

EXPECTED = {
    "random": "is not a UTF-8 YAML file",
    "bomb": "aliases expand to more than",
    "deep": "levels deep",
    "digits": "an integer of 5000 digits",
    "syntax": "is not valid YAML: line 3, column 9",
    "empty-key": "scenario: has an empty key ''",
    "huge-value": "gpus = 'xxxxxxxx",
}


def gpuplan(*args: str) -> subprocess.CompletedProcess[str]:
    return run_gpuplan(*args, timeout_s=HANG_GUARD_S)


def assert_one_line_error(out: subprocess.CompletedProcess[str], expected: str) -> None:
    assert out.returncode == 2, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("gpuplan: error: "), out.stderr[:500]
    assert out.stderr.count("\n") == 1, out.stderr[:500]
    assert len(out.stderr) < 1000, out.stderr[:500]
    assert expected in out.stderr


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", list(YAML_FILES))
def test_plan_refuses_a_bad_scenario_file(tmp_path: Path, case: str) -> None:
    path = write(tmp_path, f"{case}.yaml", YAML_FILES[case])
    assert_one_line_error(gpuplan("plan", str(path)), EXPECTED[case])


@pytest.mark.parametrize("command", [["search"], ["report"], ["check"], ["sweep"]])
@pytest.mark.parametrize("case", ["random", "bomb", "deep", "syntax"])
def test_every_yaml_command_refuses_a_bad_file(
    tmp_path: Path, command: list[str], case: str
) -> None:
    path = write(tmp_path, f"{case}.yaml", YAML_FILES[case])
    assert_one_line_error(gpuplan(*command, str(path)), EXPECTED[case])


DEV_ZERO_COMMANDS = [
    (["plan", "/dev/zero"], "is a pipe, device or socket, not a regular YAML file"),
    (["check", "/dev/zero"], "is a pipe, device or socket, not a regular YAML file"),
    (["sweep", "/dev/zero"], "is a pipe, device or socket, not a regular YAML file"),
    (["scaling-fit", "/dev/zero"], "is a pipe, device or socket, not a regular CSV file"),
    (["trends", "--source", "epoch:/dev/zero"], "no file at '/dev/zero'"),  # not a regular file
    (["report", "--from-json", "/dev/zero"], "is a pipe, device or socket, not a regular JSON"),
]


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
@pytest.mark.parametrize(
    ("args", "expected"), DEV_ZERO_COMMANDS, ids=[a[0] for a, _ in DEV_ZERO_COMMANDS]
)
def test_dev_zero_is_refused_not_read_forever(args: list[str], expected: str) -> None:
    assert_one_line_error(gpuplan(*args), expected)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
@pytest.mark.parametrize(
    "command", [["plan"], ["sweep"], ["scaling-fit"], ["report", "--from-json"]]
)
def test_a_fifo_with_no_writer_is_refused_not_waited_on(tmp_path: Path, command: list[str]) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert_one_line_error(gpuplan(*command, str(fifo)), "is a pipe, device or socket")


CSV_FILES: dict[str, tuple[str | bytes, str]] = {
    "random": (os.urandom(4096) + b"\xff\xfe", "is not a UTF-8 CSV file"),
    "long-field": ("N,D,loss\n" + "1" * 1_000_000 + ",2,3\n", "line 2: not valid CSV"),
}


@pytest.mark.parametrize("case", list(CSV_FILES))
@pytest.mark.parametrize("command", [["scaling-fit", "{}"], ["trends", "--source", "epoch:{}"]])
def test_csv_commands_refuse_a_bad_file(tmp_path: Path, command: list[str], case: str) -> None:
    content, expected = CSV_FILES[case]
    path = write(tmp_path, f"{case}.csv", content)
    assert_one_line_error(gpuplan(*(a.format(path) for a in command)), expected)


JSON_FILES: dict[str, tuple[str | bytes, str]] = {
    "random": (os.urandom(4096) + b"\xff\xfe", "is not a UTF-8 JSON file"),
    "deep": ("[" * 10_000 + "]" * 10_000, "levels deep"),
    "digits": ('{"fits": ' + "9" * 5000 + "}", "an integer of 5000 digits"),
    "syntax": ('{"fits": true,\n}', "is not valid JSON: line 2, column 1"),
}


@pytest.mark.parametrize("case", list(JSON_FILES))
def test_report_from_json_refuses_a_bad_file(tmp_path: Path, case: str) -> None:
    content, expected = JSON_FILES[case]
    path = write(tmp_path, f"{case}.json", content)
    assert_one_line_error(gpuplan("report", "--from-json", str(path)), expected)


def test_a_huge_csv_value_is_not_echoed_whole(tmp_path: Path) -> None:
    path = write(tmp_path, "runs.csv", "N,D,loss\n" + "a" * 100_000 + ",2,3\n")
    assert_one_line_error(gpuplan("scaling-fit", str(path)), "...' is not a number")
