"""Audits in files: the ``audits:`` list of a claims file (``gpuplan check``, ``gpuplan
audit FILE``) and the ``check: audit`` computation a claim may use (:mod:`.claims`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gpuplan.catalog.loader import Catalog
from gpuplan.checks.audit import Audit, Disclosure, audit, parse_disclosure
from gpuplan.checks.computed import Computed, arg
from gpuplan.errors import ScenarioError
from gpuplan.scenario.parse import read_yaml_file


def parse_audits(data: Any, where: str) -> list[Disclosure]:
    """The ``audits:`` list of a claims (or audits) file; one disclosure for a file that is a
    single disclosure mapping."""
    prefix = f"{where}: " if where else ""
    if isinstance(data, Mapping) and "audits" in data:
        rows = data["audits"]
        if not isinstance(rows, list):
            raise ScenarioError(f"{prefix}audits", "must be a list of disclosures")
        return [parse_disclosure(row, f"{prefix}audits[{i}]") for i, row in enumerate(rows)]
    if isinstance(data, Mapping) and "claims" in data:
        return []
    return [parse_disclosure(data, where)]


def load_audits(path: Path | None = None) -> list[Disclosure]:
    """The seed's audits (claims.yaml), or those of a user's claims or audits file."""
    if path is None:
        text = resources.files("gpuplan.catalog").joinpath("data", "claims.yaml").read_text()
        return parse_audits(yaml.safe_load(text), "claims.yaml")
    return parse_audits(read_yaml_file(path, "audits"), str(path))


def audits_json(audits: Sequence[Audit]) -> dict[str, Any]:
    """The audits as JSON (``gpuplan audit --json``, ``/api/audit``): ``{"audits": [...]}``."""
    return {"audits": [a.as_dict() for a in audits]}


def audit_data(
    data: Any, catalog: Catalog, where: str = "", limit: int | None = None
) -> list[Audit]:
    """Audit a mapping: one disclosure or an ``audits:`` list (:func:`parse_audits`); the
    library call behind ``/api/audit``. ``limit`` caps how many one call audits."""
    disclosures = parse_audits(data, where)
    if not disclosures:
        raise ScenarioError(where or "audits", "holds no audits (an 'audits:' list)")
    if limit is not None and len(disclosures) > limit:
        raise ScenarioError(
            f"{where or 'audits'}", f"holds {len(disclosures)} audits; at most {limit} per request"
        )
    return audit_each(disclosures, catalog, f"{where}: audits" if where else "audits")


def audit_each(disclosures: Sequence[Disclosure], catalog: Catalog, where: str) -> list[Audit]:
    """Each disclosure audited; of several, an error names which one (``where[1].field``:
    an unknown id or FP8 on a chip without it in the second of a list named no entry)."""
    audits = []
    for index, disclosure in enumerate(disclosures):
        try:
            audits.append(audit(disclosure, catalog))
        except ScenarioError as exc:
            if len(disclosures) == 1:
                raise
            raise ScenarioError(f"{where}[{index}].{exc.field}", exc.message) from None
    return audits


AUDIT_QUANTITIES = (
    "mfu", "goodput_adjusted_mfu", "mfu_vs_precision_peak", "flops", "gpu_hours", "gpus",
    "days", "facility_mw", "energy_mwh", "cost_usd_market", "cost_usd_stated_rate",
)  # fmt: skip


def audit_claim(catalog: Catalog, args: Mapping[str, Any]) -> Computed:
    """A claim's check (``check: audit``): the disclosure in ``args`` audited; the value is
    the implied quantity ``args.report`` (one of :data:`AUDIT_QUANTITIES`)."""
    report = arg(args, "report")
    if report not in AUDIT_QUANTITIES:
        raise ScenarioError(f"args.report = {report!r}", f"allowed: {', '.join(AUDIT_QUANTITIES)}")
    disclosure = {k: v for k, v in args.items() if k != "report"}
    result = audit(parse_disclosure(disclosure, "args"), catalog)
    text = f"Audit verdict: {result.verdict}. " + " ".join(
        s.rstrip(".") + "." for s in (*result.reasons, *result.derivations)
    )
    return Computed(result.numbers.get(report), text, (result.disclosure.source,))


def catalog_run_audits(catalog: Catalog) -> list[Disclosure]:
    """One disclosure per catalog run (runs.yaml) that names its accelerator and its count
    with days or GPU-hours: what the published figures imply, run by run."""
    return [
        Disclosure(run=r.id)
        for r in catalog.runs.values()
        if r.accelerator and r.accelerator_count and (r.days or r.gpu_hours)
    ]
