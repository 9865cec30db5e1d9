"""``gpuplan sweep``: many scenarios into a Parquet (or CSV) file; a thin adapter.

Register with ``app.command("sweep")(sweep)``. Bad input raises :class:`ScenarioError`;
``cli.main`` prints it as one line and exits 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from gpuplan.cli.writes import check_writable, write_safely
from gpuplan.errors import ScenarioError

if TYPE_CHECKING:
    from gpuplan.studies.sweep import SweepResult, SweepSpec

console = Console()
OUT_SUFFIXES = (".parquet", ".csv")
OutOption = Annotated[
    Path, typer.Option(help="File to write: .parquet, or .csv for a plain table.")
]


def _client(scheduler: str) -> Any:
    """A Dask client of the scheduler at this address, or a ScenarioError saying why not."""
    try:
        from distributed import Client
    except ImportError:
        raise ScenarioError(
            f"--scheduler = {scheduler!r}", "needs dask[distributed]: install gpuplan[sweep]"
        ) from None
    try:
        return Client(scheduler, timeout="20s")  # type: ignore[no-untyped-call]
    except OSError as exc:
        raise ScenarioError(f"--scheduler = {scheduler!r}", f"cannot connect: {exc}") from None


def load_sweep_file(path: Path, *, samples: int | None, seed: int | None) -> SweepSpec:
    """gpuplan.studies.sweep's, imported when a sweep runs (not for ``gpuplan --help``)."""
    from gpuplan.studies import sweep as studies

    return studies.load_sweep_file(path, samples=samples, seed=seed)


def run_sweep(spec: SweepSpec, **options: Any) -> SweepResult:
    """gpuplan.studies.sweep's, imported when a sweep runs (not for ``gpuplan --help``)."""
    from gpuplan.studies import sweep as studies

    return studies.run_sweep(spec, **options)


def _write(result: SweepResult, out: Path) -> None:
    """Parquet, or CSV by the extension; a failed write keeps the rows in a temporary file."""
    csv = out.suffix.lower() == ".csv"
    write_safely(result.write_csv if csv else result.write_parquet, out, "--out")


def _summary(result: SweepResult, out: Path) -> dict[str, object]:
    return {
        "out": str(out),
        "scenarios": result.scenarios,
        **result.counts(),
        "searches": result.searches,
        "backend": result.backend,
        "workers": result.workers,
        "chunks": result.chunks,
        "elapsed_s": result.elapsed_s,
        "scenarios_per_s": result.scenarios_per_s,
        "seed": result.metadata.get("seed"),
        "notes": result.metadata.get("notes", []),
    }


def sweep(
    sweep_file: Annotated[
        Path, typer.Argument(help="Sweep YAML: a base scenario and grid: or random:.")
    ],
    out: OutOption = Path("results.parquet"),
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local worker processes (default: CPU count).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786."),
    ] = None,
    chunk_size: Annotated[
        int | None, typer.Option(min=1, help="Scenarios per task (default: automatic).")
    ] = None,
    samples: Annotated[
        int | None, typer.Option(min=1, help="Samples of a random sweep (overrides the file).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(min=0, help="Seed of a random sweep (overrides the file).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Plan every scenario of a grid or random sweep; one row each, as Parquet (or CSV).

    Example: gpuplan sweep sweep.yaml --out results.parquet --workers 2
    """
    check_writable(out, "--out", OUT_SUFFIXES)
    spec = load_sweep_file(sweep_file, samples=samples, seed=seed)
    client = None if scheduler is None else _client(scheduler)
    tasks: dict[str, TaskID] = {}
    try:
        with Progress(console=Console(stderr=True), disable=quiet) as bar:

            def progress(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(phase, total=total)
                bar.update(tasks[phase], completed=done)

            result = run_sweep(
                spec, workers=workers, client=client, chunk_size=chunk_size, progress=progress
            )
    finally:
        if client is not None:
            client.close()
    _write(result, out)
    summary = _summary(result, out)
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        return
    view = Table(title=f"sweep: {spec.size:,} scenarios ({spec.mode.value})", show_header=False)
    view.add_column("", style="bold")
    view.add_column("")
    for key, value in summary.items():
        if key == "notes" or value is None:
            continue
        shown = f"{value:,.1f}" if isinstance(value, float) else str(value)
        view.add_row(key.replace("_", " "), shown)
    console.print(view)
    for note in spec.notes:
        console.print(f"• {note}")
