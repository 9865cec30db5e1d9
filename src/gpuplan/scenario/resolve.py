"""Resolving a scenario: catalog ids looked up, defaults filled from the catalog (each
sourced), every value in SI units."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gpuplan import units
from gpuplan.catalog.loader import Catalog, unknown_id_message
from gpuplan.catalog.schema import Accelerator, ElectricityPrice, Grid, Household, Model
from gpuplan.catalog.shapes import sequence_length
from gpuplan.errors import CatalogError, ScenarioError
from gpuplan.scenario.schema import InlineModel, Precision, Scenario


@dataclass(frozen=True)
class ResolvedScenario:
    """A scenario with its catalog records looked up and every value in SI units."""

    scenario: Scenario
    model: Model
    accelerator: Accelerator
    gpus: int
    seq_len: int
    global_batch: int | None
    precision: Precision
    peak_flops_per_s: float
    """Dense peak of one accelerator at the training precision (FP8 or BF16)."""
    mfu_peak_flops_per_s: float
    """The peak MFU and HFU are measured against: the dense BF16 peak, for every precision."""
    tokens: float | None
    duration_s: float | None
    mfu: float | None
    """A what-if MFU (against the dense BF16 peak) given by the user, or None: modelled."""
    gpu_price_usd: float
    cloud_usd_per_gpu_hour: float
    cloud_price_basis: str
    grid: Grid
    pue: float
    pue_basis: str
    electricity: ElectricityPrice | None
    power_usd_per_kwh: float
    household: Household

    @property
    def mfu_is_what_if(self) -> bool:
        """Throughput from a given MFU instead of the performance model."""
        return self.mfu is not None


def _catalog_id(catalog_table: Mapping[str, Any], value: str, kind: str, field: str) -> None:
    if value not in catalog_table:
        raise ScenarioError(field, unknown_id_message(kind, value, list(catalog_table)))


def resolve(scenario: Scenario, catalog: Catalog) -> ResolvedScenario:
    """Look up catalog ids and fill defaults from the catalog (each default is sourced)."""
    if isinstance(scenario.model, InlineModel):
        model = scenario.model.to_model()
    else:
        _catalog_id(catalog.models, scenario.model, "model", "model")
        model = catalog.model(scenario.model)
    _catalog_id(catalog.accelerators, scenario.hardware, "accelerator", "hardware")
    accelerator = catalog.accelerator(scenario.hardware)
    training = scenario.training
    site = scenario.site
    _catalog_id(catalog.grids, site.grid, "grid", "site.grid")
    _catalog_id(catalog.households, site.households, "household country", "site.households")

    if training.precision is Precision.FP8:
        peak = accelerator.peak_fp8_flops_per_s
        if peak is None:
            raise ScenarioError(
                "training.precision = 'fp8'",
                f"{accelerator.id} has no FP8 tensor path; allowed: bf16",
            )
    else:
        peak = accelerator.peak_bf16_flops_per_s

    seq_len = training.seq_len or sequence_length(model)
    tokens = training.tokens
    if training.samples is not None:
        tokens = training.samples * seq_len
    duration_s = training.days * units.DAY_S if training.days is not None else None
    if tokens is None and duration_s is None:
        tokens = model.training_tokens_published
        if tokens is None:
            raise ScenarioError(
                "training",
                f"give training.tokens, training.days or training.samples "
                f"({model.id} has no published token count to default to)",
            )

    electricity: ElectricityPrice | None = catalog.electricity_prices.get(site.grid)
    if site.power_usd_per_kwh is not None:
        power_price = site.power_usd_per_kwh
    elif electricity is not None:
        power_price = electricity.usd_per_kwh
    else:
        raise ScenarioError(
            "site.power_usd_per_kwh",
            f"required: the catalog has no electricity price for grid '{site.grid}' "
            f"(it has: {', '.join(sorted(catalog.electricity_prices))})",
        )
    if site.pue is not None:
        pue, pue_basis = site.pue, "given in the scenario"
    else:
        default = catalog.pue["typical"]
        pue, pue_basis = default.value, f"catalog default '{default.id}' ({default.source})"

    cloud = accelerator.default_cloud
    if scenario.prices.cloud_usd_per_gpu_hour is not None:
        cloud_price, cloud_basis = scenario.prices.cloud_usd_per_gpu_hour, "given in the scenario"
    else:
        cloud_price = cloud.usd_per_hour
        cloud_basis = f"{cloud.provider} {cloud.term.value}, {cloud.date.isoformat()}"

    try:
        household = catalog.household(site.households)
    except CatalogError as exc:  # pragma: no cover - checked above
        raise ScenarioError("site.households", str(exc)) from None

    return ResolvedScenario(
        scenario=scenario,
        model=model,
        accelerator=accelerator,
        gpus=scenario.gpus,
        seq_len=seq_len,
        global_batch=training.global_batch,
        precision=training.precision,
        peak_flops_per_s=peak,
        mfu_peak_flops_per_s=accelerator.peak_bf16_flops_per_s,
        tokens=tokens,
        duration_s=duration_s,
        mfu=training.mfu,
        gpu_price_usd=scenario.prices.gpu_usd or accelerator.purchase.usd,
        cloud_usd_per_gpu_hour=cloud_price,
        cloud_price_basis=cloud_basis,
        grid=catalog.grid(site.grid),
        pue=pue,
        pue_basis=pue_basis,
        electricity=electricity,
        power_usd_per_kwh=power_price,
        household=household,
    )
