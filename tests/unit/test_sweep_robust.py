"""Sweeps under faults (issue 15): a failing or slow row is an error row and the rest
survive; finished chunks are on disk as they complete and a rerun resumes; a dead worker
is one line with the finished rows kept; SIGTERM stops the workers, none left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pyarrow.parquet as pq
import pytest

from gpuplan.errors import ScenarioError
from gpuplan.studies import sweep_tasks
from gpuplan.studies.sweep import PartStore, SweepStopped, parse_sweep, run_sweep

BASE: dict[str, Any] = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64}
GRID: dict[str, Any] = {"site.pue": [1.1, 1.2, 1.3, 1.4], "prices.gpu_usd": [20_000, 30_000]}


def test_a_row_that_fails_is_an_error_row_and_the_others_survive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A point is planned in full unless it shares all but its site and prices with one that
    # was (studies.sweep_groups), so the failure is put where each GPU count is planned.
    real = sweep_tasks.plan_row

    def flaky(data: Any, *args: Any, **kwargs: Any) -> Any:
        if data["gpus"] == 128:
            raise ZeroDivisionError("float division by zero")
        return real(data, *args, **kwargs)

    monkeypatch.setattr(sweep_tasks, "plan_row", flaky)
    grid = {**GRID, "gpus": [64, 128], "hardware": ["h100-sxm", "no-such-gpu"]}
    rows = run_sweep(parse_sweep({"base": BASE, "grid": grid}), workers=1).table.to_pylist()
    assert len(rows) == 32
    for row in rows:
        if row["gpus"] == 128:
            assert row["error"].startswith("could not be planned (ZeroDivisionError")
        elif row["hardware"] == "no-such-gpu":
            assert "unknown accelerator 'no-such-gpu'" in row["error"]
        else:
            assert row["error"] is None and row["fits"] is True


def test_a_row_past_its_time_limit_is_an_error_row(monkeypatch: pytest.MonkeyPatch) -> None:
    real = sweep_tasks.plan_row

    def slow(data: Any, *args: Any, **kwargs: Any) -> Any:
        if data["gpus"] == 128:
            time.sleep(30)
        return real(data, *args, **kwargs)

    monkeypatch.setattr(sweep_tasks, "plan_row", slow)
    started = time.monotonic()
    spec = parse_sweep({"base": BASE, "grid": {**GRID, "gpus": [64, 128]}})
    rows = run_sweep(spec, workers=1, row_time_limit_s=0.5).table.to_pylist()
    assert time.monotonic() - started < 15  # eight slow rows cut at 0.5 s, not 240 s of sleep
    slow_rows = [r for r in rows if r["gpus"] == 128]
    assert [r["error"] for r in slow_rows] == ["took longer than the row time limit of 0.5 s"] * 8
    assert all(r["error"] is None for r in rows if r["gpus"] != 128)


def test_finished_chunks_are_on_disk_and_a_rerun_resumes(tmp_path: Path) -> None:
    spec = parse_sweep({"base": BASE, "grid": GRID})
    store = PartStore.beside(tmp_path / "out.parquet", spec)
    store.open()
    seen: list[int] = []

    def stop_after_two_chunks(phase: str, done: int, total: int) -> None:
        seen.append(done)
        assert len(list(store.folder.glob("part-*.parquet"))) == len(seen)  # written at once
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, workers=1, chunk_size=2, store=store, progress=stop_after_two_chunks)
    assert sum(t.num_rows for t in store.finished()) == 4
    resumed = run_sweep(spec, workers=1, chunk_size=2, store=store)
    assert resumed.metadata["resumed_rows"] == 4
    fresh = run_sweep(spec, workers=1)
    assert resumed.table.column("point").to_pylist() == list(range(8))
    for name in ("site.pue", "prices.gpu_usd", "cost.gpu_capex_usd", "run.days"):
        assert resumed.table.column(name).to_pylist() == fresh.table.column(name).to_pylist()


def test_a_store_of_another_sweep_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    PartStore.beside(out, parse_sweep({"base": BASE, "grid": GRID})).open()
    other = parse_sweep({"base": BASE, "grid": {"site.pue": [1.5]}})
    with pytest.raises(ScenarioError, match="holds the rows of another sweep"):
        PartStore.beside(out, other).open()


def _tracker(process: psutil.Process) -> bool:
    try:
        return any("resource_tracker" in part for part in process.cmdline())
    except psutil.Error:
        return False


def _dead_unreaped(process: psutil.Process, timeout_s: float = 10.0) -> None:
    """Wait until ``process`` has died, without reaping it: the pool that started it must
    reap it (psutil's wait() would, and the pool's manager thread then polls a pid that is
    gone, forever, at interpreter exit: a CI run that never ends)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.01)


