"""Command functions for the CLI, one module per topic; ``cli.py`` registers them."""
