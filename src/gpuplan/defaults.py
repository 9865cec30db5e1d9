"""Defaults of the code (not numbers from the world) that the command line shows in its help.

They live in this module of the foundation layer, which imports nothing, so that building the
command line (``gpuplan --help``) does not import the modules that use them.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SEED = 20240723
"""Seed of the Monte Carlo unless told otherwise (the Llama 3 report's release date)."""

DEFAULT_SAMPLES = 1000
"""Monte Carlo samples of a scenario with ranges or distributions, unless told otherwise."""

MAX_SAMPLES = 100_000
"""Most Monte Carlo samples (or bootstrap resamples) one question may ask for: 1,000 take about
a second; 1e11 asked numpy for terabytes and ended in a MemoryError traceback."""

DEFAULT_HOST = "127.0.0.1"
"""Interface ``gpuplan serve`` listens on: loopback only unless told otherwise."""

DEFAULT_PORT = 8000
"""TCP port of ``gpuplan serve``."""

DEFAULT_ROW_TIME_LIMIT_S = 120.0
"""Longest a single point of ``gpuplan sweep`` may take (a product limit: a plan search at
131,072 GPUs takes a few seconds); past it the point is an error row and the sweep goes on."""

DEFAULT_REPORT_FILE = "gpuplan-report.html"
"""Where ``gpuplan report`` writes its HTML file unless told otherwise."""


def cache_dir() -> Path | None:
    """Where gpuplan keeps what it can recompute (parsed catalog files, the CLI's flag table,
    the CLI's compiled dataclass methods and annotations):
    ``$GPUPLAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/gpuplan``, else ``~/.cache/gpuplan``; None
    when ``GPUPLAN_CACHE_DIR`` is set empty (no cache)."""
    given = os.environ.get("GPUPLAN_CACHE_DIR")
    if given is not None:
        return Path(given) if given else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gpuplan"
