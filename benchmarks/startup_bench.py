"""Start-up of the command line (issue 15, Speed): CPU seconds of a whole command.

Targets on the project's 2-core machine: ``gpuplan --help`` <= 0.25 s and ``gpuplan plan``
with a fixed MFU <= 0.4 s of CPU (user + system of the child process, median of several runs:
CPU time is steadier than wall time on a shared machine). Each is run twice: with the
bytecode that ``make install`` compiles, and without it (``-X pycache_prefix`` at an empty
folder: every import compiles its source, as before ``--compile-bytecode``). The user cache
(:func:`gpuplan.defaults.cache_dir`: the parsed catalog files, the CLI's flag table and the
compiled dataclass methods and annotations) is a fresh folder, warmed by one untimed run,
for the main figures; the ``no cache`` column turns it off (``GPUPLAN_CACHE_DIR=``), as a
first run after an edit or on a read-only home.

Run: ``python benchmarks/startup_bench.py [--repeats N] [--baseline PATH/TO/.venv/bin/python]``;
``--baseline`` times another checkout's interpreter (e.g. main's) in the same run, with its
own user cache warmed the same way (a cache is keyed on the checkout's paths).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile

COMMANDS = (
    ("gpuplan --help", ["--help"], 0.25),
    (
        "gpuplan plan (405B, 16,384 H100, --mfu 0.4)",
        ["plan", "--model", "llama3-405b", "--hardware", "h100-sxm", "--gpus", "16384",
         "--mfu", "0.4"],
        0.4,
    ),
)  # fmt: skip


CACHE = {"GPUPLAN_CACHE_DIR": ""}
"""The child's cache folder; main() points it at a fresh temporary folder."""


def cpu_seconds(python: str, args: list[str], extra: list[str], cache: str | None = None) -> float:
    """User + system CPU seconds of one ``python -m gpuplan ARGS`` child process."""
    env = {**os.environ, "COLUMNS": "100", "GPUPLAN_CACHE_DIR": CACHE["GPUPLAN_CACHE_DIR"]}
    if cache is not None:
        env["GPUPLAN_CACHE_DIR"] = cache
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([python, *extra, "-m", "gpuplan", *args], check=True,
                   stdout=subprocess.DEVNULL, env=env)  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_cpu(
    python: str, args: list[str], extra: list[str], repeats: int, cache: str | None = None
) -> float:
    return statistics.median(cpu_seconds(python, args, extra, cache) for _ in range(repeats))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--baseline", help="another checkout's python, timed the same way")
    args = parser.parse_args(argv)
    print(f"{'start-up, CPU s (median)':44s} {'bytecode':>9s} {'no pyc':>8s} {'no cache':>9s}"
          f" {'target':>7s}" + (f" {'baseline':>9s}" if args.baseline else ""))  # fmt: skip
    with (
        tempfile.TemporaryDirectory() as empty,
        tempfile.TemporaryDirectory() as cache,
        tempfile.TemporaryDirectory() as base_cache,  # the baseline's own, warmed the same way
    ):
        CACHE["GPUPLAN_CACHE_DIR"] = cache
        for name, command, target in COMMANDS:
            cpu_seconds(sys.executable, command, [])  # warms the cache, untimed
            if args.baseline:
                cpu_seconds(args.baseline, command, [], cache=base_cache)  # untimed
            mine: list[float] = []
            theirs: list[float] = []
            for _ in range(args.repeats):  # interleaved: a change in the machine's load hits both
                mine.append(cpu_seconds(sys.executable, command, []))
                if args.baseline:
                    theirs.append(cpu_seconds(args.baseline, command, [], cache=base_cache))
            warm = statistics.median(mine)
            cold = median_cpu(sys.executable, command, ["-X", f"pycache_prefix={empty}"], 3)
            uncached = median_cpu(sys.executable, command, [], 3, cache="")
            line = f"{name:44s} {warm:9.3f} {cold:8.3f} {uncached:9.3f} {target:7.2f}"
            if args.baseline:
                base = statistics.median(theirs)
                line += f" {base:9.3f} ({base / warm:.1f}x)"
            print(line + ("" if warm <= target else "  MISS"))


if __name__ == "__main__":
    main()
