"""Claims about what a cluster takes and buys: its capex, its electricity in homes, and the
loss its compute buys.

Capex and power depend on the cluster, not on the model or its MFU: they come from the
cluster accounts (:func:`gpuplan.accounting.cluster.assess_cluster`). Trainable compute and
loss come from the seed study's plans (:func:`gpuplan.studies.seed.plan_cluster`), the same
plans as ``gpuplan demo``: a compute-optimal model on a searched plan, modelled MFU.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gpuplan.accounting.cluster import assess_cluster
from gpuplan.catalog.loader import Catalog
from gpuplan.checks.computed import Computed, arg
from gpuplan.studies.seed import plan_cluster


def gpu_capex(catalog: Catalog, args: Mapping[str, Any]) -> Computed:
    chip = catalog.accelerator(arg(args, "accelerator"))
    gpus = int(arg(args, "gpus"))
    price = float(args.get("gpu_usd") or chip.purchase.usd)
    a = assess_cluster(catalog, chip.id, gpus, 365.25, gpu_price_usd=price)
    capex = a.accounts.capex
    return Computed(
        capex.gpu_capex_usd,
        f"{gpus:,} x ${price:,.0f} = ${capex.gpu_capex_usd / 1e9:.2f} billion for the chips. "
        f"With servers, networking and the building (Epoch AI's method; Cushman & Wakefield "
        f"2025) the cluster costs ${capex.cluster_capex_usd / 1e9:.1f} billion, and a year of "
        f"electricity ${a.accounts.cost.energy_usd / 1e6:,.0f} million.",
        (chip.purchase.source, catalog.system("server_cost_ratio").source),
    )


def city_equivalent(catalog: Catalog, args: Mapping[str, Any]) -> Computed:
    chip = catalog.accelerator(arg(args, "accelerator"))
    country = str(arg(args, "households"))
    a = assess_cluster(catalog, chip.id, int(arg(args, "gpus")), 365.25, countries=(country,))
    homes = a.households_by_country[country]
    people = homes * float(arg(args, "persons_per_household"))
    household = catalog.household(country)
    return Computed(
        people,
        f"The facility draws {a.accounts.power.facility_w / 1e6:,.0f} MW on average "
        f"({a.accounts.power.peak_facility_w / 1e6:,.0f} MW provisioned): "
        f"{a.accounts.energy.yearly_gwh:,.0f} GWh a year, as much as {homes:,.0f} "
        f"{household.name} homes ({household.kwh_per_year:,.0f} kWh each), i.e. about "
        f"{people:,.0f} people.",
        (household.source, str(args.get("persons_source", "")), str(args.get("city_source", ""))),
    )


def loss_improvement(catalog: Catalog, args: Mapping[str, Any]) -> Computed:
    """Both clusters' plans from the seed study (:func:`gpuplan.studies.seed.plan_cluster`)."""
    chip, days = str(arg(args, "accelerator")), float(arg(args, "days"))
    gpus = [int(arg(args, "gpus_from")), int(arg(args, "gpus_to"))]
    s, g = (plan_cluster(catalog, chip, n, days).result.to_dict() for n in gpus)
    if s["run"] is None or g["run"] is None:
        return Computed(None, f"no parallel plan fits {chip} at {gpus[0]:,} or {gpus[1]:,}")
    law = catalog.scaling_law(s["scaling"]["law"])
    (c_s, l_s), (c_g, l_g) = (
        (d["run"]["model_flops"], d["scaling"]["predicted_loss"]) for d in (s, g)
    )
    factor = (l_s - law.e) / (l_g - law.e)
    return Computed(
        factor,
        f"{c_g / c_s:,.0f}x the compute ({c_s:.2g} -> {c_g:.2g} FLOP in {days:g} days; modelled "
        f"MFU {s['step']['mfu']:.0%} and {g['step']['mfu']:.0%}, goodput {s['run']['goodput']:.0%} "
        f"and {g['run']['goodput']:.0%}; compute-optimal models, as in `gpuplan demo`) lowers the "
        f"predicted loss from {l_s:.3f} to {l_g:.3f} nats/token ({law.name}); the part above the "
        f"irreducible {law.e:.3f} falls {factor:.1f}x.",
        (law.source,),
    )
