"""The web planner: a FastAPI app over the same functions a notebook user calls.

Routes::

    GET  /                      the interactive planner (templates/index.html.j2)
    GET  /static/...            its script and style sheet
    GET  /vendor/plotly.min.js  plotly.js from the installed plotly package (no CDN)
    POST /api/plan              body: a scenario mapping (docs/design.md) -> gpuplan plan --json
    POST /api/search            body: a scenario, optional "counts" (GPU counts) and "top"
                                -> {"results": [plan with its search, ...]} (gpuplan search)
    GET  /api/check             the seed article's claims with verdicts
    POST /api/audit             body: one disclosure or {"audits": [...]} -> {"audits": [...]}
                                (gpuplan audit --json)
    POST /api/figures           body: a plan (the output of /api/plan) -> {"figures": {...}}
    POST /api/scenario.yaml     body: a scenario -> the validated scenario as a YAML file
    GET  /openapi.json          FastAPI's schema

Bad input is HTTP 422, never 500: pydantic's request errors keep FastAPI's form
(``{"detail": [{"loc": [...], "msg": ...}]}``), and gpuplan's own errors (which name the
field) are given the same form (:mod:`gpuplan.web.handlers`). Each request's work runs on a
bounded worker pool within a time budget (:mod:`gpuplan.web.work`), behind a Host check, a
body-size limit and security headers (:mod:`gpuplan.web.guard`); the limits are product
choices listed in :mod:`gpuplan.web.limits`.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Coroutine, Sequence
from importlib import resources
from typing import Annotated, Any

import jinja2
import yaml
from fastapi import Body, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from gpuplan import __version__
from gpuplan.catalog.loader import Catalog, load_catalog
from gpuplan.catalog.schema.base import Number
from gpuplan.checks.audit_files import audit_data, audits_json
from gpuplan.checks.claims import check_all
from gpuplan.defaults import DEFAULT_HOST as DEFAULT_HOST  # re-exported
from gpuplan.defaults import DEFAULT_PORT as DEFAULT_PORT
from gpuplan.errors import ScenarioError
from gpuplan.planning.result import PlanResult
from gpuplan.report import figures
from gpuplan.report.curves import (
    ClusterPoint,
    TrendPoint,
    curve_tokens,
    ladder_counts,
    loss_frontier,
    scaling_curve,
    seed_cluster_points,
    trend_points,
)
from gpuplan.report.data import read_plan
from gpuplan.report.html import plotly_js
from gpuplan.scenario.distributions import centered, find_distributions, has_distributions
from gpuplan.scenario.parse import parse_scenario
from gpuplan.scenario.resolve import DEFAULT_FRAMEWORK, resolve
from gpuplan.scenario.schema import MAX_GPUS, Precision, Scenario
from gpuplan.studies.answer import answer, gpu_counts, search_plans, single_scenarios
from gpuplan.studies.rows import cached_plan
from gpuplan.web import handlers
from gpuplan.web.guard import Guard, allowed_hosts
from gpuplan.web.limits import Limits
from gpuplan.web.work import CheckedSearchCache, Pool

DEFAULTS: dict[str, Any] = {
    "model": "llama3-405b",
    "hardware": "h100-sxm",
    "gpus": 16384,
    "framework": DEFAULT_FRAMEWORK,
    "global_batch": 2048,
    "seq_len": 8192,
    "tokens": "15.6e12",
    "days": 54,
    "grid": "us-average",
    "households": "us",
}
"""The planner's starting scenario: Llama 3 405B as Meta trained it (Dubey et al. 2024)."""

ScenarioBody = Annotated[dict[str, Any], Body(description="A scenario mapping (docs/design.md).")]


