"""The web app as a server: Host check, security headers, body and work limits, deadlines,
a bounded queue, JSON errors without tracebacks or echoed input, SIGTERM (issue 15)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_helpers import request, running

from gpuplan.catalog.loader import Catalog
from gpuplan.web import app as web_app
from gpuplan.web.app import create_app
from gpuplan.web.limits import Limits

SMALL = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64}
SEARCHED = {**SMALL, "training": {"global_batch": 256, "seq_len": 8192, "tokens": 1e12}}


def local(app: Any) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, base_url="http://localhost")


@pytest.fixture(scope="module")
def small_limits_app(catalog: Catalog) -> Any:
    return create_app(catalog, limits=Limits(max_body_bytes=4096, max_search_counts=3))


# ------------------------------------------------------------------------ Host, headers


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.2", ""])
def test_a_foreign_host_header_is_refused(client: TestClient, host: str) -> None:
    response = client.get("/api/check", headers={"Host": host})
    assert response.status_code == 400
    (detail,) = response.json()["detail"]
    assert detail["type"] == "host_not_allowed" and "--allow-host" in detail["msg"]


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:80"])
def test_loopback_host_names_are_served(client: TestClient, host: str) -> None:
    assert client.get("/", headers={"Host": host}).status_code == 200


def test_the_bound_host_and_allowed_names_are_served(catalog: Catalog) -> None:
    app = create_app(catalog, host="10.1.2.3", allow_hosts=["planner.lab"])
    test = local(app)
    for host in ("10.1.2.3:8000", "planner.lab", "PLANNER.lab:80", "localhost"):
        assert test.get("/", headers={"Host": host}).status_code == 200, host
    assert test.get("/", headers={"Host": "other.lab"}).status_code == 400


@pytest.mark.parametrize("path", ["/", "/api/check", "/static/planner.js", "/nope"])
def test_every_response_carries_security_headers(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"


def test_errors_carry_security_headers_too(client: TestClient) -> None:
    response = client.post("/api/plan", json={"gpus": "x"})
    assert response.status_code == 422
    assert response.headers["x-content-type-options"] == "nosniff"


# ------------------------------------------------------------------------ bodies, echoes


def test_a_body_past_the_limit_is_413_and_not_echoed(client: TestClient) -> None:
    big = "x" * (10 * 2**20)  # a 10 MB field
    response = client.post("/api/plan", json={**SMALL, "model": big})
    assert response.status_code == 413
    assert len(response.content) < 500
    assert "1,048,576 bytes" in response.json()["detail"][0]["msg"]


def test_a_chunked_body_past_the_limit_is_413(small_limits_app: Any) -> None:
    def chunks() -> Any:
        for _ in range(10):
            yield b"x" * 1000

    response = local(small_limits_app).post(
        "/api/plan", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "4,096 bytes" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 8, "gpus": 16}', "gpus"),
        ('{"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 8, '
         '"training": {"tokens": 1e12, "tokens": 1e9}}', "tokens"),
    ],
)  # fmt: skip
def test_a_key_given_twice_in_a_body_is_422(client: TestClient, text: str, key: str) -> None:
    # JSON parsers keep the last of two equal keys: the plan would be of 16 GPUs, unsaid.
    response = client.post(
        "/api/plan", content=text.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text[:300]
    assert f"key '{key}' is given twice" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    "body",
    [
        ["y" * 100_000],
        {**SMALL, "gpus": "z" * 100_000},
        {**SMALL, "training": {"tokens": "t" * 100_000}},
        {**SMALL, "w" * 100_000: 1},
        "s" * 100_000,
    ],
)
def test_a_422_repeats_only_an_excerpt_of_the_input(client: TestClient, body: Any) -> None:
    response = client.post("/api/plan", json=body)
    assert response.status_code == 422, response.text[:300]
    assert len(response.content) < 2000
    for detail in response.json()["detail"]:
        assert "input" not in detail and len(detail["msg"]) <= 203


def test_a_bad_content_length_is_400(client: TestClient) -> None:
    response = client.post(
        "/api/plan", content=b"{}", headers={"Content-Length": "abc", "Content-Type": "x"}
    )
    assert response.status_code in (400, 422)


# ------------------------------------------------------------------------ work limits


def test_too_many_gpu_counts_name_the_limit(small_limits_app: Any) -> None:
    test = local(small_limits_app)
    for path, body in (
        ("/api/search", {**SEARCHED, "counts": [8, 16, 32, 64]}),
        ("/api/search", {**SEARCHED, "gpus": "8,16,32,64"}),
        ("/api/plan", {**SEARCHED, "gpus": [8, 16, 32, 64]}),
        ("/api/plan", {**SEARCHED, "gpus": "8..64"}),
    ):
        response = test.post(path, json=body)
        assert response.status_code == 422, (path, body)
        msg = response.json()["detail"][0]["msg"]
        assert "at most 3 per request" in msg and "GPU counts" in msg, msg


def test_too_many_listed_plans_name_the_limit(client: TestClient) -> None:
    response = client.post("/api/search", json={**SEARCHED, "top": 101})
    assert response.status_code == 422
    assert "at most 100 plans" in response.json()["detail"][0]["msg"]


def test_figures_of_a_plan_without_gpus_is_422(client: TestClient) -> None:
    saved = client.post("/api/plan", json=SMALL).json()
    del saved["scenario"]["gpus"]
    response = client.post("/api/figures?scaling=false", json=saved)
    assert response.status_code == 422
    assert "scenario.gpus" in response.json()["detail"][0]["msg"]


def test_an_unexpected_error_is_a_json_500_without_traceback(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(web_app, "answer", broken)
    response = client.post("/api/plan", json={**SMALL, "gpus": 96})
    assert response.status_code == 500
    (detail,) = response.json()["detail"]
    assert detail["type"] == "internal_error"
    assert "Traceback" not in response.text and "ZeroDivision" not in response.text


def test_distinct_scenarios_share_one_search(catalog: Catalog) -> None:
    app = create_app(catalog)
    test = local(app)
    for grid in ("us-average", "france", "world"):
        body = {**SEARCHED, "site": {"grid": grid}, "prices": {"gpu_usd": 31_000}}
        assert test.post("/api/plan", json=body).status_code == 200
    searches = app.state.planner.searches
    assert (searches.misses, searches.hits) == (1, 2)


# ------------------------------------------------------------------------ time and load


def _slow_searches(monkeypatch: pytest.MonkeyPatch, seconds: float = 2.5) -> None:
    """Each search takes at least ``seconds``: the plan search itself is quick (and its
    per-layer costs and plan batches are kept between tests), so the load is made here."""
    search_plans = web_app.search_plans

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)
        return search_plans(*args, **kwargs)

    monkeypatch.setattr(web_app, "search_plans", slow)


def test_a_request_past_its_deadline_is_504_and_others_are_answered(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slow_searches(monkeypatch)
    limits = Limits(request_deadline_s=1.0, heavy_workers=1)
    slow = {**SEARCHED, "model": "llama3-70b", "counts": [4096, 8192, 16384]}
    with running(create_app(catalog, limits=limits)) as url:
        request(url + "/api/scenario.yaml", SMALL)  # the light pool is started and warm
        results: dict[str, Any] = {}
        heavy = threading.Thread(
            target=lambda: results.update(s=request(url + "/api/search", slow))
        )
        heavy.start()
        time.sleep(0.2)
        status, _, _, seconds = request(url + "/api/scenario.yaml", SMALL)
        heavy.join(timeout=60)
    assert status == 200 and seconds < 1.5  # not stalled behind the search (seconds)
    status, _, body, seconds = results["s"]
    assert status == 504
    assert "limit of 1 s per request" in json.loads(body)["detail"][0]["msg"]
    assert seconds < 5.0


def test_a_full_queue_is_503_at_once(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    _slow_searches(monkeypatch)
    limits = Limits(request_deadline_s=3.0, heavy_workers=1, max_waiting=0)
    slow = {**SEARCHED, "model": "llama3-70b", "counts": [4096, 8192, 16384]}
    with running(create_app(catalog, limits=limits)) as url:
        first = threading.Thread(target=request, args=(url + "/api/search", slow))
        first.start()
        time.sleep(0.3)
        status, headers, body, seconds = request(url + "/api/search", slow)
        first.join(timeout=60)
    assert status == 503 and headers["retry-after"] == "5" and seconds < 1.0
    assert "retry" in json.loads(body)["detail"][0]["msg"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sigterm_stops_the_server_while_it_works() -> None:
    port = _free_port()
    gpuplan = Path(sys.executable).with_name("gpuplan")
    server = subprocess.Popen(
        [str(gpuplan), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                request(url + "/api/scenario.yaml", SMALL, timeout_s=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        slow = {**SEARCHED, "model": "llama3-405b", "counts": list(range(1024, 17408, 1024))}
        worker = threading.Thread(target=lambda: _quietly(url + "/api/search", slow), daemon=True)
        worker.start()
        time.sleep(0.5)
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=20)
        stopped_s = time.monotonic() - started
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert stopped_s < 15  # SHUTDOWN_GRACE_S plus the search in progress
    assert b"Traceback" not in stderr


def _quietly(url: str, body: Any) -> None:
    with contextlib.suppress(OSError):  # the server went away: what the test wants
        request(url, body, timeout_s=30)
