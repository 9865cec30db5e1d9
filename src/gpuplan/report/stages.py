"""Terminal rows of a staged run: each stage, then the run's totals (their sums), read from
the result's JSON (:func:`gpuplan.planning.serialize.staged_dict`), the one definition."""

from __future__ import annotations

from typing import Any

from gpuplan.planning.result import PlanResult
from gpuplan.report import humanize as hz


def _clip_text(clip: dict[str, Any] | None, seq_len: int | None) -> str:
    if clip is None:
        return f"{hz.number(seq_len or 0)} tokens"
    return (
        f"{clip['frames']} × {clip['height']}×{clip['width']} px "
        f"({hz.number(clip['latent_tokens'])} latent tokens)"
    )


def _stage_row(stage: dict[str, Any]) -> tuple[str, str]:
    head = f"{stage['gpus']:,} GPUs, {_clip_text(stage['clip'], stage['seq_len'])}"
    run = stage["run"]
    if run is None:
        return f"Stage '{stage['name']}'", f"{head}: does not fit ({stage['infeasible_reason']})"
    return (
        f"Stage '{stage['name']}'",
        f"{head}: {hz.number(run['samples'])} clips, {hz.days(run['days'])}, "
        f"{hz.number(run['gpu_hours'])} GPU-hours, MFU {hz.percent(stage['step']['mfu'])}",
    )


def staged_rows(result: PlanResult) -> list[tuple[str, str]]:
    """One row per stage, then the totals of the run (sums over its stages)."""
    data = result.to_dict()
    rows = [_stage_row(stage) for stage in data["stages"]]
    run = data["run"]
    if run is None:
        return rows
    energy, cost = data["energy"], data["cost"]
    rows += [
        ("Training compute, all stages", hz.flops(run["model_flops"])),
        ("Time to train, all stages, with failures", hz.days(run["days"])),
        ("GPU-hours, all stages", hz.number(run["gpu_hours"])),
        ("Energy, all stages", hz.watt_hours(energy["mwh"] * 1e6)),
        ("Emissions, all stages", hz.tonnes(data["emissions"]["tco2e"])),
        ("Run cost, amortised, all stages", hz.usd(cost["amortized_usd"])),
        ("Run cost, cloud rental, all stages", hz.usd(cost["cloud_usd"])),
    ]
    scaling = data["scaling"] or {}
    if scaling.get("predicted_loss") is None and scaling.get("note"):
        rows.append(("Predicted loss", scaling["note"]))
    return rows
