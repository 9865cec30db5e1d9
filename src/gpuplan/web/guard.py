"""The server's outer wall, as plain ASGI middleware around the app.

- The ``Host`` header must name this machine (``localhost``, a loopback address), the host
  the server was bound to, or one allowed with ``--allow-host``: a DNS-rebinding page, which
  sends its own name, gets 400 and never reaches the API.
- A request body larger than :attr:`Limits.max_body_bytes` is refused with 413 (by its
  ``Content-Length`` before a byte is read, or as soon as a chunked body passes the limit),
  never read whole, never echoed.
- A JSON body that names a key twice in one object is refused with 422 (JSON parsers keep
  the last silently: ``{"gpus": 8, "gpus": 16}`` would plan on 16), as the scenario files are.
- Every response carries security headers (a Content-Security-Policy that allows only this
  origin's scripts and styles, no framing, no MIME sniffing, no referrer).
- An unexpected exception becomes a JSON 500 with one line and no traceback (the server's
  log keeps the traceback).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from gpuplan.errors import shorten
from gpuplan.scenario.files import Refused, json_object_once
from gpuplan.web.limits import LOCAL_HOSTS, Limits

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("gpuplan.web")

SECURITY_HEADERS = (
    (
        b"content-security-policy",
        # Plotly sets element styles from script ('unsafe-inline' for styles only); no
        # inline or remote script runs, nothing may frame the page.
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        b"form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def host_name(header: str) -> str:
    """The name of a Host header, without the port: 'localhost:8000' -> 'localhost',
    '[::1]:8000' -> '::1'.

    >>> host_name("[::1]:8000"), host_name("Example.COM."), host_name("127.0.0.1")
    ('::1', 'example.com', '127.0.0.1')
    """
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0].rstrip(".") if ":" in header else header.rstrip(".")


def allowed_hosts(bound: str | None, extra: Iterable[str] = ()) -> frozenset[str]:
    """Loopback names, the bound host (unless a wildcard) and the extra names."""
    names = set(LOCAL_HOSTS) | {host_name(h) for h in extra}
    if bound and bound not in ("0.0.0.0", "::", ""):
        names.add(host_name(bound if ":" not in bound else f"[{bound}]"))
    return frozenset(names)


def _json(status: int, msg: str, kind: str) -> tuple[int, bytes]:
    return status, json.dumps({"detail": [{"loc": [], "msg": msg, "type": kind}]}).encode()


class Guard:
    """ASGI middleware: Host check, body limit, security headers, JSON 500."""

    def __init__(self, app: ASGIApp, limits: Limits, hosts: frozenset[str]) -> None:
        self.app = app
        self.limits = limits
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await _respond(send, *refusal)
            return
        body = await self._read_body(receive)
        if body is None:
            await _respond(send, *self._too_large())
            return
        repeated = _repeated_key(body)
        if repeated is not None:
            await _respond(send, *_json(422, f"body: {repeated}", "repeated_key"))
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        try:
            await self.app(scope, _replay(body, receive), send_with_headers)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await _respond(send, *internal_error())

    def _refusal(self, scope: Scope) -> tuple[int, bytes] | None:
        headers = dict(scope.get("headers", []))
        host = host_name(headers.get(b"host", b"").decode("latin-1"))
        if host not in self.hosts:
            shown = shorten(host, 60)
            return _json(
                400,
                f"Host {shown!r} is not allowed (DNS-rebinding guard); allowed: "
                f"{', '.join(sorted(self.hosts))}; start the server with --allow-host {shown}",
                "host_not_allowed",
            )
        length = headers.get(b"content-length", b"0").decode("latin-1").strip()
        if not (length.isascii() and length.isdigit()):  # '²' is a digit to str.isdigit
            return _json(400, "Content-Length must be a whole number of bytes", "bad_request")
        if int(length) > self.limits.max_body_bytes:
            return self._too_large()
        return None

    def _too_large(self) -> tuple[int, bytes]:
        limit = self.limits.max_body_bytes
        return _json(
            413, f"request body is larger than the limit of {limit:,} bytes", "body_too_large"
        )

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None past the limit (reading stops there)."""
        limit = self.limits.max_body_bytes
        parts: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(parts)  # the client went away; the app will see it
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                return None
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)


def _repeated_key(body: bytes) -> str | None:
    """Why a JSON body is refused for naming a key twice, or None (no body, no such key, or
    not JSON at all: the app's own parser says why)."""
    if not body.strip():
        return None
    try:
        json.loads(body, object_pairs_hook=json_object_once)
    except Refused as exc:
        return str(exc)
    except (ValueError, RecursionError):
        return None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body read already, then waits as the server's does."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def internal_error() -> tuple[int, bytes]:
    """The JSON 500: one line, no traceback."""
    return _json(500, _INTERNAL, "internal_error")


_INTERNAL = "internal error: the server could not answer this request (its log has the details)"


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *SECURITY_HEADERS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
