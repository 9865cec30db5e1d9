"""The gpuplan command line: a thin adapter over the library. Every command has --json.

Bad input prints one line, ``gpuplan: error: <field>: <what is wrong and what is allowed>``,
to standard error and exits with status 2; never a traceback.
"""

from __future__ import annotations

import copy
import gc
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from gpuplan.cli.audit import audit as audit_command
from gpuplan.cli.finite import finite_floats
from gpuplan.cli.flags import with_scenario_flags
from gpuplan.cli.report import report as report_command
from gpuplan.cli.serve import serve as serve_command
from gpuplan.cli.sweep import sweep as sweep_command
from gpuplan.cli.trends import scaling_fit as scaling_fit_command
from gpuplan.cli.trends import trends as trends_command
from gpuplan.cli.validate import validate as validate_command
from gpuplan.cli.writes import HTML_SUFFIXES, check_writable, write_safely
from gpuplan.defaults import DEFAULT_SAMPLES, DEFAULT_SEED
from gpuplan.errors import GpuplanError, ScenarioError, shorten

# Each command imports the library it needs in its body, so that `gpuplan --help` and a
# command that needs little (plan with a fixed MFU) do not import the rest (web server,
# HTML templates, validation); tests/architecture/test_startup.py holds the line.

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="What an AI training run takes (GPUs, days, dollars, megawatts, CO2) and what it buys.",
)
console = Console()

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@app.command()
@with_scenario_flags
def plan(
    scenario: dict[str, Any],
    mc_samples: Annotated[
        int, typer.Option(min=2, help="Monte Carlo samples when the scenario holds ranges.")
    ] = DEFAULT_SAMPLES,
    seed: Annotated[int, typer.Option(min=0, help="Seed of that Monte Carlo.")] = DEFAULT_SEED,
    as_json: JsonFlag = False,
) -> None:
    """Plan a training run: time, GPU-hours, power, energy, CO2, cost and predicted loss.

    Example: gpuplan plan --model llama3-405b --hardware h100-sxm --gpus 16384 --tokens 15.6e12.
    A budget question leaves the model (and the GPUs) out: gpuplan plan --hardware h100-sxm
    --budget-usd 1e9 (or --power-mw 150, or --days 90 --gpus 16384).
    """
    from gpuplan.report.terminal import plan_report, scaling_report
    from gpuplan.scenario.distributions import has_distributions
    from gpuplan.studies.answer import answer, plan_results, single_scenarios
    from gpuplan.studies.budget import is_budget_question, plan_budget

    if as_json:
        _emit_json(answer(scenario, samples=mc_samples, seed=seed))
        return
    if is_budget_question(scenario):
        from gpuplan.report.budget import budget_report

        console.print(budget_report(plan_budget(scenario)))
        return
    singles = single_scenarios(scenario)
    if len(singles) == 1 and has_distributions(singles[0]):
        from gpuplan.cli.uncertainty import print_uncertainty

        print_uncertainty(singles[0], samples=mc_samples, seed=seed, as_json=False, console=console)
        return
    results = plan_results(scenario)
    console.print(plan_report(results[0]) if len(results) == 1 else scaling_report(results))


