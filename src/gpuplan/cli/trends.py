"""``gpuplan trends`` and ``gpuplan scaling-fit``: their flags; the work is in
:mod:`gpuplan.cli.trends_view`, imported when one of them runs (numpy and the fits are not
needed for ``gpuplan --help``).

Register with ``app.command()(trends)`` and ``app.command()(scaling_fit)`` (typer names the
second ``scaling-fit``). Bad input raises :class:`ScenarioError`; ``cli.main`` prints it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def trends(
    source: Annotated[
        str,
        typer.Option(help="'catalog' (the project's runs.yaml) or 'epoch:PATH' to an Epoch CSV."),
    ] = "catalog",
    since: Annotated[int, typer.Option(help="Fit runs published from this year.")] = 2010,
    until: Annotated[
        int | None, typer.Option(help="Fit runs published before this year (default: all).")
    ] = None,
    frontier: Annotated[
        bool,
        typer.Option(
            "--frontier/--all", help="Only frontier runs (top 10 by compute when published)."
        ),
    ] = True,
    project_to: Annotated[int | None, typer.Option(help="Project each trend to this year.")] = None,
    bootstrap: Annotated[
        int, typer.Option(min=1, help="Bootstrap resamples for the intervals.")
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Growth of training compute, chips, cost and power per year, with 90% intervals.

    Example: gpuplan trends --source epoch:notable_ai_models.csv --since 2010 --project-to 2030
    """
    from gpuplan.cli.trends_view import show_trends

    show_trends(
        source=source,
        since=since,
        until=until,
        frontier=frontier,
        project_to=project_to,
        bootstrap=bootstrap,
        seed=seed,
        as_json=as_json,
    )


def scaling_fit(
    file: Annotated[Path, typer.Argument(help="CSV with columns N, D, loss; one run a row.")],
    bootstrap: Annotated[
        int, typer.Option(min=0, help="Bootstrap resamples for the intervals.")
    ] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    starts: Annotated[
        int, typer.Option(min=1, help="L-BFGS starts: the best points of the 4,500-point grid.")
    ] = 32,
    level: Annotated[
        float, typer.Option(min=0.5, max=0.99, help="Confidence level of the intervals.")
    ] = 0.8,
    as_json: JsonFlag = False,
) -> None:
    """Fit L(N, D) = E + A/N^alpha + B/D^beta to your runs (Chinchilla approach 3).

    Example: gpuplan scaling-fit runs.csv --bootstrap 200 --seed 0
    """
    from gpuplan.cli.trends_view import show_scaling_fit

    show_scaling_fit(
        file=file, bootstrap=bootstrap, seed=seed, starts=starts, level=level, as_json=as_json
    )
