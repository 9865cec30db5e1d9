"""The JSON API: good requests give the stable keys; bad input is a 422 naming the field."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gpuplan import Catalog, load_catalog, parse_scenario
from gpuplan.cli.app import app
from gpuplan.report.figures import CHART_IDS
from gpuplan.report.html import plotly_js
from gpuplan.web.app import create_app
from gpuplan.web.limits import Limits

SMALL = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64}
SMALL_BATCH = {**SMALL, "training": {"global_batch": 256, "seq_len": 8192, "tokens": 1e12}}


def lookup(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        assert part in node, f"missing key {dotted}"
        node = node[part]
    return node


def with_training(**training: Any) -> dict[str, Any]:
    return {**SMALL, "training": training}


# --------------------------------------------------------------------------- good requests


def test_plan_returns_every_stable_key(client: TestClient, design_keys: list[str]) -> None:
    response = client.post("/api/plan", json=SMALL_BATCH)
    assert response.status_code == 200, response.text
    data = response.json()
    for key in design_keys:
        lookup(data, key)
    assert data["fits"] is True
    assert data["plan"]["tp"] * data["plan"]["pp"] * data["plan"]["dp"] * data["plan"]["cp"] <= 64
    assert 0 < data["step"]["mfu"] <= 1
    assert data["memory"]["per_gpu_bytes"] <= data["memory"]["capacity_bytes"]
    assert data["run"]["tokens"] == pytest.approx(1e12)
    assert all(s["source"] for s in data["sources"])


def test_plan_answers_as_the_library_does(client: TestClient) -> None:
    from gpuplan import plan

    expected = plan(parse_scenario(SMALL)).to_dict()
    got = client.post("/api/plan", json=SMALL).json()
    assert got["run"]["days"] == pytest.approx(expected["run"]["days"], rel=1e-12)
    assert got["cost"]["cloud_usd"] == pytest.approx(expected["cost"]["cloud_usd"], rel=1e-12)


def test_plan_follows_the_gpu_count(client: TestClient) -> None:
    few = client.post("/api/plan", json={**SMALL, "gpus": 32}).json()
    many = client.post("/api/plan", json={**SMALL, "gpus": 128}).json()
    assert many["run"]["days"] < few["run"]["days"]
    assert many["power"]["it_w"] > few["power"]["it_w"]


def test_search_one_count_and_several(client: TestClient) -> None:
    one = client.post("/api/search", json={**SMALL_BATCH, "top": 3})
    assert one.status_code == 200, one.text
    (planned,) = one.json()["results"]
    result = planned["search"]
    assert result["gpus"] == 64 and 0 < len(result["top"]) <= 3
    assert sum(result["pruned"].values()) + result["feasible"] == result["enumerated"]
    times = [row["step_time_s"] for row in result["top"]]
    assert times == sorted(times)
    several = client.post("/api/search", json={**SMALL_BATCH, "counts": [32, 128]}).json()
    assert [r["search"]["gpus"] for r in several["results"]] == [32, 128]
    assert all(row["gpus_used"] <= 128 for row in several["results"][1]["search"]["top"])


def test_check_gives_every_claim_a_verdict(client: TestClient) -> None:
    response = client.get("/api/check")
    assert response.status_code == 200
    claims = response.json()["claims"]
    allowed = {"supported", "roughly-right", "overstated", "understated", "wrong", "unverifiable"}
    assert len(claims) >= 10
    assert {c["verdict"] for c in claims} <= allowed
    assert all(c["statement"] and c["explanation"] for c in claims)


def test_figures_of_a_plan(client: TestClient) -> None:
    plan_json = client.post("/api/plan", json=SMALL_BATCH).json()
    full = client.post("/api/figures", json=plan_json)
    assert full.status_code == 200, full.text
    figures = full.json()["figures"]
    assert set(figures) == set(CHART_IDS)
    for chart_id, figure in figures.items():
        assert figure["data"], chart_id
        assert any(trace.get("y") for trace in figure["data"]), chart_id
    quick = client.post("/api/figures?scaling=false", json=plan_json).json()["figures"]
    assert "chart-scaling" not in quick and "chart-step" in quick
    # The scaling curve passes through the plan itself.
    star = next(t for t in figures["chart-scaling"]["data"] if t["name"].startswith("this plan"))
    assert star["x"] == [64]
    assert star["y"][0] == pytest.approx(plan_json["run"]["days"])


def test_figures_of_a_plan_that_does_not_fit(client: TestClient) -> None:
    body = {"model": "llama3-405b", "hardware": "h100-sxm", "gpus": 8}
    plan_json = client.post("/api/plan", json={**body, "training": {"global_batch": 64}}).json()
    assert plan_json["fits"] is False and plan_json["run"] is None
    response = client.post("/api/figures?scaling=false", json=plan_json)
    assert response.status_code == 200, response.text
    assert response.json()["figures"]["chart-step"]["data"] == []


def test_scenario_yaml_round_trips(client: TestClient) -> None:
    response = client.post("/api/scenario.yaml", json=SMALL_BATCH)
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    data = yaml.safe_load(response.text)
    assert parse_scenario(data) == parse_scenario(SMALL_BATCH)


def test_scenario_yaml_keeps_ranges_and_distributions(client: TestClient) -> None:
    # `plan FILE` answers a GPU range and distributions: the file the app gives keeps them
    tokens = {"low": 1e11, "high": 2e11}
    body = {
        **SMALL_BATCH,
        "gpus": "8..32",
        "training": {**SMALL_BATCH["training"], "tokens": tokens},
    }
    response = client.post("/api/scenario.yaml", json=body)
    assert response.status_code == 200, response.text
    assert yaml.safe_load(response.text) == body
    bad = {**body, "training": {**body["training"], "tokens": {"low": 2e11, "high": 1e11}}}
    response = client.post("/api/scenario.yaml", json=bad)
    assert response.status_code == 422 and "training.tokens" in response.text


def test_page_and_assets_are_local(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    for chart_id in CHART_IDS:
        assert f'id="{chart_id}"' in html
    assert 'src="http' not in html and "cdn" not in html.lower()
    for model_id in load_catalog().models:
        assert f'value="{model_id}"' in html
    plotly = client.get("/vendor/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) == len(plotly_js().encode())
    assert client.get("/static/planner.js").status_code == 200
    assert client.get("/static/planner.css").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"/api/plan", "/api/search", "/api/check", "/api/figures"} <= set(schema["paths"])


# --------------------------------------------------------------------------- bad input

BAD_PLANS: list[tuple[str, dict[str, Any] | list[Any], str, str]] = [
    ("zero gpus", {**SMALL, "gpus": 0}, "gpus", "must be > 0"),
    ("gpus not a number", {**SMALL, "gpus": "many"}, "gpus", "integer"),
    ("unknown model", {**SMALL, "model": "llama3-406b"}, "model", "llama3-405b"),
    ("unknown hardware", {**SMALL, "hardware": "h1000"}, "hardware", "unknown"),
    (
        "negative cloud price",
        {**SMALL, "prices": {"cloud_usd_per_gpu_hour": -2.0}},
        "prices.cloud_usd_per_gpu_hour",
        "must be > 0",
    ),
    (
        "negative power price",
        {**SMALL, "site": {"power_usd_per_kwh": -0.1}},
        "site.power_usd_per_kwh",
        "must be > 0",
    ),
    ("pue below 1", {**SMALL, "site": {"pue": 0.9}}, "site.pue", ">= 1"),
    ("unknown key", {**SMALL, "gpu_count": 8}, "gpu_count", "unknown key"),
    ("bad precision", with_training(precision="fp4"), "training.precision", "bf16"),
    (
        "fp8 on a v100",
        {**with_training(precision="fp8"), "hardware": "v100"},
        "training.precision",
        "fp8",
    ),
    ("mfu above 1", with_training(mfu=1.5), "training.mfu", "<= 1"),
    ("tokens and days", with_training(tokens=1e12, days=30), "training", "not tokens and days"),
    ("training not a mapping", {**SMALL, "training": "long"}, "training", "dictionary"),
    ("zero stage 5", {**SMALL_BATCH, "parallelism": {"zero": 5}}, "parallelism.zero", "<= 3"),
    ("unknown grid", {**SMALL, "site": {"grid": "mars"}}, "site.grid", "unknown"),
    ("gpus a boolean", {**SMALL, "gpus": True}, "gpus", "not the boolean true"),
    ("tokens a boolean", with_training(tokens=True), "training.tokens", "boolean"),
    ("tp a boolean", {**SMALL, "parallelism": {"tp": False}}, "parallelism.tp", "boolean"),
    ("pue a boolean", {**SMALL, "site": {"pue": True}}, "site.pue", "boolean"),
    ("mfu nan as text", with_training(mfu="nan"), "training.mfu", "finite number"),
    ("tokens inf as text", with_training(tokens="inf"), "training.tokens", "finite number"),
    ("body not an object", [1, 2, 3], "body", "dictionary"),
    ("missing hardware", {"model": "llama3-8b", "gpus": 8}, "hardware", "required"),
]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [pytest.param(body, field, words, id=name) for name, body, field, words in BAD_PLANS],
)
def test_bad_plan_is_422_naming_the_field(
    client: TestClient, body: Any, field: str, words: str
) -> None:
    response = client.post("/api/plan", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    locs = [".".join(str(p) for p in d["loc"] if p != "body") for d in detail]
    assert any(loc.startswith(field) or (field == "body" and loc == "") for loc in locs), locs
    text = " ".join(d["msg"] for d in detail)
    if field != "body":
        assert field.split(".")[0] in text or field in locs
    assert words.lower() in text.lower(), text


def test_malformed_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/api/plan", content=b'{"model": "llama3-8b",', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["type"] == "json_invalid" and error["loc"][0] == "body"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({**SMALL_BATCH, "counts": [0, 64]}, "counts", id="zero in counts"),
        pytest.param({**SMALL_BATCH, "counts": list(range(1, 40))}, "counts", id="many counts"),
        pytest.param({**SMALL_BATCH, "top": 0}, "top", id="top 0"),
    ],
)
def test_bad_search_is_422(client: TestClient, body: dict[str, Any], field: str) -> None:
    response = client.post("/api/search", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert any(".".join(map(str, d["loc"][1:])).startswith(field) for d in detail), detail
    assert field in detail[0]["msg"]


def test_bad_figures_body_is_422(client: TestClient) -> None:
    plan_json = client.post("/api/plan", json=SMALL).json()
    del plan_json["memory"]
    response = client.post("/api/figures", json=plan_json)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "memory"]


def test_bad_scenario_yaml_is_422(client: TestClient) -> None:
    response = client.post("/api/scenario.yaml", json={**SMALL, "model": "gtp3"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "model"]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)
FIELDS = st.sampled_from(
    ["gpus", "model", "hardware", "training", "site", "prices", "parallelism", "extra"]
)
SUBFIELDS = st.sampled_from(
    ["tokens", "days", "mfu", "precision", "seq_len", "pue", "grid", "gpu_usd", "households"]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=FIELDS, sub=SUBFIELDS, value=JSON_VALUES, nested=st.booleans())
def test_never_a_server_error(
    client: TestClient, field: str, sub: str, value: Any, nested: bool
) -> None:
    """Whatever JSON goes into one field of a small scenario, the answer is 200 or 422."""
    body: dict[str, Any] = {**SMALL, "gpus": 8}
    body[field] = {sub: value} if nested else value
    response = client.post("/api/plan", json=body)
    assert response.status_code in (200, 422), (body, response.text)
    if response.status_code == 422:
        assert response.json()["detail"][0]["msg"]
    else:
        json.dumps(response.json(), allow_nan=False)  # strict JSON: no inf or NaN
        answer = response.json()
        for one in answer.get("results", [answer]):  # a list of GPU counts: one plan each
            if one["fits"]:
                assert math.isfinite(one["run"]["days"])
            else:  # an infeasible plan is a result with its reason, never a run
                assert one["infeasible_reason"] and one["run"] is None


def test_every_software_stack_the_form_offers_plans(client: TestClient, catalog: Catalog) -> None:
    page = client.get("/").text
    for framework in catalog.frameworks:
        assert f'<option value="{framework}"' in page
        response = client.post("/api/plan", json={**SMALL_BATCH, "framework": framework})
        assert response.status_code == 200, response.text
        assert response.json()["framework"]["id"] == framework


def test_every_id_the_form_offers_plans(client: TestClient, catalog: Catalog) -> None:
    """Each grid, household country and accelerator of the web form plans (issue 15: three
    grids the form offered had no electricity price)."""
    page = client.get("/").text
    offered = [
        *[("site", "grid", g) for g in catalog.grids],
        *[("site", "households", h) for h in catalog.households],
        *[("", "hardware", a) for a in catalog.accelerators],
    ]
    for section, key, value in offered:
        if key != "households":  # the form offers households through its defaults only
            assert f'<option value="{value}"' in page, value
        body: dict[str, Any] = {**SMALL_BATCH, "training": {"mfu": 0.4, "global_batch": 256}}
        if section:
            body[section] = {key: value}
        else:
            body[key] = value
        response = client.post("/api/plan", json=body)
        assert response.status_code == 200, (value, response.text)
        assert response.json()["fits"] is not None


DEEPSEEK_V3 = {
    # arXiv 2412.19437 Table 1 and abstract: 2.664M H800-hours, 14.8T tokens, 37B active.
    "name": "DeepSeek-V3 pre-training",
    "hardware": "h800",
    "gpus": 2048,
    "gpu_hours": 2.664e6,
    "active_params": 37e9,
    "tokens": 14.8e12,
    "precision": "fp8",
}


def test_audit_answers_as_the_library_and_the_cli_do(client: TestClient) -> None:
    response = client.post("/api/audit", json=DEEPSEEK_V3)
    assert response.status_code == 200
    (audited,) = response.json()["audits"]
    # hand arithmetic: 6 x 37e9 x 14.8e12 FLOP / (2.664e6 h x 3600 s x 989.4e12 FLOP/s)
    assert audited["numbers"]["mfu"] == pytest.approx(0.3463, abs=1e-4)
    assert audited["verdict"] == "plausible"
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in DEEPSEEK_V3.items()]
    cli = CliRunner().invoke(app, ["audit", *flags, "--json"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.output) == response.json()


def test_audit_takes_a_list_and_says_impossible_with_the_arithmetic(client: TestClient) -> None:
    impossible = {"hardware": "h100-sxm", "gpus": 1000, "days": 30, "flops": 1e26}
    response = client.post("/api/audit", json={"audits": [DEEPSEEK_V3, impossible]})
    assert response.status_code == 200
    verdicts = [a["verdict"] for a in response.json()["audits"]]
    assert verdicts == ["plausible", "impossible"]
    # 1000 GPUs x 30 days x 86,400 s x 989.4e12 FLOP/s = 2.56e24 FLOP at 100% of peak
    assert "2.56e+24 FLOP at 100% of peak" in response.json()["audits"][1]["reasons"][0]


@pytest.mark.parametrize(
    ("body", "loc", "words"),
    [
        ({"hardware": "h100-sxm", "gpus": -1, "days": 3}, ["body", "gpus"], "must be > 0"),
        ({"hardware": "nope", "gpus": 8, "days": 3}, ["body"], "nope"),
        ({"audits": [{"gpus": 8, "days": 3, "hardwar": "h100-sxm"}]}, ["body", "audits[0]"], ""),
        ({"audits": []}, ["body"], "no audits"),
    ],
)
def test_a_bad_disclosure_is_one_json_422(
    client: TestClient, body: dict[str, Any], loc: list[str], words: str
) -> None:
    response = client.post("/api/audit", json=body)
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert detail["loc"][: len(loc)] == loc
    assert words in detail["msg"] and "\n" not in detail["msg"]


def test_audits_past_the_limit_name_it(catalog: Catalog) -> None:
    small = create_app(catalog, limits=Limits(max_audits=2))
    with TestClient(small, base_url="http://localhost") as client:
        response = client.post("/api/audit", json={"audits": [DEEPSEEK_V3] * 3})
        assert response.status_code == 422
        assert "at most 2 per request" in response.json()["detail"][0]["msg"]
        foreign = client.post("/api/audit", json=DEEPSEEK_V3, headers={"Host": "evil.example"})
        assert foreign.status_code == 400
