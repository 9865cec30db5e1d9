"""SI constants and unit conversions. Nothing else lives here.

Inside gpuplan every quantity is SI (seconds, bytes, FLOP, watts, joules, US dollars).
Data files may use human units only when the key says so (``hbm_gib``, ``tdp_w``,
``hbm_tb_per_s``); they are converted once, when the catalog is loaded.
Decimal and binary prefixes have different names: ``GB = 10**9`` but ``GiB = 2**30``.
"""

from __future__ import annotations

# Decimal (SI) prefixes.
KILO = 1e3
MEGA = 1e6
GIGA = 1e9
TERA = 1e12
PETA = 1e15

# Bytes.
KB = 10**3
MB = 10**6
GB = 10**9
TB = 10**12
KiB = 2**10
MiB = 2**20
GiB = 2**30
TiB = 2**40

# Time.
MINUTE_S = 60.0
HOUR_S = 3600.0
DAY_S = 86400.0
DAYS_PER_YEAR = 365.25  # Julian year, as Epoch AI's cost code uses
YEAR_S = DAYS_PER_YEAR * DAY_S
HOURS_PER_YEAR = DAYS_PER_YEAR * 24.0

# Energy.
KWH_J = 3.6e6
MWH_J = 3.6e9
GWH_J = 3.6e12

# Mass.
TONNE_KG = 1000.0


def tflops_to_flops_per_s(tflops: float) -> float:
    """TFLOP/s (10^12) to FLOP/s."""
    return tflops * TERA


def gb_per_s_to_bytes_per_s(gb_per_s: float) -> float:
    """GB/s (10^9 B/s) to B/s."""
    return gb_per_s * GB


def joules_to_kwh(energy_j: float) -> float:
    return energy_j / KWH_J


def joules_to_mwh(energy_j: float) -> float:
    return energy_j / MWH_J
