"""Reading a user's file, bounded (gpuplan.scenario.files), and messages that stay short."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gpuplan.errors import MAX_SHOWN, ScenarioError, shorten
from gpuplan.scenario import parse_scenario
from gpuplan.scenario.files import (
    MAX_ALIAS_VALUES,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    read_csv_text,
    read_json,
    read_text,
    read_yaml,
)


def alias_bomb() -> str:
    """Billion laughs: 9 levels of 9 aliases, 342 bytes that expand to 9^9 strings."""
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_a_good_yaml_file_reads_as_before(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", "model: llama3-405b\nbase: &b {gpus: 8}\nother: *b\n")
    assert read_yaml(path, "scenario") == {
        "model": "llama3-405b",
        "base": {"gpus": 8},
        "other": {"gpus": 8},
    }


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path: Path) -> None:
    """YAML keeps the last of two equal keys: a scenario would silently plan on 8 GPUs."""
    text = "model: llama3-405b\ngpus: 16384\ntraining: {tokens: 1.0e+12}\ngpus: 8\n"
    path = write(tmp_path, "s.yaml", text)
    with pytest.raises(ScenarioError, match=r"key 'gpus' is given twice \(line 2, column 1 and "
                       r"line 4, column 1\)"):  # fmt: skip
        read_yaml(path, "scenario")
    nested = write(tmp_path, "n.yaml", "training: {tokens: 1, seq_len: 8, tokens: 2}\n")
    with pytest.raises(ScenarioError, match="key 'tokens' is given twice"):
        read_yaml(nested, "scenario")
    json_path = write(tmp_path, "p.json", '{"plan": {"tp": 8, "tp": 4}}')
    with pytest.raises(ScenarioError, match="key 'tp' is given twice"):
        read_json(json_path, "--from-json")


def test_a_merge_key_may_be_overridden(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", "base: &b {tp: 8, pp: 2}\nother:\n  <<: *b\n  tp: 4\n")
    assert read_yaml(path, "scenario")["other"] == {"tp": 4, "pp": 2}


def test_random_bytes_are_not_a_utf8_file(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", bytes(range(128, 256)) * 8)
    with pytest.raises(ScenarioError, match="is not a UTF-8 YAML file"):
        read_yaml(path, "scenario")
    with pytest.raises(ScenarioError, match="is not a UTF-8 CSV file"):
        read_csv_text(path, str(path))
    with pytest.raises(ScenarioError, match="is not a UTF-8 JSON file"):
        read_json(path, "--from-json")


def test_nul_bytes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="NUL"):
        read_yaml(write(tmp_path, "n.yaml", b"gpus: 8\x00\n"), "scenario")


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "big.yaml", b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ScenarioError, match="larger than 4 MiB"):
        read_yaml(path, "scenario")
    assert read_text(write(tmp_path, "ok.yaml", "x" * 100), "f", "YAML", limit=100) == "x" * 100


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_is_refused_not_read_forever() -> None:
    with pytest.raises(ScenarioError, match="is a pipe, device or socket, not a regular YAML"):
        read_yaml(Path("/dev/zero"), "scenario")
    with pytest.raises(ScenarioError, match="not a regular CSV file"):
        read_csv_text(Path("/dev/zero"), "/dev/zero")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_fifo_without_a_writer_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match="is a pipe, device or socket"):
        read_yaml(fifo, "scenario")  # opening it would block until a writer came
    with pytest.raises(ScenarioError, match="is a folder, not a regular YAML file"):
        read_yaml(tmp_path, "scenario")


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    path = write(tmp_path, "bomb.yaml", alias_bomb())
    with pytest.raises(ScenarioError, match=f"aliases expand to more than {MAX_ALIAS_VALUES:,}"):
        read_yaml(path, "scenario")


def test_an_alias_to_itself_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="refers to itself"):
        read_yaml(write(tmp_path, "self.yaml", "a: &a [*a]\n"), "scenario")


@pytest.mark.parametrize(
    ("name", "content", "reader"),
    [
        ("deep.yaml", "gpus: " + "[" * 10_000 + "]" * 10_000, read_yaml),
        ("deep-block.yaml", "".join(f"{' ' * i}k{i}:\n" for i in range(200)), read_yaml),
        ("deep.json", "[" * 10_000 + "]" * 10_000, read_json),
        ("just-over.json", "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), read_json),
    ],
)
def test_deep_nesting_is_refused(tmp_path: Path, name: str, content: str, reader: object) -> None:
    with pytest.raises(ScenarioError, match=f"more than {MAX_DEPTH} levels deep"):
        reader(write(tmp_path, name, content), "f")  # type: ignore[operator]


def test_nesting_up_to_the_limit_reads(tmp_path: Path) -> None:
    depth = MAX_DEPTH - 1
    text = "[" * depth + "]" * depth
    assert read_yaml(write(tmp_path, "ok.yaml", text), "f") is not None
    assert read_json(write(tmp_path, "ok.json", text), "f") is not None


def test_an_integer_of_thousands_of_digits_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="an integer of 5000 digits"):
        read_yaml(write(tmp_path, "i.yaml", "gpus: " + "9" * 5000), "scenario")
    with pytest.raises(ScenarioError, match="an integer of 5000 digits"):
        read_json(write(tmp_path, "i.json", '{"gpus": ' + "9" * 5000 + "}"), "--from-json")
    assert read_yaml(write(tmp_path, "ok.yaml", "flops: 38" + "0" * 24), "f") == {
        "flops": 38 * 10**24
    }


def test_a_yaml_syntax_error_is_one_line_with_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "model: llama3-405b\ngpus: [1, 2\nhardware: h100\n")
    with pytest.raises(ScenarioError) as caught:
        read_yaml(path, "scenario")
    message = str(caught.value)
    assert "\n" not in message
    assert "is not valid YAML: line 3, column 9" in message


def test_a_json_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not valid JSON: line 2, column 1"):
        read_json(write(tmp_path, "bad.json", '{"a": 1,\n}'), "--from-json")


def test_a_csv_field_too_long_for_the_csv_module_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "big.csv", "N,D,loss\n" + "1" * 200_000 + ",2,3\n")
    with pytest.raises(ScenarioError, match="line 2: not valid CSV"):
        read_csv_text(path, str(path))


def test_shorten_caps_and_keeps_one_line() -> None:
    assert shorten("short") == "short"
    assert shorten("a\nb") == "a b"
    assert shorten("x" * 1000) == "x" * MAX_SHOWN + "..."


def test_a_huge_value_is_not_echoed_whole() -> None:
    huge = "x" * 10 * 2**20  # 10 MB
    with pytest.raises(ScenarioError) as caught:
        parse_scenario({"model": "llama3-405b", "hardware": "h100-sxm", "gpus": huge})
    assert len(str(caught.value)) < 500
    assert "gpus = 'xxx" in str(caught.value) and "..." in str(caught.value)
    error = ScenarioError(f"field = {huge!r}", huge)
    assert len(str(error)) < 2500


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"model": "llama3-405b", "hardware": "h100-sxm", "gpus": 8, "": 3}, "scenario"),
        (
            {"model": "llama3-405b", "hardware": "h100-sxm", "gpus": 8, "training": {"": 1}},
            "training",
        ),
    ],
)
def test_an_empty_key_is_named_as_empty(data: dict[str, object], where: str) -> None:
    with pytest.raises(ScenarioError, match=f"^{where}: has an empty key ''; allowed: "):
        parse_scenario(data)
