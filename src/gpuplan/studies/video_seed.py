"""The seed article's video claims as video runs (``gpuplan demo``'s video table).

Each record of ``catalog/data/seed_video.yaml`` names a seed cluster and a scenario: a
published video diffusion transformer of the class the claim names, at a published clip.
The demo runs it for its days: a scenario without ranges is planned
(:func:`gpuplan.planning.run.plan`); one with ranges (Veo 3's unpublished GPU count) goes
through the Monte Carlo (:func:`gpuplan.studies.uncertainty.run_uncertainty`) and reports
the P10-P90 band. No text-LLM loss: video models have no validated scaling law here.
"""

from __future__ import annotations

import functools
from typing import Any

from gpuplan.catalog.loader import Catalog, _parse, _read_yaml
from gpuplan.catalog.schema.video import SeedVideoRun
from gpuplan.planning.accounts import NO_VIDEO_LAW
from gpuplan.planning.run import plan
from gpuplan.scenario.distributions import (
    centered,
    find_distributions,
    has_distributions,
    with_values,
)
from gpuplan.scenario.parse import parse_scenario
from gpuplan.studies.uncertainty import run_uncertainty

SAMPLES = 200
"""Monte Carlo samples of a run with ranges (the GPU count is quantised for the search)."""
LEVELS = 6
"""Distinct GPU counts searched in the Monte Carlo."""
SHOWN = ("run.samples", "run.gpu_hours", "step.mfu", "energy.mwh", "emissions.tco2e",
         "cost.amortized_usd", "cost.cloud_usd", "power.facility_w")  # fmt: skip
"""The numbers the demo's video table shows, by JSON path."""


@functools.cache
def load_seed_video() -> dict[str, SeedVideoRun]:
    return _parse("seed_video.yaml", "runs", SeedVideoRun, _read_yaml("seed_video.yaml"))


def _path(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def video_run(run: SeedVideoRun, catalog: Catalog, days: float) -> dict[str, Any]:
    """One run's numbers: ``{path: {p10, p50, p90}}`` (one value for all three when no
    input is uncertain), with the scenario and the plan's clip."""
    scenario = with_values(run.scenario, {"training.days": days})
    center: dict[str, Any]
    if has_distributions(scenario):
        mc = run_uncertainty(scenario, samples=SAMPLES, catalog=catalog, levels=LEVELS).to_dict()
        out = mc["outputs"]
        numbers = {k: {q: out[k][q] for q in ("p10", "p50", "p90")} for k in SHOWN if k in out}
        middle = centered(scenario, find_distributions(scenario))
        center = plan(parse_scenario(middle), catalog).to_dict()
        # the band's samples that fit decide; the centre only gives the model and its clip
        center["fits"] = mc["feasible_samples"] > 0
        center["infeasible_reason"] = None if center["fits"] else "no sample fits"
    else:
        center = plan(parse_scenario(scenario), catalog).to_dict()
        numbers = {k: dict.fromkeys(("p10", "p50", "p90"), _path(center, k)) for k in SHOWN}
    return {
        "id": run.id,
        "label": run.label,
        "cluster": run.cluster,
        "claim": run.claim,
        "model": center["model"],
        "scenario": scenario,
        "fits": center["fits"],
        "infeasible_reason": center["infeasible_reason"],
        "numbers": numbers,
        "loss_note": NO_VIDEO_LAW,
        "source": run.source,
    }


def video_seed_runs(catalog: Catalog, days: float) -> list[dict[str, Any]]:
    """Every video run of the seed article, for ``days``."""
    return [video_run(run, catalog, days) for run in load_seed_video().values()]
