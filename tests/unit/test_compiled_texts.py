"""The code the command line keeps compiled (issue 15, Speed: start-up): the same dataclass
methods as ``@dataclass`` makes by itself and the same forward references as
:class:`typing.ForwardRef` compiles, from kept code on the next command."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from types import FunctionType
from typing import Any

import pytest

from gpuplan.cli.compiled import cache_file, compiled_texts

METHODS = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__", "__lt__")


def make_classes() -> list[type]:
    """Fresh classes of the kinds gpuplan and its libraries declare."""

    @dataclass(frozen=True)
    class Frozen:
        """Has a docstring."""

        a: int
        b: float = 2.5
        c: tuple[int, ...] = field(default_factory=tuple)

    @dataclass
    class Mutable:
        x: list[int] = field(default_factory=list)
        y: str = "y"

    @dataclass(frozen=True, slots=True, order=True)
    class Slotted:
        p: int
        q: int = field(default=3, compare=False)

    @dataclass(kw_only=True)
    class KeywordOnly(Mutable):
        z: int = 1

    return [Frozen, Mutable, Slotted, KeywordOnly]


def _function(method: Any) -> FunctionType | None:
    if method is None or not isinstance(method, FunctionType):
        return None
    return getattr(method, "__wrapped__", method)  # __repr__ is wrapped by _recursive_repr


def _named(value: Any, cls: type) -> Any:
    """A closure's value, the class itself by name (each run makes its own classes)."""
    same = isinstance(value, type) and value.__qualname__ == cls.__qualname__
    return f"<the class {cls.__qualname__}>" if same else value


def _signature(cls: type) -> dict[str, Any]:
    """What a generated method is: its code, globals, defaults, annotations, closure."""
    out: dict[str, Any] = {"doc": cls.__doc__}
    for name in METHODS:
        fn = _function(cls.__dict__.get(name))
        if fn is None:
            out[name] = cls.__dict__.get(name)
            continue
        out[name] = (
            fn.__code__,
            fn.__globals__ is vars(dataclasses) or fn.__globals__.get("__name__"),
            fn.__defaults__,
            fn.__kwdefaults__,
            fn.__annotations__,
            fn.__qualname__,
            [_named(cell.cell_contents, cls) for cell in fn.__closure__ or ()],
        )
    return out


def _behaviour(classes: list[type]) -> list[Any]:
    frozen, mutable, slotted, keyword_only = classes
    one = frozen(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.a = 2
    return [
        repr(one),
        one == frozen(1, 2.5),
        hash(one) == hash(frozen(1)),
        repr(mutable()),
        slotted(1, 9) == slotted(1, 4),
        slotted(1) < slotted(2),
        repr(keyword_only(x=[1], z=4)),
    ]


def test_kept_code_makes_the_same_methods(tmp_path: Path) -> None:
    where = tmp_path / "code.marshal"
    plain = make_classes()
    with compiled_texts(where) as first:
        compiled = make_classes()
    assert first.added and where.stat().st_size > 0
    with compiled_texts(where) as second:
        kept = make_classes()
    assert not second.added, "every method came from the kept code"
    assert second.used and second.used <= set(second.codes)
    for made in (compiled, kept):
        assert [_signature(c) for c in made] == [_signature(c) for c in plain]
        assert _behaviour(made) == _behaviour(plain)
    assert "exec" not in vars(dataclasses), "the builtin exec is given back"


def test_a_cache_that_cannot_be_read_is_compiled_again(tmp_path: Path) -> None:
    where = tmp_path / "code.marshal"
    where.write_bytes(b"\x00not marshal data")
    with compiled_texts(where) as texts:
        made = make_classes()
    assert texts.added and _behaviour(made) == _behaviour(make_classes())
    with compiled_texts(where) as again:
        make_classes()
    assert not again.added, "the unreadable file was replaced by a good one"


def test_a_cache_that_cannot_be_written_is_ignored(tmp_path: Path) -> None:
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    with compiled_texts(blocked / "code.marshal") as texts:
        made = make_classes()
    assert texts.added and _behaviour(made) == _behaviour(make_classes())
    assert blocked.read_text() == "not a folder"


def test_no_cache_folder_keeps_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", "")
    assert cache_file() is None
    with compiled_texts() as texts:
        made = make_classes()
    assert texts.path is None and _behaviour(made) == _behaviour(make_classes())
    monkeypatch.setenv("GPUPLAN_CACHE_DIR", str(tmp_path))
    found = cache_file()
    assert found is not None and found.parent == tmp_path


REFERENCES = ("int | None", "dict[str, list[float]]", "Annotated[float, 'metres']", "*Ts")
"""Annotation texts (with ``from __future__ import annotations``, every annotation is one)."""


def _compiled_references() -> list[tuple[object, object]]:
    refs = [typing.ForwardRef(text) for text in REFERENCES]
    names = vars(typing) | {"Ts": typing.TypeVarTuple("Ts")}
    return [(ref.__forward_code__, eval(ref.__forward_code__, names)) for ref in refs[:3]] + [
        (refs[3].__forward_code__, None)
    ]


def test_kept_code_compiles_forward_references_the_same(tmp_path: Path) -> None:
    where = tmp_path / "code.marshal"
    plain = _compiled_references()
    with compiled_texts(where) as first:
        compiled = _compiled_references()
        with pytest.raises(SyntaxError, match="Forward reference must be an expression"):
            typing.ForwardRef("not (an expression")
    assert first.added
    with compiled_texts(where) as second:
        kept = _compiled_references()
    assert not second.added, "every reference came from the kept code"
    assert compiled == plain and kept == plain
    assert "compile" not in vars(typing), "the builtin compile is given back"