class SearchExtras(BaseModel):
    """The keys of a search request beside the scenario's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    counts: list[Annotated[int, Number, Field(gt=0, le=MAX_GPUS)]] | None = None
    top: Annotated[int, Number, Field(ge=1)] = 5


def finite(value: Any) -> Any:
    """JSON has no inf or NaN: they become null (Starlette refuses to send them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


class Planner:
    """The app's state: the catalog, the plan searches every request shares (the cache the
    sweeps use, see :mod:`gpuplan.search.cache`), a cache of whole plans, the two worker
    pools and the charts' fixed data."""

    def __init__(self, catalog: Catalog, limits: Limits) -> None:
        self.catalog = catalog
        self.limits = limits
        self.searches = CheckedSearchCache()
        self.plan = functools.lru_cache(maxsize=1024)(self._plan)
        self.runs: list[TrendPoint] = trend_points(catalog)
        self.light = Pool("plan", limits.plan_workers, limits.max_waiting)
        self.heavy = Pool("search", limits.heavy_workers, limits.max_waiting)

    @functools.cached_property
    def clusters(self) -> list[ClusterPoint]:
        """The seed clusters on the trend chart: planned on first use (seconds), not at
        start-up, so that the server answers at once."""
        return seed_cluster_points(self.catalog)

    @functools.cached_property
    def claims(self) -> dict[str, Any]:
        """The seed article's claims with verdicts: computed once."""
        claims: dict[str, Any] = finite({"claims": [c.as_dict() for c in check_all(self.catalog)]})
        return claims

    def warm(self) -> None:
        """Fill the slow caches (the trend chart's clusters, the claims) ahead of the first
        request that needs them; ``gpuplan serve`` runs this on a background thread."""
        _ = self.clusters, self.claims

    def _plan(self, scenario: Scenario) -> PlanResult:
        return cached_plan(scenario, self.catalog, self.searches)

    async def run(self, fn: Callable[[], Any], *, heavy: bool = False) -> Any:
        """``fn()`` on a worker thread within the request's time budget."""
        deadline = time.monotonic() + self.limits.request_deadline_s
        return await (self.heavy if heavy else self.light).run(fn, deadline)

    def counts(self, field: str, value: object) -> list[int] | None:
        """The GPU counts ``value`` asks for, refused beyond the server's limit."""
        counts = gpu_counts(value, field)
        limit = self.limits.max_search_counts
        if counts is not None and len(counts) > limit:
            raise ScenarioError(
                f"{field} = {value!r}",
                f"asks for {len(counts)} GPU counts; this server answers at most {limit} per "
                "request (use the CLI for more)",
            )
        return counts

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        found = answer(body, catalog=self.catalog, plan_fn=self.plan, cache=self.searches)
        answered: dict[str, Any] = finite(found)
        return answered

    def audit(self, body: dict[str, Any]) -> dict[str, Any]:
        audits = audit_data(body, self.catalog, limit=self.limits.max_audits)
        audited: dict[str, Any] = finite(audits_json(audits))
        return audited

    def search(self, body: dict[str, Any]) -> dict[str, Any]:
        scenario = {k: v for k, v in body.items() if k not in SearchExtras.model_fields}
        extras = SearchExtras.model_validate(
            {k: v for k, v in body.items() if k in SearchExtras.model_fields}
        )
        if extras.top > self.limits.max_top:
            raise ScenarioError(
                f"top = {extras.top}", f"this server lists at most {self.limits.max_top} plans"
            )
        if extras.counts is not None:
            self.counts("counts", extras.counts)
            scenario["gpus"] = extras.counts
        results = [
            search_plans(one, self.catalog, top=extras.top, cache=self.searches).to_dict()
            for one in single_scenarios(scenario)
        ]
        found: dict[str, Any] = finite({"results": results})
        return found

    def figures(self, body: dict[str, Any], with_scaling: bool) -> dict[str, Any]:
        saved = read_plan(body)
        law = self.catalog.scaling_law(saved.scaling.law if saved.scaling else None)
        tokens = curve_tokens(saved, self.catalog) if with_scaling else None
        curve = None
        if tokens is not None:
            counts = ladder_counts(saved.gpus)
            curve = scaling_curve(saved.scenario, tokens, self.catalog, counts, planner=self.plan)
        out = {
            "chart-step": figures.step_figure(saved),
            "chart-memory": figures.memory_figure(saved),
            "chart-loss": figures.loss_figure(saved, loss_frontier(self.catalog, law.id), law.name),
            "chart-trend": figures.trend_figure(saved, self.runs, self.clusters),
        }
        if with_scaling:
            out["chart-scaling"] = figures.scaling_figure(saved, curve)
        drawn: dict[str, Any] = finite({"figures": out})
        return drawn

    def scenario_yaml(self, body: dict[str, Any]) -> str:
        """The scenario as a file: one value each, as validated; with a GPU list or range,
        or ranges and distributions (file syntax `plan FILE` answers), as given once each
        GPU count's scenario is validated at the distributions' centres."""
        singles = single_scenarios(body)
        for one in singles:
            scenario = parse_scenario(centered(one, find_distributions(one)))
            resolve(scenario, self.catalog)  # unknown ids are errors here too
        if len(singles) > 1 or has_distributions(body):
            return yaml.safe_dump(dict(body), sort_keys=False)
        return yaml.safe_dump(scenario.model_dump(mode="json", exclude_none=True), sort_keys=False)


def _page(catalog: Catalog) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gpuplan.web", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("index.html.j2").render(
        version=__version__,
        defaults=DEFAULTS,
        models=sorted(catalog.models.values(), key=lambda m: m.id),
        accelerators=sorted(catalog.accelerators.values(), key=lambda a: a.id),
        frameworks=sorted(catalog.frameworks.values(), key=lambda f: f.id),
        clusters=sorted(
            (c for c in catalog.clusters.values() if not c.reference), key=lambda c: c.id
        ),
        grids=sorted(catalog.grids.values(), key=lambda g: g.id),
        households=sorted(catalog.households.values(), key=lambda h: h.id),
        precisions=[p.value for p in Precision],
        chart_ids=figures.CHART_IDS,
    )


