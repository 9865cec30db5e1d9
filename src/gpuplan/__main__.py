"""python -m gpuplan: the same as the gpuplan command."""

from gpuplan.cli.app import main

main()
