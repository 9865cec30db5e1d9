"""A live planner in a background thread for the server tests (loopback, a free port)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import uvicorn

RequestResult = tuple[int, dict[str, str], bytes, float]


@contextlib.contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 at a free port until the block ends; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def request(
    url: str, body: Any = None, *, headers: dict[str, str] | None = None, timeout_s: float = 60
) -> RequestResult:
    """(status, headers, body, seconds) of a GET (no body) or a JSON POST."""
    data = None if body is None else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    req = urllib.request.Request(url, data=data, headers=sent)
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as response:
            got = (response.status, _lower(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        got = (exc.code, _lower(exc.headers), exc.read())
    return (*got, time.perf_counter() - start)


def _lower(headers: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}
