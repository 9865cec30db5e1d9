"""API bodies a fuzz campaign (issue 15) found answered wrongly: each is now a 422 naming
the field, the value and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

SMALL: dict[str, Any] = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64}


@pytest.mark.parametrize(
    ("extras", "expected"),
    [
        # was searched as top 1 (booleans are not numbers)
        ({"top": True}, "top = True: must be a number, not the boolean true"),
        ({"counts": [True]}, "counts.0 = True: must be a number, not the boolean true"),
        # said 'top: Input should be ...' without the value
        ({"top": 0}, "top = 0: Input should be greater than or equal to 1"),
        ({"counts": "x"}, "counts = 'x': Input should be a valid list"),
    ],
)
def test_search_extras_are_numbers_named_with_their_value(
    client: TestClient, extras: dict[str, Any], expected: str
) -> None:
    response = client.post("/api/search", json={**SMALL, **extras})
    assert response.status_code == 422, response.text[:300]
    assert response.json()["detail"][0]["msg"] == expected


@pytest.mark.parametrize(
    ("send", "expected"),
    [
        # were pydantic's 'Field required' and 'Input should be a valid dictionary', which
        # name nothing the user sent
        ({"content": b""}, "body: required, a JSON object (a scenario mapping)"),
        ({"content": b"null"}, "body: must be a JSON object"),
        ({"content": b"[1, 2]"}, "body: must be a JSON object (a dictionary: the scenario"),
        ({"content": b'"x"'}, "body: must be a JSON object"),
        ({"content": b"{oops"}, "body: not valid JSON ("),
    ],
)
def test_a_body_that_is_no_mapping_is_named_so(
    client: TestClient, send: dict[str, Any], expected: str
) -> None:
    headers = {"content-type": "application/json"}
    response = client.post("/api/plan", headers=headers, **send)
    assert response.status_code == 422, response.text[:300]
    assert response.json()["detail"][0]["msg"].startswith(expected)


def test_a_bad_query_value_is_named_with_its_value(client: TestClient) -> None:
    response = client.post("/api/figures?scaling=maybe", json=SMALL)
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"].startswith("scaling = 'maybe': Input should be")


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"\xff\xfe{", "not UTF-8 text"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"gpus": ' + b"9" * 5000 + b"}", "a number too long to read, over 4,300 digits"),
    ],
)
def test_a_body_the_parser_cannot_read_says_why(
    client: TestClient, content: bytes, why: str
) -> None:
    # was FastAPI's 400 'There was an error parsing the body', naming no cause
    response = client.post(
        "/api/plan", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"][0]["msg"] == f"body: cannot be read as JSON ({why})"


def test_other_http_errors_keep_their_answers(client: TestClient) -> None:
    assert client.get("/api/plan").json() == {"detail": "Method Not Allowed"}
    assert client.get("/api/nope").status_code == 404
