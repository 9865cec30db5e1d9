"""The CLI's cached flag table (issue 15, Speed): the same flags as the schema gives, read
again when a source changes, and with it --help imports neither pydantic nor the schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuplan.cli import flag_table


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_the_table_is_read_off_the_schema() -> None:
    flags = {f.name: f for f in flag_table.read_flags()}
    assert flags["--global-batch"].path == "training.global_batch"
    assert flags["--budget-usd"].path == "budget.usd"
    assert flags["--gpus"].metavar == "N|N,N,..|LOW..HIGH"
    assert "--stages" not in flags


def test_a_cached_table_is_the_schemas_table(cache: Path) -> None:
    assert flag_table.flag_table() == flag_table.read_flags()
    assert (cache / "flag-table.pickle").exists()
    assert flag_table.flag_table() == flag_table.read_flags()  # from the cache


def test_a_changed_source_reads_the_schema_again(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flag_table.flag_table()
    stale = (flag_table.Flag("--stale", "stale", "", "ID"),)
    monkeypatch.setattr(flag_table, "_key", lambda: ("another", "key"))
    flag_table._store(cache / "flag-table.pickle", stale)
    monkeypatch.undo()
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(cache))
    assert flag_table.flag_table() == flag_table.read_flags()


def test_a_corrupt_table_is_read_again(cache: Path) -> None:
    (cache / "flag-table.pickle").write_bytes(b"\x80garbage")
    assert flag_table.flag_table() == flag_table.read_flags()


def test_with_a_cached_table_the_command_line_imports_no_schema(tmp_path: Path) -> None:
    env = {**os.environ, "GPUPLAN_CACHE_DIR": str(tmp_path)}
    code = "import json, sys, gpuplan.cli.app; print(json.dumps(sorted(sys.modules)))"
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
    out = subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
    loaded = set(json.loads(out.stdout))
    assert not loaded & {"pydantic", "gpuplan.scenario.schema", "gpuplan.catalog.loader"}


@given(
    st.one_of(
        st.from_regex(r"[0-9]{1,20}(\.[0-9]{0,20})?", fullmatch=True),
        st.from_regex(r"[A-Za-z][A-Za-z0-9_.:-]{0,12}", fullmatch=True),
        st.sampled_from(["yes", "No", "ON", "off", "y", "N", "null", "Null", "~", "nan", ".inf",
                         "0755", "1_000", "1e13", "0x1F", "1:20", "2024-05-01", "h100-sxm"]),
    )
)  # fmt: skip
def test_a_plain_flag_value_reads_as_yaml_reads_it(text: str) -> None:
    """Flag values read without the YAML library (start-up) are the values YAML gives."""
    from gpuplan.cli.flags import _plain
    from gpuplan.scenario.files import load_yaml

    plain, value = _plain(text)
    if plain:
        expected = load_yaml(text)
        assert value == expected and type(value) is type(expected), (text, value, expected)
