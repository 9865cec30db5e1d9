"""``gpuplan serve``: the web planner on a local port.

Register with ``app.command("serve")(serve)``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gpuplan.web.app import DEFAULT_HOST, DEFAULT_PORT


def serve(
    host: Annotated[
        str, typer.Option(help="Interface to listen on; 0.0.0.0 exposes it to the network.")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = DEFAULT_PORT,
) -> None:
    """Serve the interactive planner and its JSON API (/api/plan, /api/search, /api/check).

    Example: gpuplan serve --port 8000, then open http://127.0.0.1:8000/
    """
    import uvicorn  # imported here: the other commands do not need a web server

    from gpuplan.web.app import create_app

    typer.echo(f"gpuplan planner on http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")
