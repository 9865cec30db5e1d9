"""Fuzz (issue 15): generated scenarios, valid and not, through ``parse_scenario`` + ``plan``
and through the web API. Every outcome is a result (possibly infeasible, with its reason) or
one clear error line; never a traceback, a 5xx or a hang (a per-case deadline).

The number of examples is ``GPUPLAN_FUZZ_EXAMPLES`` (default: a few hundred, ~10-20 s); set
it to 2000 or more for a longer hunt.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from fuzz_strategies import scenarios
from hypothesis import HealthCheck, given, settings
from starlette.exceptions import StarletteDeprecationWarning

from gpuplan.catalog import load_catalog
from gpuplan.errors import MAX_MESSAGE, GpuplanError
from gpuplan.planning.result import PlanResult
from gpuplan.scenario.parse import parse_scenario
from gpuplan.search.cache import SearchCache
from gpuplan.studies.answer import single_scenarios
from gpuplan.studies.rows import cached_plan
from gpuplan.studies.sweep_tasks import RowTimeout, time_limit
from gpuplan.web.app import create_app
from gpuplan.web.limits import Limits

with warnings.catch_warnings():  # as tests/web/conftest.py: httpx still works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

EXAMPLES = int(os.environ.get("GPUPLAN_FUZZ_EXAMPLES", "150"))
CASE_DEADLINE_S = 20.0
"""A case that runs longer is a hang (one plan search takes well under a second here)."""

CATALOG = load_catalog()
SEARCHES = SearchCache()
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the per-case deadline below is a hang guard, not a speed target
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


class Hang(Exception):
    pass


@contextlib.contextmanager
def hang_guard(seconds: float) -> Iterator[None]:
    """The sweeps' per-row time limit, reported as a hang."""
    try:
        with time_limit(seconds):
            yield
    except RowTimeout as exc:
        raise Hang(f"no answer within {seconds:g} s") from exc


def assert_one_line(message: str) -> None:
    assert message and "\n" not in message and "Traceback" not in message, message[:300]
    assert len(message) <= MAX_MESSAGE + 600, f"{len(message)} characters"


def assert_a_result(result: PlanResult) -> None:
    data = result.to_dict()
    json.dumps(data)  # serialisable (NaN allowed in Python's JSON; the web maps it to null)
    if data["fits"] is False:
        assert data["infeasible_reason"], "an infeasible result says why"
    days = (data.get("run") or {}).get("days")
    assert days is None or (days > 0 and not math.isnan(days)), days


@FUZZ
@given(data=scenarios())
def test_any_scenario_is_a_result_or_one_line(data: Any) -> None:
    with hang_guard(CASE_DEADLINE_S):
        try:
            for one in single_scenarios(data) if isinstance(data, dict) else [data]:
                assert_a_result(cached_plan(parse_scenario(one), CATALOG, SEARCHES))
        except GpuplanError as exc:
            assert_one_line(str(exc))


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    app = create_app(CATALOG, limits=Limits(request_deadline_s=CASE_DEADLINE_S))
    app.state.planner.warm()  # the seed clusters of the trend chart: seconds, once
    with TestClient(app, raise_server_exceptions=False, base_url="http://localhost") as client:
        yield client


def post(api: TestClient, path: str, data: Any) -> Any:
    """A JSON POST as a browser may send it (NaN and Infinity included)."""
    body = json.dumps(data, allow_nan=True)
    return api.post(path, content=body, headers={"Content-Type": "application/json"})


@FUZZ
@given(data=scenarios())
def test_any_api_body_is_an_answer_or_a_4xx(api: TestClient, data: Any) -> None:
    for path in ("/api/plan", "/api/scenario.yaml"):
        response = post(api, path, data)
        assert response.status_code in (200, 413, 422), (
            path,
            response.status_code,
            response.text[:300],
        )
        if response.status_code != 200:
            for detail in response.json()["detail"]:
                assert_one_line(detail["msg"])
                assert "input" not in detail
    if isinstance(data, dict):
        saved = post(api, "/api/plan", {**data, "gpus": 64}).json()
        if "fits" in saved:
            saved["scenario"] = data  # a tampered saved plan
            figures = post(api, "/api/figures?scaling=false", saved)
            assert figures.status_code in (200, 422), figures.text[:300]
