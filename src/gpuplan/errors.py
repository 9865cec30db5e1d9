"""The one exception hierarchy of gpuplan.

::

    GpuplanError                 anything gpuplan raises on purpose
    +-- ScenarioError            a scenario (YAML, CLI flags, web form) is invalid
    +-- CatalogError             a catalog record is missing, unknown or malformed

Every message names the field, the value, what is allowed and, where there is one, the
fix: ``parallelism.tp = 6 does not divide heads = 64; valid: 1, 2, 4, 8``.

An *infeasible* plan (does not fit in memory, GPU count not divisible) is not an error:
it is a result, with a reason (see :class:`gpuplan.planning.run.PlanResult`). A broken internal
invariant is a bug and is an ``assert``.
"""

from __future__ import annotations

MAX_SHOWN = 80
"""How many characters of a value a message repeats; the rest becomes '...'."""

MAX_NAME = 240
"""How long a field name (a key path, a file name) may be in a message."""

MAX_MESSAGE = 2000
"""How long one error message may be, whatever it quotes."""


def shorten(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` on one line, cut to ``limit`` characters and '...' if longer.

    >>> shorten("x" * 100, 10)
    'xxxxxxxxxx...'
    """
    text = " ".join(text.splitlines()) if "\n" in text or "\r" in text else text
    return text if len(text) <= limit else text[:limit] + "..."


class GpuplanError(Exception):
    """Base class of every error gpuplan raises on purpose."""


class ScenarioError(GpuplanError):
    """A scenario is invalid. The message starts with the field path."""

    def __init__(self, field: str, message: str) -> None:
        # A field may quote the value (``gpus = '...'``): repeat at most MAX_SHOWN of it.
        name, equals, value = field.partition(" = ")
        field = shorten(name, MAX_NAME) + (equals + shorten(value) if equals else "")
        self.field = field
        self.message = shorten(message, MAX_MESSAGE)
        message = self.message
        super().__init__(f"{field}: {message}" if field else message)


class CatalogError(GpuplanError):
    """A catalog id is unknown, or a catalog file is malformed."""


def require_draws(name: str, count: int, least: int, most: int, seed: int) -> None:
    """Refuse, naming the field, a number of random draws (Monte Carlo samples, bootstrap
    resamples) outside ``[least, most]`` or a negative seed (numpy's generators refuse it
    with a bare ValueError; terabytes of draws end in a MemoryError)."""
    if not least <= count <= most:
        raise ScenarioError(name, f"{count} must be from {least} to {most:,}")
    if seed < 0:
        raise ScenarioError("seed", f"{seed} must be 0 or more")
