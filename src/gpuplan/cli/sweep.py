"""``gpuplan sweep``: many scenarios into a Parquet (or CSV) file; a thin adapter.

Register with ``app.command("sweep")(sweep)``. Bad input raises :class:`ScenarioError`;
``cli.main`` prints it as one line and exits 2.

Finished rows are saved as they complete in ``OUT.parts`` (see
:mod:`gpuplan.studies.sweep_store`); rerunning the same command resumes from them. SIGTERM
and Ctrl-C stop the workers, write the rows finished so far to ``OUT`` and exit 130; a worker
that dies does the same with one line and exit 2.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from gpuplan.cli.writes import check_writable, write_safely
from gpuplan.defaults import DEFAULT_ROW_TIME_LIMIT_S
from gpuplan.errors import ScenarioError

if TYPE_CHECKING:
    from gpuplan.studies.sweep import PartStore, SweepResult, SweepSpec

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


@contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """SIGTERM is handled as Ctrl-C (KeyboardInterrupt) while the sweep runs."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _keep_finished(spec: SweepSpec, store: PartStore, out: Path, why: str, code: int) -> None:
    """Write the rows finished so far to ``out``, say so in one line, and exit ``code``."""
    from gpuplan.studies.sweep import SweepResult, assemble, metadata

    tables = store.finished()
    rows = sum(t.num_rows for t in tables)
    partial = SweepResult(assemble(spec, tables), "stopped", 0, len(tables), 0, 0.0,
                          metadata(spec) | {"complete": False})  # fmt: skip
    if rows:
        _write(partial, out)
    typer.echo(
        f"gpuplan: {why}; {rows:,} of {spec.size:,} rows are finished (in {out} and "
        f"{store.folder}); run the same command again to resume",
        err=True,
    )
    raise typer.Exit(code)


def _run(spec: SweepSpec, quiet: bool, **options: Any) -> SweepResult:
    """:func:`gpuplan.studies.sweep.run_sweep` with a progress bar; SIGTERM stops it as Ctrl-C
    does (imported here: not for ``gpuplan --help``)."""
    from rich.progress import Progress, TaskID

    from gpuplan.studies.sweep import run_sweep

    tasks: dict[str, TaskID] = {}
    with Progress(console=Console(stderr=True), disable=quiet) as bar, _stopped_by_signals():

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done)

        return run_sweep(spec, progress=progress, **options)


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
        "resumed_rows": result.metadata.get("resumed_rows", 0),
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
    row_timeout: Annotated[
        float, typer.Option(min=0.01, help="Seconds one scenario may take; past it, an error row.")
    ] = DEFAULT_ROW_TIME_LIMIT_S,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Plan every scenario of a grid or random sweep; one row each, as Parquet (or CSV).

    Example: gpuplan sweep sweep.yaml --out results.parquet --workers 2
    """
    from gpuplan.studies.sweep import PartStore, SweepStopped, load_sweep_file

    check_writable(out, "--out", OUT_SUFFIXES)
    spec = load_sweep_file(sweep_file, samples=samples, seed=seed)
    store = PartStore.beside(out, spec)
    store.open()
    client = None if scheduler is None else _client(scheduler)
    try:
        result = _run(spec, quiet, workers=workers, client=client, chunk_size=chunk_size,
                      row_time_limit_s=row_timeout, store=store)  # fmt: skip
    except KeyboardInterrupt:
        _keep_finished(spec, store, out, "sweep stopped by a signal", 130)
    except SweepStopped as exc:
        _keep_finished(spec, store, out, f"sweep stopped: {exc}", 2)
    finally:
        if client is not None:
            client.close()
    _write(result, out)
    store.remove()
    _show(spec, _summary(result, out), as_json)


def _show(spec: SweepSpec, summary: dict[str, object], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        return
    from rich.table import Table

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
