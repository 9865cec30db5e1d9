"""The catalog's YAML files, parsed once per edit, and the catalog validated once per edit
(issue 15, Speed: start-up).

Parsing the catalog's YAML is most of loading it (~80 ms of CPU for ``gpuplan plan`` on a
2-core machine, even with the C parser), and the files change only when they are edited.
The parsed mapping of each file is kept as a pickle in the user's cache folder
(``$GPUPLAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/gpuplan``, else ``~/.cache/gpuplan``), keyed on
the file's path, size and modification time and on the YAML library: an edited file is
parsed again. The validated catalog (:func:`gpuplan.catalog.loader.load_catalog`: building
the schemas' validators and validating every record, ~20 ms more) is kept the same way by
:func:`read_built`, keyed on every data file and every source file of the schema and the
loader and on pydantic's version: an edit to any of them validates again, so no value can
differ from a fresh load. ``GPUPLAN_CACHE_DIR=`` (empty) turns the cache off; a cache that
cannot be read or written is ignored.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from gpuplan.defaults import cache_dir

T = TypeVar("T")

FORMAT = 2
"""Bumped when what is cached changes."""


def _yaml_stamp() -> tuple[object, ...]:
    """The installed YAML library (its package's files: the pure-Python ``__init__`` and the C
    parser when built), without importing it: the warm start-up reads no YAML, and importing
    the library costs ~15 ms. (``find_spec`` of a submodule would import the package.)"""
    spec = importlib.util.find_spec("yaml")
    if spec is None or spec.origin is None:
        return ()
    package = Path(spec.origin).parent
    return file_stamps([Path(spec.origin), *sorted(package.glob("_yaml*"))])


def file_stamps(paths: Iterable[Path]) -> tuple[tuple[str, int, int], ...]:
    """(path, size, modification time) of each file: an edit changes one of them."""
    out = []
    for path in paths:
        stat = path.stat()
        out.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(out)


def _key(path: Path) -> tuple[object, ...]:
    return (FORMAT, *file_stamps([path]), _yaml_stamp(), sys.version_info[:2])


def _cached(where: Path, key: tuple[object, ...]) -> tuple[bool, Any]:
    """The stored data if its key is ``key``. The key is read first, so that stale data (of
    classes since edited) is never unpickled; anything unreadable is rebuilt."""
    try:
        with where.open("rb") as handle:
            if pickle.load(handle) != key:
                return False, None
            return True, pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            ImportError, IndexError):  # fmt: skip
        return False, None


def _store(where: Path, key: tuple[object, ...], data: Any) -> None:
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        partial = where.with_name(f"{where.name}.{os.getpid()}.tmp")
        with partial.open("wb") as handle:
            pickle.dump(key, handle, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, where)  # atomic: a concurrent reader sees the old or the new file
    except (OSError, pickle.PicklingError):
        pass  # a read-only or full cache folder: parse every time


def parse(text: str) -> Any:
    """YAML text parsed with the safe (C when available) loader."""
    import yaml  # imported here: a warm start-up reads the cache, not YAML

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when available
    return yaml.load(text, Loader=loader)


def read_parsed(path: Path) -> Any:
    """The parsed YAML of a catalog file, from the cache when the file is unchanged."""
    folder = cache_dir()
    if folder is None:
        return parse(path.read_text("utf-8"))
    key = _key(path)
    where = folder / f"{path.stem}-{hashlib.sha256(str(path).encode()).hexdigest()[:16]}.pickle"
    found, data = _cached(where, key)
    if not found:
        data = parse(path.read_text("utf-8"))
        _store(where, key, data)
    return data


def read_built(name: str, sources: Iterable[Path], build: Callable[[], T]) -> T:
    """``build()``, from the cache when none of ``sources`` (every file the result is made
    from: data and code) nor the installed pydantic and YAML changed since it was stored."""
    folder = cache_dir()
    if folder is None:
        return build()
    import pydantic  # the validated records are pydantic models (imported by the schema)

    stamps = file_stamps(sorted(sources))
    key = (FORMAT, name, stamps, pydantic.VERSION, _yaml_stamp(), sys.version_info[:2])
    home = str(stamps[0][0]) if stamps else ""  # one file per checkout, not per edit
    where = folder / f"{name}-{hashlib.sha256(home.encode()).hexdigest()[:16]}.pickle"
    found, data = _cached(where, key)
    if not found:
        data = build()
        _store(where, key, data)
    return data  # type: ignore[no-any-return]
