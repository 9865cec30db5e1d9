"""The seed demo (``gpuplan demo``): the article's clusters side by side, each with its
planned compute-optimal model (:mod:`gpuplan.studies.seed`).

Every number comes from the clusters' plan results through ``PlanResult.to_dict()``, the one
JSON form every door shares: :func:`demo_cluster` reads it once, and the table and the JSON
show what it read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import SeedCluster
from gpuplan.planning.result import PlanResult
from gpuplan.report import humanize as hz
from gpuplan.studies.seed import ROUNDS, SHAPE_FAMILY

SHAPE_KEYS = ("layers", "hidden", "heads", "kv_heads", "ffn_hidden")


def demo_cluster(cluster: SeedCluster, result: PlanResult) -> dict[str, Any]:
    """One cluster's demo numbers, read from ``result.to_dict()`` (kept whole as ``result``)."""
    data = result.to_dict()
    scenario = data["scenario"]
    run, power, energy = data["run"] or {}, data["power"] or {}, data["energy"] or {}
    cost, scaling = data["cost"] or {}, data["scaling"] or {}
    return {
        "id": cluster.id,
        "label": cluster.label,
        "claim": cluster.claim,
        "year": cluster.year,
        "hardware": scenario["hardware"],
        "gpus": scenario["gpus"],
        "fits": data["fits"],
        "infeasible_reason": data["infeasible_reason"],
        "model": {
            "id": data["model"]["id"],
            "params": data["model"]["params"],
            **{k: scenario["model"][k] for k in SHAPE_KEYS},
        },
        "tokens": run.get("tokens"),
        "global_batch": data["plan"]["global_batch"],
        "seq_len": scenario["training"]["seq_len"],
        "plan": data["plan"],
        "mfu": data["step"]["mfu"],
        "mfu_is_what_if": scenario["training"].get("mfu") is not None,
        "goodput": run.get("goodput"),
        "days": run.get("days"),
        "model_flops": run.get("model_flops"),
        "facility_w": power.get("facility_w"),
        "peak_facility_w": power.get("peak_facility_w"),
        "energy_mwh": energy.get("mwh"),
        "yearly_gwh": energy.get("yearly_gwh"),
        "households": energy.get("households_equivalent"),
        "tco2e": (data["emissions"] or {}).get("tco2e"),
        "gpu_capex_usd": cost.get("gpu_capex_usd"),
        "cluster_capex_usd": cost.get("cluster_capex_usd"),
        "amortized_usd": cost.get("amortized_usd"),
        "cloud_usd": cost.get("cloud_usd"),
        "predicted_loss": scaling.get("predicted_loss"),
        "source": cluster.source,
        "result": data,
    }


def demo_dict(
    clusters: Sequence[SeedCluster],
    results: Mapping[str, PlanResult],
    days: float,
    mfu: float | None,
) -> dict[str, Any]:
    """The demo's JSON: the run length, the MFU what-if (null: modelled) and each cluster."""
    return {
        "days": days,
        "mfu_what_if": mfu,
        "clusters": [demo_cluster(c, results[c.id]) for c in clusters],
    }


def _plan_text(plan: Mapping[str, Any]) -> str:
    if plan.get("tp") is None:
        return "—"
    gpus = plan["tp"] * plan["pp"] * plan["dp"] * plan["cp"]
    return (
        f"TP{plan['tp']} PP{plan['pp']} DP{plan['dp']} CP{plan['cp']} mb{plan['microbatch']} "
        f"v{plan['interleave']} {plan['recompute']}{' SP' if plan['sequence_parallel'] else ''} "
        f"ZeRO{plan['zero']} ({gpus:,} GPUs)"
    )


def _value(key: str, fmt: Callable[[Any], str]) -> Callable[[dict[str, Any]], str]:
    return lambda c: "—" if c[key] is None else fmt(c[key])


