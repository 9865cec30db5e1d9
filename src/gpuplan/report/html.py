"""The HTML report: one self-contained file a reader opens in a browser, offline.

Sections: the plan (parallel plan, fits, memory), the step-time and memory breakdowns,
time and cost against GPU count, loss against compute, the training-compute trend with
the seed article's clusters, the claims with their verdicts, and every assumption and
source the plan used. plotly.js is embedded once, in the page head; each chart is a
``<div id="chart-...">`` with its figure as JSON in ``<script id="chart-...-data">``.

The seed report (``gpuplan demo --html``) is the report of the seed study's largest cluster
(100,000 H100): the same plan, from the same :func:`gpuplan.studies.seed.plan_seed_clusters`
call, as the demo's table, and the same plans for the trend chart's clusters.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from gpuplan import __version__
from gpuplan.catalog.loader import Catalog, load_catalog
from gpuplan.checks.claims import check_all
from gpuplan.defaults import DEFAULT_REPORT_FILE
from gpuplan.errors import ScenarioError
from gpuplan.fitting.scaling_laws import ComputeOptimal
from gpuplan.planning.run import plan
from gpuplan.report import figures
from gpuplan.report import humanize as hz
from gpuplan.report.curves import (
    ClusterPoint,
    ScalingCurve,
    TrendPoint,
    cluster_point,
    curve_tokens,
    loss_frontier,
    scaling_curve,
    seed_cluster_points,
    trend_points,
)
from gpuplan.report.data import SavedPlan, read_plan
from gpuplan.report.intervals import interval_rows
from gpuplan.scenario.distributions import centered, find_distributions
from gpuplan.scenario.parse import parse_scenario
from gpuplan.studies.answer import single_scenarios
from gpuplan.studies.budget import is_budget_question, plan_budget
from gpuplan.studies.seed import SEED_DAYS, headline_cluster, plan_seed_clusters

DEFAULT_REPORT_PATH = Path(DEFAULT_REPORT_FILE)


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows; built once, rendered without further computation."""

    plan: SavedPlan
    scaling: ScalingCurve | None
    frontier: Sequence[ComputeOptimal]
    law_name: str
    runs: Sequence[TrendPoint]
    clusters: Sequence[ClusterPoint]
    claims: Sequence[Mapping[str, Any]]
    created: str = field(default_factory=lambda: dt.date.today().isoformat())

    def figures(self) -> dict[str, figures.Figure]:
        """The charts by DOM id (:data:`gpuplan.report.figures.CHART_IDS`)."""
        p = self.plan
        return {
            "chart-step": figures.step_figure(p),
            "chart-memory": figures.memory_figure(p),
            "chart-scaling": figures.scaling_figure(p, self.scaling),
            "chart-loss": figures.loss_figure(p, self.frontier, self.law_name),
            "chart-trend": figures.trend_figure(p, self.runs, self.clusters),
        }


def build_report(
    saved: SavedPlan | Mapping[str, Any],
    catalog: Catalog | None = None,
    *,
    with_scaling: bool = True,
    scaling_counts: Sequence[int] | None = None,
    clusters: Sequence[ClusterPoint] | None = None,
) -> ReportData:
    """Report data for a plan result (``PlanResult.to_dict()`` or a saved JSON of it).

    The plan's own numbers come from the JSON as they are. The catalog provides what a plan
    does not hold: the law's frontier, published runs, seed clusters, claims; the scaling
    curve (the only part that runs the model) is computed from the JSON's scenario unless
    ``with_scaling`` is False. ``clusters``: the trend chart's seed clusters, by default
    :func:`gpuplan.report.curves.seed_cluster_points` (90 days, modelled MFU).
    """
    catalog = catalog or load_catalog()
    if not isinstance(saved, SavedPlan):
        saved = read_plan(dict(saved))
    law = catalog.scaling_law(saved.scaling.law if saved.scaling else None)
    tokens = curve_tokens(saved, catalog) if with_scaling else None
    curve = None
    if tokens is not None:
        curve = scaling_curve(saved.scenario, tokens, catalog, scaling_counts)
    return ReportData(
        plan=saved,
        scaling=curve,
        frontier=loss_frontier(catalog, law.id),
        law_name=law.name,
        runs=trend_points(catalog),
        clusters=seed_cluster_points(catalog) if clusters is None else clusters,
        claims=[c.as_dict() for c in check_all(catalog)],
    )


