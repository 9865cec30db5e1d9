"""HEAD requests (issue 15, fuzz round two): HTTP requires a server to answer HEAD wherever
it answers GET; HEAD / was a 405."""

from __future__ import annotations

import warnings

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from gpuplan.web.app import create_app


@pytest.fixture(scope="module")
def local() -> TestClient:
    return TestClient(create_app(), base_url="http://127.0.0.1")


@pytest.mark.parametrize("path", ["/", "/vendor/plotly.min.js", "/api/check", "/openapi.json"])
def test_head_answers_as_get_without_a_body(local: TestClient, path: str) -> None:
    got = local.get(path)
    head = local.head(path)
    assert got.status_code == 200 and got.content
    assert head.status_code == 200, head.text[:200]
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))


def test_head_stays_out_of_the_schema_and_a_post_route_refuses_it(local: TestClient) -> None:
    schema = local.get("/openapi.json").json()
    assert all("head" not in operations for operations in schema["paths"].values())
    assert list(schema["paths"]["/api/check"]) == ["get"]
    assert local.head("/api/plan").status_code == 405
    assert local.head("/static/planner.css").status_code == 200  # StaticFiles' own HEAD
