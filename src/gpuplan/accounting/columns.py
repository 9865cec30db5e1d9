"""What the accounts take and give: a float, or a numpy column of floats (one per site).

A sweep varies the site (PUE, grid, electricity price) and the prices (GPU, cloud) of
scenarios that share everything else: the same cluster running for the same wall-clock time.
The one definition of each account (:mod:`~gpuplan.accounting.power`,
:mod:`~gpuplan.accounting.cost`, :func:`gpuplan.accounting.cluster.account_site`) takes its
site- and price-dependent inputs as a :data:`Quantity`: a float for one scenario, or a
column for all of them at once, with the same operations in the same order, so each element
of a column is the float account bit for bit. numpy is imported for type checking only: a
column brings its own operations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, TypeVar

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    FloatColumn: TypeAlias = NDArray[np.float64]

Quantity = TypeVar("Quantity", float, "FloatColumn")
"""A site- or price-dependent value: a float, or a column of them (every account of it
then a column too)."""


_NUMBER = (int, float)


def require_at_least(name: str, value: Quantity, low: float, *, strict: bool = False) -> None:
    """A ValueError naming ``name``, what is allowed and the (first) value that breaks it,
    unless ``value >= low`` (``> low`` if ``strict``) everywhere in it; NaN passes, as in a
    scalar ``if value < low`` check."""
    bad = value <= low if strict else value < low
    if isinstance(value, _NUMBER):  # numpy's float64 is a float
        if not bad:
            return
        shown = value
    elif not bad.any():
        return
    else:
        shown = value[bad][0]
    raise ValueError(f"{name} must be {'>' if strict else '>='} {low:g}, got {shown}")
