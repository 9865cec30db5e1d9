"""The command line: thin adapters that parse flags, call one library function, render."""

from gpuplan.cli.app import app, main

__all__ = ["app", "main"]
