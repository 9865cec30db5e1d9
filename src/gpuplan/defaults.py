"""Defaults of the code (not numbers from the world) that the command line shows in its help.

They live in this module of the foundation layer, which imports nothing, so that building the
command line (``gpuplan --help``) does not import the modules that use them.
"""

from __future__ import annotations

DEFAULT_SEED = 20240723
"""Seed of the Monte Carlo unless told otherwise (the Llama 3 report's release date)."""

DEFAULT_SAMPLES = 1000
"""Monte Carlo samples of a scenario with ranges or distributions, unless told otherwise."""

DEFAULT_HOST = "127.0.0.1"
"""Interface ``gpuplan serve`` listens on: loopback only unless told otherwise."""

DEFAULT_PORT = 8000
"""TCP port of ``gpuplan serve``."""

DEFAULT_ROW_TIME_LIMIT_S = 120.0
"""Longest a single point of ``gpuplan sweep`` may take (a product limit: a plan search at
131,072 GPUs takes a few seconds); past it the point is an error row and the sweep goes on."""

DEFAULT_REPORT_FILE = "gpuplan-report.html"
"""Where ``gpuplan report`` writes its HTML file unless told otherwise."""
