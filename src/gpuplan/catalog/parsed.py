"""The catalog's YAML files, parsed once per edit (issue 15, Speed: start-up).

Parsing the catalog's YAML is most of loading it (~80 ms of CPU for ``gpuplan plan`` on a
2-core machine, even with the C parser), and the files change only when they are edited.
The parsed mapping of each file is kept as a pickle in the user's cache folder
(``$GPUPLAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/gpuplan``, else ``~/.cache/gpuplan``), keyed on
the file's path, size and modification time and on the YAML library: an edited file is
parsed again. Only the parse is cached; every record is still validated by its schema, so
no value can differ from a fresh parse. ``GPUPLAN_CACHE_DIR=`` (empty) turns the cache off;
a cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import yaml

from gpuplan.defaults import cache_dir

_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when available
FORMAT = 1
"""Bumped when what is cached changes."""


def _key(path: Path) -> tuple[object, ...]:
    stat = path.stat()
    return (FORMAT, str(path), stat.st_size, stat.st_mtime_ns, yaml.__version__,
            _YamlLoader.__name__, sys.version_info[:2])  # fmt: skip


def _cached(path: Path, key: tuple[object, ...], where: Path) -> tuple[bool, Any]:
    try:
        with where.open("rb") as handle:
            stored_key, data = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
        return False, None
    return (True, data) if stored_key == key else (False, None)


def _store(where: Path, key: tuple[object, ...], data: Any) -> None:
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        partial = where.with_name(f"{where.name}.{os.getpid()}.tmp")
        with partial.open("wb") as handle:
            pickle.dump((key, data), handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, where)  # atomic: a concurrent reader sees the old or the new file
    except (OSError, pickle.PicklingError):
        pass  # a read-only or full cache folder: parse every time


def parse(text: str) -> Any:
    """YAML text parsed with the safe (C when available) loader."""
    return yaml.load(text, Loader=_YamlLoader)


def read_parsed(path: Path) -> Any:
    """The parsed YAML of a catalog file, from the cache when the file is unchanged."""
    folder = cache_dir()
    if folder is None:
        return parse(path.read_text("utf-8"))
    key = _key(path)
    where = folder / f"{path.stem}-{hashlib.sha256(str(path).encode()).hexdigest()[:16]}.pickle"
    found, data = _cached(path, key, where)
    if not found:
        data = parse(path.read_text("utf-8"))
        _store(where, key, data)
    return data
