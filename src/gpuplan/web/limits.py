"""The web server's product limits: how much work, input and time one request may take.

These are choices of this product, not facts about the world (which live in the catalog):
they keep one request from stalling the others on a laptop-sized server. Every refusal names
the limit it hit. :class:`Limits` holds them; ``create_app(limits=...)`` takes another set
(the tests use small ones).
"""

from __future__ import annotations

from dataclasses import dataclass

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
"""Host names a browser on this machine uses; any other Host header is refused unless the
server was bound to it or told to allow it (a DNS-rebinding page sends its own name)."""


@dataclass(frozen=True)
class Limits:
    """Bounds on one request and on the server's concurrent work."""

    max_body_bytes: int = 1 * 2**20
    """Largest request body (1 MiB; a saved plan with its search lists is ~30 kB)."""
    max_search_counts: int = 16
    """GPU counts one /api/search (``counts``) or /api/plan (``gpus`` list or range) asks for."""
    max_top: int = 100
    """Plans one /api/search lists per count."""
    max_audits: int = 32
    """Disclosures one /api/audit request audits."""
    request_deadline_s: float = 30.0
    """Wall-clock budget of one request, queueing included; past it the answer is 504."""
    plan_workers: int = 4
    """Threads planning /api/plan, /api/check, /api/audit and /api/scenario.yaml requests."""
    heavy_workers: int = 2
    """Threads for the requests that run many searches (/api/search, /api/figures)."""
    max_waiting: int = 32
    """Requests that may wait for a thread of each pool; beyond, the answer is 503 at once."""
    max_excerpt_chars: int = 200
    """How much of an error message or of the input a 4xx/5xx body repeats."""
