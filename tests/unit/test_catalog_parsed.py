"""The parsed-YAML cache of the catalog files (issue 15, Speed): same data, edits seen."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import pytest

from gpuplan.catalog import parsed
from gpuplan.defaults import cache_dir


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(folder))
    return folder


def test_a_cached_file_reads_as_parsed_and_an_edit_is_seen(tmp_path: Path, cache: Path) -> None:
    source = tmp_path / "x.yaml"
    source.write_text("rows: [{id: a, value: 1.5, retrieved: 2024-05-01}]\n")
    expected = {"rows": [{"id": "a", "value": 1.5, "retrieved": datetime.date(2024, 5, 1)}]}
    assert parsed.read_parsed(source) == expected
    assert len(list(cache.iterdir())) == 1
    assert parsed.read_parsed(source) == expected  # from the cache
    source.write_text("rows: [{id: a, value: 2.5}]\n")
    os.utime(source, ns=(1, 1))  # a different modification time, as an edit makes
    assert parsed.read_parsed(source) == {"rows": [{"id": "a", "value": 2.5}]}


def test_a_corrupt_cache_file_is_parsed_again(tmp_path: Path, cache: Path) -> None:
    source = tmp_path / "x.yaml"
    source.write_text("a: 1\n")
    parsed.read_parsed(source)
    (stored,) = cache.iterdir()
    stored.write_bytes(b"not a pickle")
    assert parsed.read_parsed(source) == {"a": 1}


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    source = tmp_path / "x.yaml"
    source.write_text("a: 1\n")
    assert cache_dir() is None
    assert parsed.read_parsed(source) == {"a": 1}
    assert not (tmp_path / "xdg").exists()


def test_an_unwritable_cache_folder_still_parses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(blocker / "cache"))  # below a plain file
    source = tmp_path / "x.yaml"
    source.write_text("a: [1, 2]\n")
    assert parsed.read_parsed(source) == {"a": [1, 2]}


def test_a_built_result_is_kept_until_a_source_changes(tmp_path: Path, cache: Path) -> None:
    source = tmp_path / "data.yaml"
    source.write_text("a: 1\n")
    builds: list[int] = []

    def build() -> dict[str, int]:
        builds.append(1)
        return {"built": len(builds)}

    assert parsed.read_built("thing", [source], build) == {"built": 1}
    assert parsed.read_built("thing", [source], build) == {"built": 1}  # from the cache
    assert len(builds) == 1
    os.utime(source, ns=(1, 1))  # an edit
    assert parsed.read_built("thing", [source], build) == {"built": 2}
    (stored,) = cache.glob("thing-*.pickle")
    stored.write_bytes(b"\x80garbage")
    assert parsed.read_built("thing", [source], build) == {"built": 3}


def test_the_cached_catalog_is_the_validated_catalog(cache: Path) -> None:
    from gpuplan.catalog import loader

    fresh = loader._build_catalog()
    load = loader.load_catalog.__wrapped__  # past the in-process cache, which stays as it is
    first = load()  # builds and stores
    second = load()  # reads the store
    assert list(cache.glob("catalog-*.pickle"))
    assert first == fresh and second == fresh and second is not first
    assert second.accelerators["h100-sxm"] == fresh.accelerators["h100-sxm"]