def create_app(
    catalog: Catalog | None = None,
    *,
    limits: Limits | None = None,
    host: str | None = None,
    allow_hosts: Sequence[str] = (),
) -> FastAPI:
    """The planner app (``uvicorn --factory gpuplan.web.app:create_app``). It answers
    requests whose Host is a loopback name, ``host`` (the address it is bound to) or one of
    ``allow_hosts``; ``limits`` bound each request's work (:mod:`gpuplan.web.limits`)."""
    limits = limits or Limits()
    planner = Planner(catalog or load_catalog(), limits)
    app = FastAPI(
        # FastAPI's /docs and /redoc pages load their scripts from a CDN; the planner is
        # meant to work offline, so only /openapi.json is served.
        docs_url=None,
        redoc_url=None,
        title="gpuplan",
        version=__version__,
        description="What an AI training run takes (GPUs, days, dollars, MW, CO2), and buys.",
    )
    app.state.planner = planner
    handlers.install(app, limits)
    app.add_middleware(Guard, limits=limits, hosts=allowed_hosts(host, allow_hosts))
    static = resources.files("gpuplan.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    _page_routes(app, _page(planner.catalog))
    _api_routes(app, planner)
    _answer_head(app)
    return app


class _HeadRoute(APIRoute):
    """A GET route's twin for HEAD: the same status and headers (Content-Length included),
    no body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def head(request: Request) -> Response:
            response = await handler(request)
            response.body = b""
            return response

        return head


def _answer_head(app: FastAPI) -> None:
    """Every GET route answers HEAD as GET without a body, as HTTP requires (a server must
    support GET and HEAD; FastAPI registers GET alone, so HEAD / was a 405). The twins stay
    out of the OpenAPI schema, whose operations are the GET ones."""
    for route in list(app.router.routes):
        if isinstance(route, APIRoute) and "GET" in (route.methods or ()):
            app.router.add_api_route(
                route.path,
                route.endpoint,
                methods=["HEAD"],
                response_class=route.response_class,
                include_in_schema=False,
                name=route.name,
                route_class_override=_HeadRoute,
            )


def _page_routes(app: FastAPI, page: str) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly() -> Response:
        return Response(
            plotly_js(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )


def _api_routes(app: FastAPI, planner: Planner) -> None:
    @app.post("/api/plan")
    async def api_plan(body: ScenarioBody) -> JSONResponse:
        """Plan a scenario: the stable JSON keys of docs/design.md."""
        several = planner.counts("gpus", body.get("gpus")) is not None
        heavy = several or has_distributions(body)
        return JSONResponse(await planner.run(lambda: planner.answer(body), heavy=heavy))

    @app.post("/api/search")
    async def api_search(body: ScenarioBody) -> JSONResponse:
        """Search parallel plans at the scenario's GPU count, or at each of ``counts``."""
        planner.counts("gpus", body.get("gpus"))
        return JSONResponse(await planner.run(lambda: planner.search(body), heavy=True))

    @app.get("/api/check")
    async def api_check() -> JSONResponse:
        """The seed article's claims, each with a verdict and its numbers."""
        return JSONResponse(await planner.run(lambda: planner.claims))

    @app.post("/api/audit")
    async def api_audit(body: ScenarioBody) -> JSONResponse:
        """Audit a disclosed run (or an ``audits`` list): implied MFU, goodput, MW, energy,
        cost and a verdict, as ``gpuplan audit --json``."""
        return JSONResponse(await planner.run(lambda: planner.audit(body)))

    @app.post("/api/figures")
    async def api_figures(body: ScenarioBody, scaling: bool = True) -> JSONResponse:
        """Plotly figures (by DOM id) of a plan result; ``scaling=false`` leaves out the
        (slow) time-and-cost curve, ``chart-scaling``."""
        work = functools.partial(planner.figures, body, scaling)
        return JSONResponse(await planner.run(work, heavy=scaling))

    @app.post("/api/scenario.yaml")
    async def api_scenario_yaml(body: ScenarioBody) -> Response:
        """The scenario, validated, as a YAML file for ``gpuplan plan FILE``."""
        text = await planner.run(lambda: planner.scenario_yaml(body))
        return Response(
            text,
            media_type="application/yaml",
            headers={"Content-Disposition": 'attachment; filename="scenario.yaml"'},
        )
