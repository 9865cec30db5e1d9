"""A sweep's finished rows on disk, so that no finished work is lost and a rerun resumes.

Beside the output file ``OUT`` lies a folder ``OUT.parts``: one Parquet file per finished
chunk (written to a temporary name, then renamed, so a killed run never leaves half a part)
and ``sweep.json``, the fingerprint of the sweep (its base, swept values, mode and seed, and
the gpuplan version). A rerun of the same sweep skips the points already there; a folder of
another sweep is refused rather than mixed in. Once ``OUT`` is written the folder goes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpuplan import __version__
from gpuplan.errors import ScenarioError

if TYPE_CHECKING:
    from gpuplan.studies.sweep_spec import SweepSpec

FINGERPRINT_FILE = "sweep.json"


def fingerprint(spec: SweepSpec) -> str:
    """A digest of what decides the sweep's rows."""
    described = {
        "version": __version__,
        "mode": spec.mode.value,
        "seed": spec.seed,
        "base": spec.base,
        "values": spec.values,
    }
    text = json.dumps(described, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class PartStore:
    """The finished chunks of one sweep in ``folder``."""

    def __init__(self, folder: Path, digest: str) -> None:
        self.folder = folder
        self.digest = digest

    @classmethod
    def beside(cls, out: Path, spec: SweepSpec) -> PartStore:
        """The store of ``spec`` for the output file ``out`` (``OUT.parts``)."""
        return cls(out.with_name(out.name + ".parts"), fingerprint(spec))

    def open(self) -> None:
        """Create the folder, or check that the one there holds this sweep."""
        marker = self.folder / FINGERPRINT_FILE
        field = f"--out = '{self.folder}'"
        if self.folder.exists():
            try:
                found = json.loads(marker.read_text(encoding="utf-8")).get("fingerprint")
            except (OSError, ValueError, AttributeError):
                found = None
            if found != self.digest:
                raise ScenarioError(
                    field,
                    "holds the rows of another sweep (or another gpuplan version); delete it "
                    "or choose another --out",
                )
            return
        try:
            self.folder.mkdir()
            marker.write_text(json.dumps({"fingerprint": self.digest}), encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(field, f"cannot write: {exc.strerror or exc}") from None

    def finished(self) -> list[Any]:
        """The tables of the finished chunks (pyarrow), in no particular order."""
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        tables = []
        for part in sorted(self.folder.glob("part-*.parquet")):
            with contextlib.suppress(OSError, ValueError):  # unreadable: its rows rerun
                tables.append(pq.read_table(part))
        return tables

    def add(self, table: Any) -> None:
        """Save one finished chunk (atomically: a temporary file renamed)."""
        import pyarrow.parquet as pq

        first = table.column("point")[0].as_py()
        name = f"part-{first:010d}-{table.num_rows}.parquet"
        temporary = self.folder / (name + ".tmp")
        pq.write_table(table, temporary)
        os.replace(temporary, self.folder / name)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
