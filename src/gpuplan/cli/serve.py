"""``gpuplan serve``: the web planner on a local port.

Register with ``app.command("serve")(serve)``. A port that is taken is a ScenarioError.
SIGTERM and Ctrl-C stop the server: requests in progress get a few seconds
(:data:`SHUTDOWN_GRACE_S`), running plan work ends at its next search, and the worker
threads never hold the process open.
"""

from __future__ import annotations

import errno
from typing import Annotated

import typer

from gpuplan.defaults import DEFAULT_HOST, DEFAULT_PORT
from gpuplan.errors import ScenarioError

SHUTDOWN_GRACE_S = 5
"""Seconds open requests get to finish once the server is told to stop."""


def _check_port(host: str, port: int) -> None:
    """Bind the address once before the banner: a port that is taken (or a host that is not
    this machine's) is one line and exit 2, not a banner and then uvicorn's failure."""
    import socket  # imported here, as the server: not for every command

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.create_server((host, port), family=family):
            pass
    except OSError as exc:
        # create_server re-raises a name lookup's gaierror as an OSError of its (negative) errno
        reason = str(exc.strerror or exc).split(" (while attempting")[0]
        if isinstance(exc, socket.gaierror) or (exc.errno or 0) < 0:
            raise ScenarioError(f"--host = {host!r}", f"unknown host: {reason}") from None
        if exc.errno == errno.EADDRNOTAVAIL:  # a name or address that is not this machine's
            raise ScenarioError(
                f"--host = {host!r}",
                f"not an address of this machine ({reason}); allowed: 127.0.0.1 (this machine "
                "only), 0.0.0.0 (every interface) or an address of one of its interfaces",
            ) from None
        if exc.errno == errno.EADDRINUSE:
            why = f"port {port} is already in use on {host}; choose another with --port"
        else:
            why = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        raise ScenarioError(f"--port = {port}", why) from None


def _check_names(host: str, allow_host: list[str]) -> None:
    """An empty --host listened on every interface (as 0.0.0.0, not asked for) under a banner
    of http://:8000/; an empty --allow-host let requests without a Host name through."""
    if not host.strip():
        raise ScenarioError(
            f"--host = {host!r}", "give an interface: 127.0.0.1 (this machine only) or 0.0.0.0"
        )
    for name in allow_host:
        if not name.strip():
            raise ScenarioError(f"--allow-host = {name!r}", "give a host name, e.g. planner.lan")


def serve(
    host: Annotated[
        str, typer.Option(help="Interface to listen on; 0.0.0.0 exposes it to the network.")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = DEFAULT_PORT,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            help="A Host name to answer besides localhost and --host (repeatable), e.g. the "
            "machine's name when serving on 0.0.0.0; other names are refused (DNS rebinding)."
        ),
    ] = None,
) -> None:
    """Serve the interactive planner and its JSON API (/api/plan, /api/search, /api/check).

    Example: gpuplan serve --port 8000, then open http://127.0.0.1:8000/
    """
    _check_names(host, allow_host or [])
    import threading

    import uvicorn  # imported here: the other commands do not need a web server

    from gpuplan.web.app import create_app
    from gpuplan.web.work import stop_all

    _check_port(host, port)
    app = create_app(host=host, allow_hosts=allow_host or ())
    # The first charts need the seed clusters planned (seconds): start now, answer at once.
    threading.Thread(target=app.state.planner.warm, name="gpuplan-warm", daemon=True).start()
    typer.echo(f"gpuplan planner on http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        )
    finally:
        stop_all()
