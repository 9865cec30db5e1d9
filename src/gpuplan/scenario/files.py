"""Reading a user's file, bounded: every YAML, CSV and JSON file a user names goes through here.

A file must be a regular file (a FIFO with no writer would block forever, ``/dev/zero``
never ends: both are refused before they are opened), is read up to a size limit, must be
UTF-8, and is parsed with bounds on what a few bytes can ask
for: YAML aliases may not multiply the document (an alias bomb is refused before anything
expands it), nesting is bounded (no ``RecursionError``), and integers have a bounded number
of digits. Every failure is a :class:`ScenarioError` of one line naming the file.
"""

from __future__ import annotations

import csv
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from gpuplan.errors import ScenarioError

MAX_FILE_BYTES = 4 * 2**20
"""The largest scenario, claims, sweep or saved-plan file read (4 MiB)."""

MAX_CSV_BYTES = 32 * 2**20
"""The largest CSV data file read (32 MiB: a full Epoch AI export is a few MB)."""

MAX_DEPTH = 64
"""The deepest nesting of lists and mappings in a YAML or JSON file."""

MAX_ALIAS_VALUES = 100_000
"""How many values YAML aliases may add to a document, counted as if expanded."""

MAX_INT_DIGITS = 100
"""The most digits of an integer in a YAML or JSON file (1e100 is more than anything real)."""


def read_text(path: Path, field: str, kind: str, limit: int = MAX_FILE_BYTES) -> str:
    """The text of a UTF-8 file of at most ``limit`` bytes; ``kind`` names it ("YAML")."""
    name = "the file" if field == str(path) else str(path)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ScenarioError(field, f"cannot read {name}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        kind_of = "a folder" if stat.S_ISDIR(mode) else "a pipe, device or socket"
        raise ScenarioError(field, f"{name} is {kind_of}, not a regular {kind} file")
    try:
        with path.open("rb") as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise ScenarioError(field, f"cannot read {name}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise ScenarioError(field, f"{name} is larger than {limit // 2**20} MiB; not a {kind} file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScenarioError(field, f"{name} is not a UTF-8 {kind} file") from None
    if "\x00" in text:
        raise ScenarioError(field, f"{name} is not a UTF-8 {kind} file (it holds NUL bytes)")
    return text


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with bounded nesting, aliases and integer size."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self._depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise Refused(f"nested more than {MAX_DEPTH} levels deep at {_where(mark)}")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node: Any) -> Any:
        _check_expansion(node)
        return super().construct_document(node)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            refuse_repeated_keys(node)
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node: Any) -> Any:
        digits = sum(c.isdigit() for c in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise Refused(
                f"an integer of {digits} digits at {_where(node.start_mark)}; "
                f"at most {MAX_INT_DIGITS} allowed"
            )
        return super().construct_yaml_int(node)


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)


class Refused(ValueError):
    """A bound (depth, aliases, digits) was crossed while parsing."""


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


MERGE_TAG = "tag:yaml.org,2002:merge"


def refuse_repeated_keys(node: yaml.MappingNode) -> None:
    """Refuse a mapping that names a key twice: YAML keeps the last silently, so a scenario
    with ``gpus: 16384`` and, further down, ``gpus: 8`` would plan on 8 GPUs without a word.
    Merge keys (``<<: *base``) may be overridden, as YAML intends."""
    seen: dict[tuple[str, str], Any] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == MERGE_TAG:
            continue
        first = seen.setdefault((key.tag, key.value), key.start_mark)
        if first is not key.start_mark:
            raise Refused(
                f"key {key.value[:60]!r} is given twice ({_where(first)} and "
                f"{_where(key.start_mark)}); give it once"
            )


def _children(node: Any) -> Iterator[Any]:
    if isinstance(node, yaml.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value


def _check_expansion(root: Any) -> None:
    """Refuse a document whose aliases, expanded, add more than MAX_ALIAS_VALUES values.

    Aliased nodes are shared, so each distinct node is sized once (iteratively, children
    first): the expanded size of a billion-laughs document is computed without expanding it.
    """
    size: dict[int, int] = {}
    open_: set[int] = set()
    distinct = 0
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in size:
            continue
        children = list(_children(node))
        if not done:
            if id(node) in open_:
                raise Refused(f"an alias refers to itself at {_where(node.start_mark)}")
            open_.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in size)
            continue
        open_.discard(id(node))
        distinct += 1
        size[id(node)] = 1 + sum(size[id(c)] for c in children)
        if size[id(node)] - distinct > MAX_ALIAS_VALUES:
            raise Refused(
                f"its aliases expand to more than {MAX_ALIAS_VALUES:,} values "
                f"(at {_where(node.start_mark)})"
            )


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line: where (line, column) and what, of a YAML error."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        what = exc.problem or exc.context or "syntax error"
        return f"{_where(exc.problem_mark)}: {' '.join(str(what).split())}"
    return " ".join(str(exc).split())


def load_yaml(text: str) -> Any:
    """YAML text, parsed safely and bounded: raises yaml.YAMLError or :class:`Refused`."""
    return yaml.load(text, Loader=_BoundedLoader)


def read_yaml(path: Path, field: str) -> Any:
    """A user's YAML file (scenario, claims, sweep), or a ScenarioError naming ``field``."""
    text = read_text(path, field, "YAML")
    try:
        return load_yaml(text)
    except Refused as exc:
        raise ScenarioError(field, f"{path} is refused: {exc}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(field, f"{path} is not valid YAML: {_yaml_problem(exc)}") from None


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise Refused(f"an integer of {len(text.lstrip('-'))} digits; at most {MAX_INT_DIGITS}")
    return int(text)


def json_object_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused when it names a key twice (as a YAML mapping is)."""
    data: dict[str, Any] = {}
    for key, value in pairs:  # one pass: a body of many keys costs no more than its parse
        if key in data:
            raise Refused(f"key {key[:60]!r} is given twice in one object; give it once")
        data[key] = value
    return data


def _depth(value: Any) -> int:
    """The nesting depth of parsed JSON (iterative: no recursion on deep input)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            items = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in items)
    return deepest


def read_json(path: Path, field: str) -> Any:
    """A user's JSON file (a saved plan), or a ScenarioError naming ``field``."""
    text = read_text(path, field, "JSON")
    try:
        data = json.loads(text, parse_int=_json_int, object_pairs_hook=json_object_once)
    except Refused as exc:
        raise ScenarioError(field, f"{path} is refused: {exc}") from None
    except RecursionError:
        raise ScenarioError(field, f"{path} is nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ScenarioError(field, f"{path} is not valid JSON: {where}: {exc.msg}") from None
    if _depth(data) > MAX_DEPTH:
        raise ScenarioError(field, f"{path} is nested more than {MAX_DEPTH} levels deep")
    return data


def read_csv_text(path: Path, field: str) -> str:
    """The text of a user's CSV file (up to MAX_CSV_BYTES), or a ScenarioError.

    The text is checked to parse as CSV (the default dialect), so that a reader that
    parses it again meets no ``csv.Error`` (a field longer than the csv module allows).
    """
    text = read_text(path, field, "CSV", limit=MAX_CSV_BYTES)
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        for _ in reader:
            pass
    except csv.Error as exc:
        raise ScenarioError(field, f"line {reader.line_num}: not valid CSV ({exc})") from None
    return text