def test_a_killed_worker_is_one_line_and_the_finished_rows_stay(tmp_path: Path) -> None:
    grid = {"site.pue": [1.1 + 0.01 * i for i in range(40)], "gpus": [64, 128]}
    spec = parse_sweep({"base": BASE, "grid": grid})
    store = PartStore.beside(tmp_path / "out.parquet", spec)
    store.open()
    me = psutil.Process()
    before = {child.pid for child in me.children()}  # other tests' helpers

    def started_here() -> list[psutil.Process]:
        """Children the sweep started, without multiprocessing's resource tracker."""
        return [c for c in me.children() if c.pid not in before and not _tracker(c)]

    killed: list[int] = []

    def kill_a_worker(phase: str, done: int, total: int) -> None:
        if phase == "planning" and not killed:
            workers = started_here()
            if workers:
                try:
                    workers[0].kill()  # a worker this test's sweep started, once
                except psutil.NoSuchProcess:  # it ended (and was reaped) since listed
                    return
                killed.append(workers[0].pid)
                _dead_unreaped(workers[0])

    with pytest.raises(SweepStopped, match=r"a worker process died .* after \d+ of 80 rows"):
        run_sweep(spec, workers=2, chunk_size=2, store=store, progress=kill_a_worker)
    assert 0 < sum(t.num_rows for t in store.finished()) < 80
    assert started_here() == []


def test_sigterm_stops_the_sweep_and_its_workers(tmp_path: Path) -> None:
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(
        "base: {model: llama3-8b, hardware: h100-sxm, gpus: 64}\n"
        "grid: {gpus: [64, 128, 256, 512, 1024, 2048, 4096, 8192], "
        "site.pue: [1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0]}\n"
    )
    out = tmp_path / "out.parquet"
    gpuplan = Path(sys.executable).with_name("gpuplan")
    command = [str(gpuplan), "sweep", str(sweep_file), "--out", str(out), "--workers", "2",
               "--chunk-size", "1", "--quiet"]  # fmt: skip
    sweep = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    parent = psutil.Process(sweep.pid)
    try:
        deadline = time.monotonic() + 60
        while len(parent.children()) < 2:  # both workers started
            assert time.monotonic() < deadline and sweep.poll() is None, "no workers started"
            time.sleep(0.1)
        workers = parent.children()
        time.sleep(1.0)
        sweep.send_signal(signal.SIGTERM)
        _, stderr = sweep.communicate(timeout=30)
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.communicate()
    assert sweep.returncode == 130, stderr
    text = stderr.decode()
    assert "Traceback" not in text
    assert "sweep stopped by a signal" in text and "run the same command again" in text
    psutil.wait_procs(workers, timeout=10)
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]
    assert (tmp_path / "out.parquet.parts").is_dir()
    if out.exists():
        assert 0 < pq.read_table(out).num_rows < 80


def test_the_cli_resumes_and_then_removes_the_parts(tmp_path: Path) -> None:
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(f"base: {BASE}\ngrid: {GRID}\n")
    out = tmp_path / "out.csv"
    spec = parse_sweep({"base": BASE, "grid": GRID})
    store = PartStore.beside(out, spec)
    store.open()
    run_first = run_sweep(spec, workers=1, chunk_size=4, store=store)
    for part in sorted(store.folder.glob("part-*"))[1:]:
        part.unlink()  # as if stopped after the first chunk
    gpuplan = Path(sys.executable).with_name("gpuplan")
    done = subprocess.run(
        [str(gpuplan), "sweep", str(sweep_file), "--out", str(out), "--json", "--quiet"],
        capture_output=True,
        env={**os.environ},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert b'"resumed_rows": 4' in done.stdout
    assert not store.folder.exists()
    assert out.read_text().count("\n") == run_first.scenarios + 1


def test_a_dead_worker_is_seen_even_when_the_pool_misses_it() -> None:
    # The pool's own manager thread can hang reading a result a killed worker half sent;
    # the sweep's wait checks its workers itself (sweep_tasks._a_worker_died).
    from types import SimpleNamespace

    from gpuplan.studies.sweep_tasks import _a_worker_died

    alive, dead = SimpleNamespace(exitcode=None), SimpleNamespace(exitcode=-9)
    assert not _a_worker_died(SimpleNamespace(_processes={1: alive}))  # type: ignore[arg-type]
    assert _a_worker_died(SimpleNamespace(_processes={1: alive, 2: dead}))  # type: ignore[arg-type]
    assert not _a_worker_died(SimpleNamespace(_processes=None))  # type: ignore[arg-type]


def test_an_aborted_local_sweep_closes_its_result_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    # A manager thread reading a killed worker's half-sent result only ends when every
    # writer of the result pipe is closed; the pool drops its reference to the queue in
    # shutdown(), so close() must take the writer before (a make test run hung at exit,
    # joining that thread, when it read it after).
    from concurrent.futures import ProcessPoolExecutor

    from gpuplan.studies import sweep_tasks

    writers: list[Any] = []

    class Recorded(ProcessPoolExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            writers.append(self._result_queue._writer)  # type: ignore[attr-defined]

    monkeypatch.setattr(sweep_tasks, "ProcessPoolExecutor", Recorded)
    _, _, close = sweep_tasks.executor(None, 1)
    close(True)
    assert len(writers) == 1 and writers[0].closed
