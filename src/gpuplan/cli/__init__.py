"""The command line: thin adapters that parse flags, call one library function, render."""

import gc
import os

# The command line runs OpenBLAS (numpy's, scipy's) on one thread unless told otherwise:
# starting its pool of threads costs ~50 ms of CPU at ``import numpy`` on the project's
# 2-core machine (issue 15, Speed: start-up), and the model does no large matrix products
# (its arrays are elementwise; a sweep runs its own worker processes).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

GC_THRESHOLDS = (100_000, 10, 10)
"""The cyclic garbage collector's thresholds for a command (Python's are 700, 10, 10): a
command allocates a few hundred thousand objects that live until it exits (modules, classes,
the catalog), which collecting every 700 allocations scans over and over (~20 ms of a 0.42 s
``plan`` with 700 while importing and 10,000 after; with 100,000 set before the imports, a
fixed-MFU ``plan`` makes no collection at all). The older generations still
follow every 10 collections of the younger, so a long-running ``serve`` or ``sweep`` still
collects its cycles."""


def main() -> None:
    """Console entry point (``gpuplan``, ``python -m gpuplan``): :func:`gpuplan.cli.app.main`
    with the collector's thresholds set before the command line is imported, and what the
    command built frozen when it ends, so that the collection Python makes at exit scans
    nothing (~20 ms of a ``plan``; the objects are freed all the same)."""
    gc.set_threshold(*GC_THRESHOLDS)
    from gpuplan.cli.compiled import compiled_texts

    try:
        with compiled_texts():  # before anything that makes dataclasses is imported
            from gpuplan.cli.app import main as run  # after the thread count is set

            run()
    finally:
        gc.freeze()


__all__ = ["GC_THRESHOLDS", "main"]
