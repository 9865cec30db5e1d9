"""The table of scenario flags (name, scenario key, help, metavar), read off the schema.

Reading it off the pydantic models means importing the scenario schema, the catalog schema
and pydantic, most of what ``gpuplan --help`` would cost (issue 15, Speed: start-up). The
table is therefore kept in the user's cache folder (:func:`gpuplan.defaults.cache_dir`),
keyed on the size and modification time of every source file it is read from: an edited
schema is read again. A cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import ast
import inspect
import os
import pickle
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from gpuplan import __version__
from gpuplan.defaults import cache_dir

NOT_FLAGS = ("stages",)
"""Keys only a file sets (a list of stages)."""
FORMAT = 1
"""Bumped when the cached table's layout changes."""
_SOURCES = ("scenario", "catalog/schema", "cli/flag_table.py")
"""Where the table is read from (relative to the package): the key of its cache."""


@dataclass(frozen=True)
class Flag:
    name: str
    """The option, e.g. ``--global-batch``."""
    path: str
    """The scenario key it sets, e.g. ``training.global_batch``."""
    help: str
    metavar: str


def _metavar(path: str, annotation: Any) -> str:
    """What a flag takes, read off the field's type: enum values, a number, an id."""
    if path == "gpus":
        return "N|N,N,..|LOW..HIGH"
    text = str(annotation)
    for branch in getattr(annotation, "__args__", (annotation,)):
        if isinstance(branch, type) and issubclass(branch, Enum):
            return "|".join(str(member.value) for member in branch)
    if "bool" in text:
        return "true|false"
    if "int" in text:
        return "INT"
    if "float" in text:
        return "NUMBER"
    return "ID"


def field_docs(schema: type, trees: dict[str, ast.Module] | None = None) -> dict[str, str]:
    """The docstring written under each field of ``schema`` and of its gpuplan bases (the
    string right after the field's annotated assignment), read from the source (each module
    parsed once per ``trees``). The schema's models leave this to the flag table: pydantic's
    ``use_attribute_docstrings`` would read the source of every model at import, ~40 ms of
    every command's start-up."""
    trees = {} if trees is None else trees
    docs: dict[str, str] = {}
    for klass in reversed(schema.__mro__):
        if not klass.__module__.startswith("gpuplan."):
            continue
        if klass.__module__ not in trees:
            trees[klass.__module__] = ast.parse(inspect.getsource(sys.modules[klass.__module__]))
        body = next(
            node
            for node in trees[klass.__module__].body
            if isinstance(node, ast.ClassDef) and node.name == klass.__name__
        )
        for node, after in zip(body.body, body.body[1:], strict=False):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


def read_flags() -> tuple[Flag, ...]:
    """One flag per value field of the scenario's sections, then the budget's two."""
    from pydantic import BaseModel

    from gpuplan.scenario.schema import Budget, Clip, Parallelism, Prices, Scenario, Site, Training

    sections: dict[str, type[BaseModel]] = {
        "": Scenario,
        "training": Training,
        "training.clip": Clip,
        "parallelism": Parallelism,
        "site": Site,
        "prices": Prices,
    }
    out = []
    trees: dict[str, ast.Module] = {}
    for section, schema in sections.items():
        docs = field_docs(schema, trees)
        for key, field in schema.model_fields.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                continue  # a section, not a value
            path = f"{section}.{key}" if section else key
            if path in sections or path in NOT_FLAGS:
                continue
            help_text = " ".join((field.description or docs.get(key) or key).split())
            metavar = _metavar(path, field.annotation)
            out.append(Flag("--" + key.replace("_", "-"), path, help_text, metavar))
    # --budget-usd and --power-mw set budget.usd and budget.mw (a budget question:
    # gpuplan.studies.budget); --days is the training length's flag.
    docs = field_docs(Budget, trees)
    out += [
        Flag(name, f"budget.{key}", " ".join(docs.get(key, key).split()), "NUMBER")
        for name, key in (("--budget-usd", "usd"), ("--power-mw", "mw"))
    ]
    return tuple(out)


def _key() -> tuple[object, ...]:
    package = Path(__file__).resolve().parents[1]
    files = []
    for source in _SOURCES:
        where = package / source
        for path in sorted(where.rglob("*.py")) if where.is_dir() else [where]:
            stat = path.stat()
            files.append((str(path), stat.st_size, stat.st_mtime_ns))
    return (FORMAT, __version__, tuple(files))


def flag_table() -> tuple[Flag, ...]:
    """The flags, from the cache when no source file changed since it was written."""
    folder = cache_dir()
    if folder is None:
        return read_flags()
    where = folder / "flag-table.pickle"
    try:
        key = _key()
        with where.open("rb") as handle:
            stored_key, flags = pickle.load(handle)
        if stored_key == key:
            return tuple(flags)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
        pass  # no table yet, or an unreadable one: read the schema and store it
    flags = read_flags()
    _store(where, flags)
    return flags


def _store(where: Path, flags: tuple[Flag, ...]) -> None:
    try:
        key = _key()
        where.parent.mkdir(parents=True, exist_ok=True)
        partial = where.with_name(f"{where.name}.{os.getpid()}.tmp")
        with partial.open("wb") as handle:
            pickle.dump((key, flags), handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, where)  # atomic: a concurrent reader sees the old or the new file
    except (OSError, pickle.PicklingError):
        pass  # a read-only or full cache folder: read the schema every time
