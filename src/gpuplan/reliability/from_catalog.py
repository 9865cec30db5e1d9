"""The reliability model's inputs from the catalog (reliability.yaml): failure rate,
checkpoint and restart parameters, each with its source."""

from __future__ import annotations

from gpuplan import units
from gpuplan.catalog import Catalog, load_catalog
from gpuplan.catalog.loader import unknown_id_message
from gpuplan.catalog.schema import ReliabilityParameterId
from gpuplan.errors import CatalogError
from gpuplan.reliability.analytical import (
    ReliabilityEstimate,
    ReliabilityRates,
    estimate_reliability,
)


def rates_from_catalog(
    catalog: Catalog | None = None, failure_rate_id: str | None = None
) -> ReliabilityRates:
    """The catalog's defaults (reliability.yaml); the default failure rate unless one is named."""
    catalog = catalog if catalog is not None else load_catalog()
    if failure_rate_id is None:
        defaults = [r for r in catalog.failure_rates.values() if r.default]
        if len(defaults) != 1:
            found = [r.id for r in defaults]
            raise CatalogError(
                f"reliability.yaml: exactly one failure rate needs default: true (found {found})"
            )
        rate = defaults[0]
    elif failure_rate_id in catalog.failure_rates:
        rate = catalog.failure_rates[failure_rate_id]
    else:
        known = list(catalog.failure_rates)
        raise CatalogError(unknown_id_message("failure rate", failure_rate_id, known))
    table = {p.id: p for p in catalog.reliability_parameters.values()}
    missing = sorted(set(ReliabilityParameterId) - set(table))
    if missing:
        raise CatalogError(f"reliability.yaml: missing parameters {', '.join(missing)}")
    ids = ReliabilityParameterId
    assumed = tuple(
        f"{p.id.value} = {p.value:g} ({p.unit}) is an assumption: {p.source}"
        for p in table.values()
        if p.assumption
    )
    return ReliabilityRates(
        failures_per_gpu_s=rate.failures_per_gpu_s,
        checkpoint_bytes_per_param=table[ids.CHECKPOINT_BYTES_PER_PARAM].value,
        write_bytes_per_s_per_gpu=table[ids.CHECKPOINT_WRITE_GB_PER_S_PER_GPU].value * units.GB,
        storage_write_bytes_per_s=table[ids.STORAGE_WRITE_TB_PER_S].value * units.TB,
        relaunch_s=table[ids.RESTART_RELAUNCH_S].value,
        init_s_per_gpu=table[ids.RESTART_INIT_S_PER_GPU].value,
        planned_interruptions_per_s=table[ids.PLANNED_INTERRUPTIONS_PER_DAY].value / units.DAY_S,
        redone_fraction=table[ids.LOSS_SPIKE_REDONE_FRACTION].value,
        assumptions=(
            f"failure rate '{rate.id}': {rate.failures_per_gpu_hour:.3g} per GPU-hour "
            f"({rate.source})",
            *assumed,
        ),
    )


def estimate_reliability_from_catalog(
    params: float,
    gpus: int,
    compute_time_s: float,
    catalog: Catalog | None = None,
    failure_rate_id: str | None = None,
) -> ReliabilityEstimate:
    """:func:`estimate_reliability` with the catalog's rates.

    >>> est = estimate_reliability_from_catalog(405e9, 16384, 54 * 86400.0)
    >>> round(est.mtbi_s / 3600, 2), round(est.interruptions_per_day, 1)
    (3.09, 7.8)
    """
    rates = rates_from_catalog(catalog, failure_rate_id)
    return estimate_reliability(params, gpus, compute_time_s, rates)
