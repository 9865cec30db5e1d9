"""The web planner: a FastAPI app over the same functions a notebook user calls.

Routes::

    GET  /                      the interactive planner (templates/index.html.j2)
    GET  /static/...            its script and style sheet
    GET  /vendor/plotly.min.js  plotly.js from the installed plotly package (no CDN)
    POST /api/plan              body: a scenario mapping (docs/design.md) -> gpuplan plan --json
    POST /api/search            body: a scenario, optional "counts" (GPU counts) and "top"
                                -> {"results": [plan with its search, ...]} (gpuplan search)
    GET  /api/check             the seed article's claims with verdicts
    POST /api/figures           body: a plan (the output of /api/plan) -> {"figures": {...}}
    POST /api/scenario.yaml     body: a scenario -> the validated scenario as a YAML file
    GET  /openapi.json          FastAPI's schema

Bad input is HTTP 422, never 500: pydantic's request errors keep FastAPI's form
(``{"detail": [{"loc": [...], "msg": ...}]}``), and gpuplan's own errors (which name the
field) are given the same form by :func:`_gpuplan_error`.
"""

from __future__ import annotations

import functools
import math
from importlib import resources
from typing import Annotated, Any

import jinja2
import yaml
from fastapi import Body, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gpuplan import __version__
from gpuplan.catalog.loader import Catalog, load_catalog
from gpuplan.checks.claims import check_all
from gpuplan.defaults import DEFAULT_HOST as DEFAULT_HOST  # re-exported
from gpuplan.defaults import DEFAULT_PORT as DEFAULT_PORT
from gpuplan.errors import GpuplanError, ScenarioError
from gpuplan.planning.result import PlanResult
from gpuplan.planning.run import plan
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
from gpuplan.scenario.parse import parse_scenario
from gpuplan.scenario.resolve import DEFAULT_FRAMEWORK, resolve
from gpuplan.scenario.schema import MAX_GPUS, Precision, Scenario
from gpuplan.studies.answer import answer, search_plans, single_scenarios

MAX_SEARCH_COUNTS = 32

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

    counts: list[Annotated[int, Field(gt=0, le=MAX_GPUS)]] | None = Field(
        default=None, max_length=MAX_SEARCH_COUNTS
    )
    top: Annotated[int, Field(ge=1, le=100)] = 5


def finite(value: Any) -> Any:
    """JSON has no inf or NaN: they become null (Starlette refuses to send them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def _field_loc(field: str) -> list[str]:
    """'training.precision = 'fp8'' -> ['body', 'training', 'precision']."""
    path = field.split(" = ", 1)[0].strip()
    return ["body", *[p for p in path.split(".") if p]] if path else ["body"]


async def _gpuplan_error(request: Request, exc: Exception) -> JSONResponse:
    field = exc.field if isinstance(exc, ScenarioError) else ""
    kind = "scenario_error" if isinstance(exc, ScenarioError) else "catalog_error"
    detail = [{"loc": _field_loc(field), "msg": str(exc), "type": kind}]
    return JSONResponse({"detail": detail}, status_code=422)


async def _value_error(request: Request, exc: Exception) -> JSONResponse:
    """Bad values that got past validation into the model (e.g. a loss of zero tokens)."""
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        loc = ["body", *[str(p) for p in error["loc"]]]
        detail = [{"loc": loc, "msg": f"{'.'.join(loc[1:])}: {error['msg']}", "type": "value"}]
    else:
        detail = [{"loc": ["body"], "msg": str(exc), "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=422)


class Planner:
    """The app's state: the catalog, a cache of plans, and the charts' fixed data."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.plan = functools.lru_cache(maxsize=1024)(self._plan)
        self.runs: list[TrendPoint] = trend_points(catalog)

    @functools.cached_property
    def clusters(self) -> list[ClusterPoint]:
        """The seed clusters on the trend chart: planned on first use (seconds), not at
        start-up, so that the server answers at once."""
        return seed_cluster_points(self.catalog)

    def _plan(self, scenario: Scenario) -> PlanResult:
        return plan(scenario, self.catalog)

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
        return out


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
        grids=sorted(catalog.grids.values(), key=lambda g: g.id),
        households=sorted(catalog.households.values(), key=lambda h: h.id),
        precisions=[p.value for p in Precision],
        chart_ids=figures.CHART_IDS,
    )


def create_app(catalog: Catalog | None = None) -> FastAPI:
    """The planner app (``uvicorn --factory gpuplan.web.app:create_app``)."""
    planner = Planner(catalog or load_catalog())
    app = FastAPI(
        # FastAPI's /docs and /redoc pages load their scripts from a CDN; the planner is
        # meant to work offline, so only /openapi.json is served.
        docs_url=None,
        redoc_url=None,
        title="gpuplan",
        version=__version__,
        description="What an AI training run takes (GPUs, days, dollars, MW, CO2), and buys.",
    )
    app.add_exception_handler(GpuplanError, _gpuplan_error)
    app.add_exception_handler(ValueError, _value_error)
    static = resources.files("gpuplan.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    page = _page(planner.catalog)

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

    @app.post("/api/plan")
    def api_plan(body: ScenarioBody) -> JSONResponse:
        """Plan a scenario: the stable JSON keys of docs/design.md."""
        return JSONResponse(finite(answer(body, catalog=planner.catalog, plan_fn=planner.plan)))

    @app.post("/api/search")
    def api_search(body: ScenarioBody) -> JSONResponse:
        """Search parallel plans at the scenario's GPU count, or at each of ``counts``."""
        scenario = {k: v for k, v in body.items() if k not in SearchExtras.model_fields}
        extras = SearchExtras.model_validate(
            {k: v for k, v in body.items() if k in SearchExtras.model_fields}
        )
        if extras.counts:
            scenario["gpus"] = extras.counts
        results = [
            search_plans(one, planner.catalog, top=extras.top).to_dict()
            for one in single_scenarios(scenario)
        ]
        return JSONResponse(finite({"results": results}))

    @app.get("/api/check")
    def api_check() -> JSONResponse:
        """The seed article's claims, each with a verdict and its numbers."""
        return JSONResponse(finite({"claims": [c.as_dict() for c in check_all(planner.catalog)]}))

    @app.post("/api/figures")
    def api_figures(body: ScenarioBody, scaling: bool = True) -> JSONResponse:
        """Plotly figures (by DOM id) of a plan result; ``scaling=false`` leaves out the
        (slow) time-and-cost curve, ``chart-scaling``."""
        return JSONResponse(finite({"figures": planner.figures(body, scaling)}))

    @app.post("/api/scenario.yaml")
    def api_scenario_yaml(body: ScenarioBody) -> Response:
        """The scenario, validated, as a YAML file for ``gpuplan plan FILE``."""
        scenario = parse_scenario(body)
        resolve(scenario, planner.catalog)  # unknown ids are errors here too
        text = yaml.safe_dump(scenario.model_dump(mode="json", exclude_none=True), sort_keys=False)
        return Response(
            text,
            media_type="application/yaml",
            headers={"Content-Disposition": 'attachment; filename="scenario.yaml"'},
        )

    return app
