"""Big numbers a journalist can read: "$3.0 billion", "150 MW", "3.8 x 10^25 FLOP".

Pure formatting; the numbers come in SI units.
"""

from __future__ import annotations

import math

_SCALES = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"), (1e3, "thousand"))


def _three_digits(value: float) -> str:
    """At least two significant digits, at most one decimal: 3.0, 15.6, 150."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def number(value: float) -> str:
    """1234 -> '1,234'; 3.2e9 -> '3.2 billion'."""
    if math.isnan(value):
        return "n/a"
    for scale, word in _SCALES[:3]:
        if abs(value) >= scale:
            return f"{_three_digits(value / scale)} {word}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2g}" if abs(value) < 1 else f"{value:,.1f}"


def usd(value: float) -> str:
    """3.0e9 -> '$3.0 billion'; 12500 -> '$12,500'; 2.99 -> '$2.99'."""
    if abs(value) >= 1e6:
        return "$" + number(value)
    if abs(value) >= 100:
        return f"${value:,.0f}"
    return f"${value:,.2f}"


def _si(value: float, unit: str, prefixes: tuple[tuple[float, str], ...]) -> str:
    for scale, prefix in prefixes:
        if abs(value) >= scale:
            return f"{_three_digits(value / scale)} {prefix}{unit}"
    return f"{_three_digits(value)} {unit}"


_POWER = ((1e9, "G"), (1e6, "M"), (1e3, "k"))


def watts(value_w: float) -> str:
    """1.5e8 -> '150 MW'."""
    return _si(value_w, "W", _POWER)


def watt_hours(value_wh: float) -> str:
    """1.3e12 -> '1.3 TWh'."""
    return _si(value_wh, "Wh", ((1e12, "T"), *_POWER))


def tonnes(value_t: float) -> str:
    """CO2-equivalent tonnes: 540000 -> '540 thousand tonnes'."""
    return f"{number(value_t)} tonnes"


def flops(value: float) -> str:
    """3.8e25 -> '3.8 x 10^25 FLOP'."""
    if value <= 0:
        return "0 FLOP"
    exponent = math.floor(math.log10(value))
    mantissa = value / 10**exponent
    return f"{mantissa:.1f} × 10^{exponent} FLOP"


def flops_per_s(value: float) -> str:
    """Peak rates: 9.9e19 -> '99 exaFLOP/s'."""
    for scale, prefix in ((1e18, "exa"), (1e15, "peta"), (1e12, "tera")):
        if value >= scale:
            return f"{_three_digits(value / scale)} {prefix}FLOP/s"
    return f"{value:.3g} FLOP/s"


def days(value_days: float) -> str:
    if value_days >= 365.25 * 2:
        return f"{value_days / 365.25:.1f} years"
    return f"{value_days:,.1f} days"


def percent(fraction: float) -> str:
    return f"{fraction * 100:.0f}%"
