"""``gpuplan audit``: what a disclosed run implies (MFU, goodput, megawatts, energy, cost at
market prices) and whether it is physically plausible. Register with
``app.command("audit")(audit)``; bad input raises :class:`ScenarioError` (one line, exit 2).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from gpuplan.errors import ScenarioError

if TYPE_CHECKING:  # the library is imported when the command runs, not for `gpuplan --help`
    from gpuplan.catalog.loader import Catalog
    from gpuplan.checks.audit import Disclosure


def _disclosures(
    catalog: Catalog, disclosure_file: Path | None, flags: dict[str, Any], runs: bool
) -> list[Disclosure]:
    """What to audit: the catalog's runs, the flags, or a file (flags override a file
    holding one disclosure)."""
    from gpuplan.checks.audit import parse_disclosure
    from gpuplan.checks.audit_files import catalog_run_audits, load_audits

    if runs:
        if flags or disclosure_file is not None:
            raise ScenarioError("--runs", "audits the catalog's runs; give no file or flags")
        return catalog_run_audits(catalog)
    if disclosure_file is None:
        if not flags:
            raise ScenarioError("audit", "give a disclosure file or flags (--hardware, ...)")
        return [parse_disclosure(flags, "--")]
    disclosures = load_audits(disclosure_file)
    if not disclosures:
        raise ScenarioError(str(disclosure_file), "holds no audits (an 'audits:' list)")
    if flags and len(disclosures) == 1:
        merged = {**disclosures[0].model_dump(exclude_none=True), **flags}
        return [parse_disclosure(merged, str(disclosure_file))]
    if flags:
        raise ScenarioError("flags", "apply to a file holding one disclosure, not a list")
    return disclosures


def audit(
    disclosure_file: Annotated[
        Path | None,
        typer.Argument(help="YAML: one disclosure, or an 'audits' list (a claims file works)."),
    ] = None,
    run: Annotated[
        str | None, typer.Option(help="A catalog run id (gpuplan catalog runs) to start from.")
    ] = None,
    hardware: Annotated[str | None, typer.Option(help="Accelerator id, e.g. h800.")] = None,
    gpus: Annotated[int | None, typer.Option(help="GPUs the run used.")] = None,
    days: Annotated[float | None, typer.Option(help="Wall-clock days.")] = None,
    gpu_hours: Annotated[float | None, typer.Option(help="GPU-hours disclosed.")] = None,
    usd: Annotated[float | None, typer.Option(help="Dollars disclosed.")] = None,
    usd_per_gpu_hour: Annotated[
        float | None, typer.Option(help="The rate the lab priced GPU-hours at.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Catalog model id.")] = None,
    params: Annotated[float | None, typer.Option(help="Total parameters.")] = None,
    active_params: Annotated[float | None, typer.Option(help="Active parameters (MoE).")] = None,
    tokens: Annotated[float | None, typer.Option(help="Training tokens.")] = None,
    flops: Annotated[float | None, typer.Option(help="Training FLOPs disclosed.")] = None,
    precision: Annotated[str | None, typer.Option(help="bf16 or fp8.")] = None,
    name: Annotated[str | None, typer.Option(help="A name for the run.")] = None,
    runs: Annotated[
        bool, typer.Option("--runs", help="Audit every published run in the catalog.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Audit a disclosed run: implied MFU, goodput, megawatts, energy, cost; a verdict.

    Example: gpuplan audit --hardware h800 --gpus 2048 --gpu-hours 2.664e6 --active-params
    37e9 --tokens 14.8e12 --precision fp8
    """
    flags: dict[str, Any] = {
        k: v
        for k, v in dict(
            run=run, hardware=hardware, gpus=gpus, days=days, gpu_hours=gpu_hours, usd=usd,
            usd_per_gpu_hour=usd_per_gpu_hour, model=model, params=params,
            active_params=active_params, tokens=tokens, flops=flops, precision=precision,
            name=name,
        ).items()
        if v is not None
    }  # fmt: skip
    from gpuplan.catalog.loader import load_catalog
    from gpuplan.checks.audit_files import audit_each, audits_json
    from gpuplan.report.audit import audit_report, audits_table

    catalog = load_catalog()
    disclosures = _disclosures(catalog, disclosure_file, flags, runs)
    where = "runs" if runs else f"{disclosure_file}: audits"
    audits = audit_each(disclosures, catalog, where)
    if as_json:
        sys.stdout.write(json.dumps(audits_json(audits), indent=2) + "\n")
        return
    Console().print(audits_table(audits) if runs else audit_report(audits))
