"""What ``gpuplan trends`` and ``gpuplan scaling-fit`` run (:mod:`gpuplan.cli.trends` holds
their flags): fit with gpuplan.fitting, then render. Imported only when one of them runs.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from gpuplan.catalog import Catalog, load_catalog
from gpuplan.errors import ScenarioError, shorten
from gpuplan.fitting.epoch import read_epoch_csv
from gpuplan.fitting.growth import (
    Basis,
    GrowthRate,
    compared,
    fitted_growth,
    published_growth,
)
from gpuplan.fitting.scaling_fit import fit_scaling_law, read_loss_csv
from gpuplan.fitting.trends import (
    Metric,
    Projection,
    RunPoint,
    TrendFit,
    fit_trend,
    runs_from_catalog,
)
from gpuplan.report import humanize as hz

console = Console()


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def load_source(source: str, catalog: Catalog) -> tuple[str, tuple[RunPoint, ...]]:
    """'catalog', 'epoch:PATH' (or 'epoch PATH'), or a path to an Epoch AI CSV export."""
    text = source.strip()
    if text == "catalog":
        return "gpuplan catalog (runs.yaml)", runs_from_catalog(catalog)
    for prefix in ("epoch:", "epoch "):
        if text.startswith(prefix):
            text = text[len(prefix) :].strip()
            break
    else:
        if not text.lower().endswith(".csv"):
            raise ScenarioError(
                "source",
                f"'{shorten(source)}' is neither 'catalog' nor 'epoch:PATH' "
                "to an Epoch AI CSV export",
            )
    path = Path(text).expanduser()
    if not path.is_file():
        raise ScenarioError("source", f"no file at '{path}'; give the path to an Epoch AI CSV")
    return f"Epoch AI export {path.name} (CC-BY, credit Epoch AI)", read_epoch_csv(path)


def _published_text(rate: GrowthRate | None) -> str:
    if rate is None:
        return "—"
    ends = f"\n{rate.low:.3g}-{rate.high:.3g}" if rate.low and rate.high else ""
    return f"{rate.growth_per_year:.3g}{ends}"


def _used_by(basis: Basis) -> str | None:
    """'gpuplan check C5, C9': the seed claims that use the published compute rate of ``basis``."""
    from gpuplan.checks.claims import load_claims, uses_compute_growth  # only for trends

    ids = [c.id for c in load_claims() if uses_compute_growth(c, basis)]
    return f"gpuplan check {', '.join(ids)}" if ids else None


LABELS = {
    Metric.TRAINING_COMPUTE: "compute",
    Metric.ACCELERATOR_COUNT: "chips",
    Metric.COST: "cost",
    Metric.POWER: "power",
}


def _amount(metric: Metric, value: float) -> str:
    if metric is Metric.TRAINING_COMPUTE:
        return f"{value:.1e} FLOP".replace("e+", "e")
    if metric is Metric.COST:
        return hz.usd(value).replace(" million", "M").replace(" billion", "B")
    if metric is Metric.POWER:
        return hz.watts(value)
    for scale, suffix in ((1e6, "M"), (1e3, "k")):  # chips: 232,716 -> 233k
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.0f}"


def _labels(rate: GrowthRate) -> dict[str, Any]:
    """What a fit is, for --json: its kind, basis, window and one-line label."""
    return {"kind": rate.kind.value, "basis": rate.basis.value, "window": rate.window,
            "label": rate.label()}  # fmt: skip


def _months(value: float) -> str:
    return f"{value:.1f}" if math.isfinite(value) else "∞"


def _project(fit: TrendFit, year: int) -> Projection:
    """The trend in ``year``; an error names the flag (--project-to)."""
    try:
        return fit.project(year)
    except ScenarioError as exc:
        raise ScenarioError(exc.field.replace("project_to", "--project-to"), exc.message) from None


def _projection_cell(metric: Metric, p: Projection) -> str:
    """The trend in a year, its interval, and how far it extrapolates past the runs."""
    low, high = (_amount(metric, v) for v in (p.interval.low, p.interval.high))
    if metric is Metric.TRAINING_COMPUTE:  # the unit once is enough
        low, high = low.removesuffix(" FLOP"), high.removesuffix(" FLOP")
    beyond = f"\n({p.years_beyond_fit:.0f} yr past the runs)" if p.years_beyond_fit else ""
    return f"{_amount(metric, p.value)}\n{low}-{high}{beyond}"


def show_trends(
    source: str,
    since: int,
    until: int | None,
    frontier: bool,
    project_to: int | None,
    bootstrap: int,
    seed: int,
    as_json: bool,
) -> None:
    """``gpuplan trends``: fit, then print the table or the JSON."""
    catalog = load_catalog()
    label, points = load_source(source, catalog)
    basis = Basis.of(frontier)
    published = {metric: published_growth(catalog, metric, basis) for metric in Metric}
    used_by = _used_by(basis)
    fits: dict[Metric, TrendFit] = {}
    skipped: dict[Metric, str] = {}
    for metric in Metric:
        try:
            fits[metric] = fit_trend(
                points,
                metric,
                since=since,
                until=until,
                frontier_only=frontier,
                bootstrap=bootstrap,
                seed=seed,
            )
        except ScenarioError as exc:
            if metric is Metric.TRAINING_COMPUTE:
                raise
            skipped[metric] = exc.message
    if as_json:
        out: dict[str, Any] = {
            "source": label,
            "since": since,
            "until": until,
            "frontier_only": frontier,
            "fits": {},
            "skipped": {m.value: why for m, why in skipped.items()},
        }
        for metric, fit in fits.items():
            rate = fitted_growth(fit, label)
            entry = {**fit.to_dict(), **_labels(rate)}
            if project_to is not None:
                entry["projection"] = _project(fit, project_to).to_dict()
            paper = published[metric]
            if paper is not None:
                entry["published"] = {
                    "id": paper.trend_id,
                    "range": [paper.low, paper.high] if paper.low and paper.high else None,
                    **paper.to_dict(),
                }
                entry["compared"] = compared(rate, paper)
                if metric is Metric.TRAINING_COMPUTE:
                    entry["published"]["used_by"] = used_by
            out["fits"][metric.value] = entry
        _emit_json(out)
        return
    scope = "frontier runs" if frontier else "all runs"
    window = f"{since}-{until}" if until is not None else f"since {since}"
    view = Table(title=f"Growth of training runs: {scope} {window}\n{label}")
    columns = ["", "runs", "x/yr", "doubling, months", "±OOM"]
    columns += [f"trend in {project_to}"] if project_to is not None else []
    columns += ["published"]
    for column in columns:
        view.add_column(column, justify="left" if not column else "right", overflow="fold")
    for metric, fit in fits.items():
        g, d = fit.growth_interval, fit.doubling_interval
        row = [
            LABELS[metric],
            str(fit.runs),
            f"{fit.growth_per_year:.2f}\n{g.low:.2f}-{g.high:.2f}",
            f"{_months(fit.doubling_months)}\n{_months(d.low)}-{_months(d.high)}",
            f"{fit.residual_std_ooms:.2f}",
        ]
        if project_to is not None:
            row.append(_projection_cell(metric, _project(fit, project_to)))
        row.append(_published_text(published[metric]))
        view.add_row(*row)
    notes = [f"not fitted: {m.value}: {why}" for m, why in skipped.items()]
    paper = published[Metric.TRAINING_COMPUTE]
    if paper is not None:
        fit_rate = fitted_growth(fits[Metric.TRAINING_COMPUTE], label)
        used = f"; the published rate is the one {used_by} use" if used_by else ""
        notes.append(escape(f"compute: {compared(fit_rate, paper)}{used}"))
    notes.append(
        f"second lines: 90% intervals ({bootstrap} bootstrap resamples, seed {seed}); "
        "±OOM: SD of runs about the line, orders of magnitude; "
        "published: "
        + ", ".join(p.trend_id or "" for m, p in published.items() if p and m in fits)
        + " (trends.yaml)"
    )
    view.caption = "\n".join(notes)
    console.print(view)


def show_scaling_fit(
    file: Path, bootstrap: int, seed: int, starts: int, level: float, as_json: bool
) -> None:
    """``gpuplan scaling-fit``: fit, then print the table or the JSON; a progress bar on
    standard error (when it is a terminal) while the bootstrap refits run."""
    runs = read_loss_csv(file)
    errors = Console(stderr=True)
    with Progress(console=errors, disable=not errors.is_terminal, transient=True) as bar:
        task = bar.add_task("bootstrap refits", total=bootstrap)
        fit = fit_scaling_law(
            runs, bootstrap=bootstrap, seed=seed, starts=starts, level=level,
            progress=lambda done, _: bar.update(task, completed=done),
        )  # fmt: skip
    if as_json:
        _emit_json({"file": str(file), **fit.to_dict()})
        return
    view = Table(title=f"Scaling law fitted to {fit.runs} runs in {file.name}")
    for column in ("constant", "value", f"{level:.0%} interval"):
        view.add_column(column, justify="left" if column == "constant" else "right")
    for name, label in (
        ("e", "E (irreducible loss)"),
        ("a", "A"),
        ("b", "B"),
        ("alpha", "alpha (parameters)"),
        ("beta", "beta (tokens)"),
        ("params_exponent", "a: N_opt ∝ C^a"),
        ("tokens_exponent", "b: D_opt ∝ C^b"),
    ):
        interval = getattr(fit, f"{name}_interval")
        view.add_row(
            label, f"{getattr(fit, name):.4g}", f"{interval.low:.4g} - {interval.high:.4g}"
        )
    view.caption = (
        f"Huber delta {fit.huber_delta:g}; L-BFGS from {fit.starts} of {fit.grid_size} grid "
        f"points; {fit.bootstrap} bootstrap resamples, seed {fit.seed}"
    )
    console.print(view)