def _rows(mfu_label: str, grid: str, homes: str) -> list[tuple[str, Callable[[Any], str]]]:
    m = "model"
    return [
        ("GPUs", lambda c: f"{c['gpus']:,}"),
        ("Model (compute-optimal, dense)", lambda c: hz.number(c[m]["params"]) + " params"),
        ("…shape: layers × width (heads)",
         lambda c: f"{c[m]['layers']} × {c[m]['hidden']:,} ({c[m]['heads']})"),
        ("…trained on", _value("tokens", lambda v: hz.number(v) + " tokens")),
        ("Global batch", lambda c: f"{c['global_batch']:,} × {c['seq_len']:,} tokens"),
        ("Parallel plan (searched)", lambda c: _plan_text(c["plan"])),
        (mfu_label, _value("mfu", hz.percent)),
        ("Goodput (failures, checkpoints, restarts)", _value("goodput", hz.percent)),
        ("Days, failures included", _value("days", hz.days)),
        ("Training compute (model FLOPs)", _value("model_flops", hz.flops)),
        ("Facility power, average in training", _value("facility_w", hz.watts)),
        ("Facility power, provisioned", _value("peak_facility_w", hz.watts)),
        ("Energy of the run", _value("energy_mwh", lambda v: hz.watt_hours(v * 1e6))),
        (f"…as many homes as ({homes}), a year", _value("households", hz.number)),
        (f"CO2 of the run ({grid} grid)", _value("tco2e", hz.tonnes)),
        ("Processors alone (GPU capex)", _value("gpu_capex_usd", hz.usd)),
        ("Full cluster capex (servers, network, building)",
         _value("cluster_capex_usd", hz.usd)),
        ("Cost of the run (amortised hardware + energy)", _value("amortized_usd", hz.usd)),
        ("Cost of the run (cloud rental)", _value("cloud_usd", hz.usd)),
        ("Predicted loss (nats/token)", _value("predicted_loss", lambda v: f"{v:.3f}")),
    ]  # fmt: skip


def demo_report(data: Mapping[str, Any], catalog: Catalog) -> Group:
    """The clusters side by side (``data``: :func:`demo_dict`), with how they were made."""
    clusters = data["clusters"]
    mfu = data["mfu_what_if"]
    first = clusters[0]["result"]
    what_if = f", at a flat {mfu:.0%} MFU (what-if)" if mfu is not None else ""
    table = Table(
        title=f"The article's clusters: what they take, and what {data['days']:g} days of "
        f"them buy{what_if}",
        header_style="bold",
    )
    table.add_column("", style="bold")
    for c in clusters:
        table.add_column(f"{c['label']}\n({c['year']})", justify="right")
    grid = catalog.grid(first["emissions"]["grid"]).name if first["emissions"] else "site"
    homes = catalog.household(first["scenario"]["site"]["households"]).name
    label = "MFU (what-if, --mfu)" if mfu is not None else "MFU (modelled)"
    table.add_row("Accelerator", *(catalog.accelerator(c["hardware"]).name for c in clusters))
    for name, cell in _rows(label, grid, homes):
        table.add_row(name, *(cell(c) for c in clusters))
    notes = Text()
    notes.append("How these numbers are made\n", style="bold")
    lines = [
        "Each cluster trains the compute-optimal dense model for what it delivers in "
        f"{data['days']:g} days ({catalog.scaling_law().name}), shaped like the "
        f"{catalog.shape_family(SHAPE_FAMILY).name}, with the compute rule's batch (Bi et al. "
        f"2024); model, batch and plan are iterated over {ROUNDS} plans (plan -> delivered "
        "FLOPs -> model -> plan).",
        "MFU: "
        + (
            f"a flat {mfu:.0%} given with --mfu (a what-if); the plan still decides memory."
            if mfu is not None
            else "gpuplan's performance model, on the parallel plan its search finds fastest."
        ),
        "Failures: Llama 3's failure rate per GPU-hour, restarts and Young/Daly checkpoints.",
        "Power, energy, capex and cost as in `gpuplan plan` (Epoch AI's method).",
    ]
    lines += [f"{c['label']}: {c['infeasible_reason']}" for c in clusters if not c["fits"]]
    warned = (a for c in clusters for a in c["result"]["assumptions"] if a.startswith("Warning"))
    lines += list(dict.fromkeys(warned))  # a what-if MFU above every measured run's, once
    for line in lines:
        notes.append(f"• {line}\n")
    notes.append("Every assumption of each plan: `gpuplan demo --json`.", style="dim")
    return Group(table, notes)