@app.command("search")
@with_scenario_flags
def search_command(
    scenario: dict[str, Any],
    allow_tp_beyond_domain: Annotated[
        bool, typer.Option(help="Let TP span scale-up domains.")
    ] = False,
    top: Annotated[int, typer.Option(min=1, max=100, help="Plans to list.")] = 5,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    compare_objectives: Annotated[
        bool,
        typer.Option(help="Show the plan for time to train next to the plan for step time."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Find the fastest parallel plans that fit; for several GPU counts, the scaling curve.

    Takes the same scenario file and flags as plan; the run (days with failures, cost) is
    the plan's. Example: gpuplan search --model llama3-405b --hardware h100-sxm --gpus
    1024..131072 --global-batch 2048 --tokens 15.6e12
    """
    from rich.progress import Progress

    from gpuplan.planning.result import PlanResult
    from gpuplan.report.terminal import plan_report, scaling_report, search_report
    from gpuplan.studies.answer import search_plans, single_scenarios

    singles = single_scenarios(scenario)
    if compare_objectives:
        from gpuplan.report.time_to_train import objectives_report
        from gpuplan.studies.time_to_train import compare_objectives as objective_comparisons

        comparisons = objective_comparisons(singles)
        if as_json:
            _emit_json({"comparisons": [c.to_dict() for c in comparisons]})
        else:
            console.print(objectives_report(comparisons))
        return
    results: list[PlanResult] = []
    with Progress(console=Console(stderr=True), disable=quiet or len(singles) == 1) as bar:
        task = bar.add_task("searching", total=len(singles))
        for one in singles:
            results.append(
                search_plans(one, top=top, allow_tp_beyond_domain=allow_tp_beyond_domain)
            )
            bar.advance(task)
    if as_json:
        from gpuplan.studies.time_to_train import shortest_run

        shortest = shortest_run(results) if len(results) > 1 else None
        data: dict[str, Any] = {"results": [r.to_dict() for r in results]}
        _emit_json(data | ({"shortest_run": shortest.to_dict()} if shortest else {}))
    elif len(results) > 1:
        console.print(scaling_report(results))
    elif results[0].search is None:  # every plan field given: nothing to search
        console.print(plan_report(results[0]))
    else:
        console.print(search_report(results[0]))


VERDICT_STYLES = {
    "supported": "green",
    "roughly-right": "green",
    "overstated": "yellow",
    "understated": "yellow",
    "wrong": "red",
    "unverifiable": "dim",
}


@app.command()
def demo(
    days: Annotated[
        float, typer.Option(min=1, max=3650, help="Training time to assess, in days.")
    ] = 90.0,
    mfu: Annotated[
        float | None,
        typer.Option(help="What-if: a flat MFU in (0, 1] for every cluster, not the modelled one."),
    ] = None,
    html: Annotated[
        Path | None, typer.Option(help="Also write the seed report as self-contained HTML here.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The seed article's clusters side by side: 700 H100, 2,000-4,000 TPUs, 100,000 H100,
    each training its compute-optimal model on the plan gpuplan's search finds.

    Example: gpuplan demo --days 90            (what-if: gpuplan demo --mfu 0.4)
    """
    from gpuplan.scenario.schema import MIN_MFU

    if mfu is not None and not MIN_MFU <= mfu <= 1:
        raise ScenarioError("--mfu", f"{mfu} is not in [{MIN_MFU:g}, 1]")
    from gpuplan.catalog.loader import load_catalog
    from gpuplan.checks.claims import check_all
    from gpuplan.report.demo import demo_dict, demo_report
    from gpuplan.report.terminal import claims_table
    from gpuplan.report.video_demo import video_demo_table
    from gpuplan.studies.seed import plan_seed_clusters
    from gpuplan.studies.video_seed import video_seed_runs

    if html is not None:
        check_writable(html, "--html", HTML_SUFFIXES, create_folders=True)
    catalog = load_catalog()
    data = demo_dict(
        list(catalog.seed_clusters.values()), plan_seed_clusters(catalog, days, mfu), days, mfu
    )
    claims = check_all(catalog)
    video = video_seed_runs(catalog, days)
    if as_json:
        _emit_json({**data, "video_runs": video, "claims": [c.as_dict() for c in claims]})
    else:
        console.print(demo_report(data, catalog))
        console.print(video_demo_table(video, days))
        console.print(claims_table(claims, VERDICT_STYLES))
    if html is not None:
        from gpuplan.report.html import seed_report_data, write_report  # plotly: when asked

        report_data = seed_report_data(catalog, days=days, mfu=mfu)
        write_safely(lambda to: write_report(report_data, to), html, "--html")
        (sys.stderr if as_json else sys.stdout).write(f"HTML report: {html.resolve()}\n")


app.command("validate")(validate_command)


@app.command("check")
def check_command(
    claims_file: Annotated[
        Path | None, typer.Argument(help="A claims YAML file (default: the seed's claims).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check claims about the compute race: each gets a verdict with its numbers.

    Example: gpuplan check            (the seed article's claims C1..C10)
    """
    from gpuplan.catalog.loader import load_catalog
    from gpuplan.checks.audit_files import audit_each, load_audits
    from gpuplan.checks.claims import check_all, load_claims
    from gpuplan.report.audit import audit_report
    from gpuplan.report.terminal import claims_table

    catalog = load_catalog()
    results = check_all(catalog, load_claims(claims_file))
    where = f"{claims_file or 'claims.yaml'}: audits"
    audits = audit_each(load_audits(claims_file), catalog, where)
    if not results and not audits:  # printed nothing, exit 0
        raise ScenarioError(str(claims_file), "holds no claims and no audits; nothing to check")
    if as_json:
        _emit_json(
            {"claims": [r.as_dict() for r in results], "audits": [a.as_dict() for a in audits]}
        )
        return
    if results:
        console.print(claims_table(results, VERDICT_STYLES))
    if audits:
        console.print(audit_report(audits))


CATALOG_TABLES = (
    "accelerators",
    "models",
    "grids",
    "electricity_prices",
    "households",
    "pue",
    "systems",
    "scaling_laws",
    "seed_clusters",
    "efficiency",
    "frameworks",
    "clusters",
    "runs",
    "trends",
    "failure_rates",
)


@app.command("catalog")
def catalog_command(
    table: Annotated[
        str, typer.Argument(help=f"One of: {', '.join(CATALOG_TABLES)}.")
    ] = "accelerators",
    as_json: JsonFlag = False,
) -> None:
    """List catalog records with their sources.

    Example: gpuplan catalog accelerators
    """
    if table not in CATALOG_TABLES:
        raise ScenarioError(
            "table", f"'{table}' is not a catalog table; allowed: {', '.join(CATALOG_TABLES)}"
        )
    from rich.table import Table

    from gpuplan.catalog.loader import load_catalog

    records = getattr(load_catalog(), table)
    if as_json:
        _emit_json({key: record.model_dump(mode="json") for key, record in records.items()})
        return
    view = Table(title=f"catalog: {table}", show_lines=True)
    view.add_column("id", style="bold")
    view.add_column("name")
    view.add_column("source")
    view.add_column("retrieved")
    for key, record in records.items():
        view.add_row(key, getattr(record, "name", ""), record.source, str(record.retrieved))
    console.print(view)


app.command("trends")(trends_command)
app.command("scaling-fit")(scaling_fit_command)
app.command("report")(report_command)
app.command("serve")(serve_command)
app.command("sweep")(sweep_command)
app.command("audit")(audit_command)


def _group() -> None:
    """The group's callback in :func:`command_app` (no options: the group's are ``app``'s)."""


def command_app(argv: list[str]) -> typer.Typer:
    """``app`` with only the command that ``argv`` names first, so that typer builds that
    command's flags alone (each command's cost ~1 ms of CPU, 12 commands); ``app`` itself for
    anything else (``--help``, no command, an unknown one). Its output is ``app``'s: a group
    with a callback stays a group, and the callback has no options and prints nothing."""
    name = argv[0] if argv else None
    chosen = [
        info
        for info in app.registered_commands
        if (info.name or typer.main.get_command_name(getattr(info.callback, "__name__", "")))
        == name
    ]
    if not chosen:
        return app
    lean = copy.copy(app)
    lean.registered_commands = chosen
    lean.callback()(_group)
    return lean


def main() -> None:
    """The command line (run by :func:`gpuplan.cli.main`, which sets the collector's
    thresholds first): errors from gpuplan become one line and exit status 2."""
    gc.freeze()  # what the command line has built so far lives until the command exits
    try:
        code = finite_floats(command_app(sys.argv[1:2]))(standalone_mode=False)
    except GpuplanError as exc:
        sys.stderr.write(f"gpuplan: error: {exc}\n")
        raise SystemExit(2) from None
    except typer.Abort:
        sys.stderr.write("gpuplan: aborted\n")
        raise SystemExit(1) from None
    except typer.TyperException as exc:  # a bad flag or argument, before any work
        line = usage_line(exc)  # none after the help that a bare 'gpuplan' prints
        sys.stderr.write(f"gpuplan: error: {line}\n" if line else "")
        raise SystemExit(getattr(exc, "exit_code", 2)) from None
    raise SystemExit(code if isinstance(code, int) and not isinstance(code, bool) else 0)


def usage_line(exc: Exception) -> str:
    """A usage error on one line: the flag, the value given and what is allowed ('Invalid
    value for '--top': ...' was a five-line box without the value); '' for none."""
    param = getattr(exc, "param", None)
    errors = getattr(exc.__cause__, "errors", None)  # typer checks flags with pydantic
    if param is not None and callable(errors):
        name = (getattr(param, "opts", None) or [param.name])[0]
        given = shorten(repr(errors()[0].get("input")))
        message = f"{name} = {given}: {getattr(exc, 'message', exc)}"
    else:
        format_message = getattr(exc, "format_message", None)
        message = str(format_message() if callable(format_message) else exc)
    ctx = getattr(exc, "ctx", None)
    message = " ".join(message.split()).rstrip(".")
    return message + (f" (see '{ctx.command_path} --help')" if ctx and message else "")
