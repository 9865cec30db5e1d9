"""Running the ``gpuplan`` command as a user does: a child process, a fixed terminal width
and a bare PATH (no tool installed by hand is found), output captured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_gpuplan(
    *args: str, timeout_s: float, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m gpuplan ARGS``, killed after ``timeout_s`` (a hang fails the test)."""
    return subprocess.run(
        [sys.executable, "-m", "gpuplan", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=cwd,
        env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"},
    )
