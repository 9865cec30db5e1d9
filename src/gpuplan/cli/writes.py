"""Output files of the commands: checked before the work, and never lost to a write error.

:func:`check_writable` runs first (a missing folder or a wrong extension is refused before
minutes of planning); :func:`write_safely` writes at the end, and when the write still fails
(a full disk, ``/dev/full``) it saves the finished work to a temporary file and says where.
Both raise :class:`ScenarioError` naming the option, the path and what is wrong.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from gpuplan.errors import ScenarioError

HTML_SUFFIXES = (".html", ".htm")
"""What the HTML report may be named (report -o x.pdf wrote HTML under a PDF's name)."""


def check_writable(
    path: Path, option: str, suffixes: tuple[str, ...] = (), *, create_folders: bool = False
) -> None:
    """Refuse, before any work, a path that cannot be written (or has another extension
    than ``suffixes``, when given). With ``create_folders`` the writer makes missing
    folders, so the nearest existing one must be writable."""
    field = f"{option} = '{path}'"
    device = path.exists() and not path.is_file() and not path.is_dir()  # /dev/stdout
    if suffixes and path.suffix.lower() not in suffixes and not device:
        allowed = ", ".join(suffixes)
        raise ScenarioError(field, f"unsupported extension; allowed: {allowed}")
    folder = path.parent
    if path.is_dir():
        raise ScenarioError(field, "is a folder; give a file name")
    if create_folders:
        while not folder.exists() and folder != folder.parent:
            path, folder = folder, folder.parent
    if not folder.is_dir():
        raise ScenarioError(field, f"folder {folder} does not exist (or is not a folder)")
    if path.exists() and not os.access(path, os.W_OK):
        raise ScenarioError(field, "is not writable")
    if not path.exists() and not os.access(folder, os.W_OK | os.X_OK):
        raise ScenarioError(field, f"cannot create a file in {folder} (permission denied)")


def write_safely(write: Callable[[Path], object], path: Path, option: str) -> None:
    """``write(path)``; if it fails, ``write`` to a temporary file instead and raise a
    ScenarioError that names both (the work is kept)."""
    try:
        write(path)
        return
    except OSError as exc:
        why = exc.strerror or str(exc)
    handle, spare = tempfile.mkstemp(prefix="gpuplan-", suffix=path.suffix)
    os.close(handle)
    try:
        write(Path(spare))
    except OSError:
        os.unlink(spare)
        raise ScenarioError(f"{option} = '{path}'", f"cannot write: {why}") from None
    raise ScenarioError(
        f"{option} = '{path}'", f"cannot write: {why}; the result was saved to {spare}"
    )
