"""``gpuplan serve``: the web planner on a local port.

Register with ``app.command("serve")(serve)``. A port that is taken is a ScenarioError.
"""

from __future__ import annotations

import errno
import socket
from typing import Annotated

import typer

from gpuplan.defaults import DEFAULT_HOST, DEFAULT_PORT
from gpuplan.errors import ScenarioError


def _check_port(host: str, port: int) -> None:
    """Bind the address once before the banner: a port that is taken (or a host that is not
    this machine's) is one line and exit 2, not a banner and then uvicorn's failure."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.create_server((host, port), family=family):
            pass
    except OSError as exc:
        if isinstance(exc, socket.gaierror):
            raise ScenarioError(f"--host = {host!r}", f"unknown host: {exc.strerror}") from None
        if exc.errno == errno.EADDRINUSE:
            why = f"port {port} is already in use on {host}; choose another with --port"
        else:
            why = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        raise ScenarioError(f"--port = {port}", why) from None


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

    _check_port(host, port)
    typer.echo(f"gpuplan planner on http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")
