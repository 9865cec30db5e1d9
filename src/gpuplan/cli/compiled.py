"""The code that ``@dataclass`` and ``typing.ForwardRef`` compile, compiled once per
interpreter (issue 15, Speed: start-up).

``@dataclass`` writes the source text of each class's ``__init__``, ``__repr__``, ``__eq__``,
``__hash__`` (and a frozen class's ``__setattr__`` and ``__delattr__``) and compiles it with
``exec``: ~0.1 ms a method, ~30 ms of CPU of a ``plan`` (~120 classes: gpuplan's, pydantic's,
typer's). Each annotation written as text (``from __future__ import annotations``; pydantic's
models, pydantic-core's typed dicts) becomes a ``typing.ForwardRef``, which compiles it:
~1,300 texts, ~10 ms more. The code that one text compiles to is the same for one
interpreter, so the command line keeps it in the user cache (:func:`gpuplan.defaults.cache_dir`;
one file per bytecode format and optimisation level), keyed on the text, and gives the
dataclasses module an ``exec`` and the typing module a ``compile`` that use the kept code:
the same functions and references (same code, globals, names, defaults), made without
compiling. A text not yet kept is compiled as the builtins would and kept when the command
ends; a cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import marshal
import os
import sys
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import CodeType
from typing import Any

from gpuplan.defaults import cache_dir

MOST = 4000
"""Kept texts above which the file keeps only the texts of the last command (an edited class
leaves its old text behind)."""


def cache_file() -> Path | None:
    """The file of kept code for this interpreter, or None without a user cache."""
    folder = cache_dir()
    if folder is None:
        return None
    tag = f"{sys.implementation.cache_tag}-{importlib.util.MAGIC_NUMBER.hex()}"
    return folder / f"compiled-code-{tag}-O{sys.flags.optimize}.marshal"


class CompiledTexts:
    """Source text -> compiled code, read from and written back to ``path``."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.codes: dict[str, CodeType] = self._read()
        self.used: set[str] = set()
        self.added = False

    def _read(self) -> dict[str, CodeType]:
        if self.path is None:
            return {}
        try:
            data = marshal.loads(self.path.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, CodeType)}

    def code(self, source: str, mode: str) -> CodeType:
        """``source`` compiled in ``mode`` as the builtins compile it (not with this module's
        ``__future__`` flags), kept or compiled now."""
        key = f"{mode}:{source}"
        code = self.codes.get(key)
        if code is None:
            code = compile(source, "<string>", mode, dont_inherit=True)
            self.codes[key] = code
            self.added = True
        self.used.add(key)
        return code

    def exec(self, source: Any, globals: Any = None, locals: Any = None) -> None:
        """``exec`` as the dataclasses module calls it (its own globals when given None)."""
        if globals is None:
            globals = vars(dataclasses)
        exec(self.code(source, "exec") if isinstance(source, str) else source, globals, locals)

    def compile(self, source: Any, filename: Any, mode: str, *args: Any, **kwargs: Any) -> Any:
        """``compile`` as :class:`typing.ForwardRef` calls it (an annotation's text, evaluated
        each time the annotation is); any other call goes to the builtin."""
        if (
            args
            or kwargs
            or filename != "<string>"
            or mode != "eval"
            or not isinstance(source, str)
        ):
            return compile(source, filename, mode, *args, **kwargs)
        return self.code(source, "eval")

    def write(self) -> None:
        """Keep what was compiled (when anything was), atomically; errors are ignored."""
        if self.path is None or not self.added:
            return
        codes = self.codes
        if len(codes) > MOST:
            codes = {text: code for text, code in codes.items() if text in self.used}
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(marshal.dumps(codes))
            os.replace(partial, self.path)  # a concurrent reader sees the old or the new file
        except OSError:
            with contextlib.suppress(OSError):  # e.g. the cache folder is a file
                partial.unlink(missing_ok=True)


@contextmanager
def compiled_texts(path: Path | None = None) -> Iterator[CompiledTexts]:
    """Within: ``@dataclass`` and :class:`typing.ForwardRef` run kept code (``path``, else
    :func:`cache_file`); at the end their modules have the builtins back and new code is
    kept."""
    texts = CompiledTexts(path if path is not None else cache_file())
    given = {dataclasses: ("exec", texts.exec), typing: ("compile", texts.compile)}
    for module, (name, function) in given.items():
        vars(module)[name] = function  # the module's global name shadows the builtin
    try:
        yield texts
    finally:
        for module, (name, function) in given.items():
            if vars(module).get(name) == function:
                del vars(module)[name]
        texts.write()