def report_for_scenario(
    scenario: Mapping[str, Any], catalog: Catalog | None = None, *, with_scaling: bool = True
) -> ReportData:
    """Plan a scenario mapping (as in a YAML file) and build its report.

    A report covers one GPU count (its scaling chart spans the others). Ranges and
    distributions are replaced by their medians, and the report says so; their spread is
    ``gpuplan plan``'s Monte Carlo.
    """
    catalog = catalog or load_catalog()
    if is_budget_question(scenario):  # the run the budget buys, as chosen by plan --budget-*
        bought = plan_budget(scenario, catalog)
        result = bought.result.to_dict()
        result["assumptions"] = [*bought.notes, *result["assumptions"]]
        return build_report(result, catalog, with_scaling=with_scaling)
    singles = single_scenarios(scenario)
    if len(singles) > 1:
        raise ScenarioError(
            f"gpus = {scenario.get('gpus')!r}",
            "a report covers one GPU count (its scaling chart shows the others); give one",
        )
    found = find_distributions(singles[0])
    data = centered(singles[0], found) if found else singles[0]
    result = plan(parse_scenario(data), catalog).to_dict()
    if found:
        result["assumptions"].append(
            f"Ranges and distributions ({', '.join(found)}) at their medians; "
            "gpuplan plan gives their P10/P50/P90."
        )
    return build_report(result, catalog, with_scaling=with_scaling)


@functools.cache
def plotly_js() -> str:
    """plotly.js as bundled with the installed plotly package (about 4.8 MB, minified)."""
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    return str(get_plotlyjs())


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gpuplan.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        usd=hz.usd,
        watts=hz.watts,
        watt_hours=hz.watt_hours,
        flops=hz.flops,
        days=hz.days,
        percent=hz.percent,
        number=hz.number,
        tonnes=hz.tonnes,
        gib=lambda b: f"{b / 2**30:,.1f} GiB",
        interval_rows=interval_rows,
    )
    return env


def figure_json(figure: figures.Figure) -> str:
    """JSON safe inside a ``<script>`` element (no ``</`` can close it early)."""
    return json.dumps(figure, separators=(",", ":")).replace("</", "<\\/")


def render_report(data: ReportData, *, inline_plotly: bool = True) -> str:
    """The report as one HTML string; ``inline_plotly=False`` leaves plotly.js out (tests)."""
    template = _environment().get_template("report.html.j2")
    charts = {chart_id: figure_json(f) for chart_id, f in data.figures().items()}
    return template.render(
        data=data,
        p=data.plan,
        charts=charts,
        plotly_js=plotly_js() if inline_plotly else "",
        version=__version__,
    )


def write_report(data: ReportData, path: Path = DEFAULT_REPORT_PATH) -> Path:
    """Render and write the report; returns the path written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(data), "utf-8")
    return path


def seed_report_data(
    catalog: Catalog | None = None, *, days: float = SEED_DAYS, mfu: float | None = None
) -> ReportData:
    """The seed report: the seed study's largest cluster (100,000 H100) with its
    compute-optimal model, and every seed cluster on the trend chart, from the same plans as
    ``gpuplan demo --days DAYS [--mfu MFU]``."""
    catalog = catalog or load_catalog()
    results = plan_seed_clusters(catalog, days, mfu)
    headline = results[headline_cluster(catalog).id]
    points = [cluster_point(c, results[c.id]) for c in catalog.seed_clusters.values()]
    return build_report(headline.to_dict(), catalog, clusters=[p for p in points if p is not None])


def write_seed_report(
    path: Path = DEFAULT_REPORT_PATH,
    catalog: Catalog | None = None,
    *,
    days: float = SEED_DAYS,
    mfu: float | None = None,
) -> Path:
    """Write :func:`seed_report_data` as HTML; returns the path written."""
    return write_report(seed_report_data(catalog, days=days, mfu=mfu), Path(path))
