"""The command line: thin adapters that parse flags, call one library function, render."""

import os

# The command line runs OpenBLAS (numpy's, scipy's) on one thread unless told otherwise:
# starting its pool of threads costs ~50 ms of CPU at ``import numpy`` on the project's
# 2-core machine (issue 15, Speed: start-up), and the model does no large matrix products
# (its arrays are elementwise; a sweep runs its own worker processes).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from gpuplan.cli.app import app, main  # after the thread count is set

__all__ = ["app", "main"]
