"""Shared fixtures: the catalog is parsed once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuplan.catalog import Catalog, load_catalog

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite tests/golden/expected/ from the current code (only on purpose).",
    )


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


# The stable JSON keys of docs/design.md that users and tests rely on (CLI --json and /api/plan).
DESIGN_KEYS = [
    "fits", "infeasible_reason", "plan.tp", "plan.pp", "plan.dp", "plan.cp", "plan.ep",
    "plan.microbatch", "plan.interleave", "plan.recompute", "plan.zero",
    "memory.per_gpu_bytes", "memory.capacity_bytes", "memory.breakdown.weights_bytes",
    "memory.breakdown.grads_bytes", "memory.breakdown.optimizer_bytes",
    "memory.breakdown.activations_bytes", "step.time_s", "step.compute_s",
    "step.exposed_comm_s", "step.bubble_s", "step.straggler_s", "cluster.id", "cluster.name",
    "step.tokens_per_s", "step.tokens_per_s_per_gpu",
    "step.model_tflops_per_gpu", "step.mfu", "step.hfu", "run.tokens", "run.model_flops",
    "run.days", "run.gpu_hours", "run.goodput", "run.interruptions",
    "run.overheads_s.failures_and_restarts", "run.overheads_s.checkpoint_writes",
    "run.overheads_s.loss_spike_rollbacks", "run.overheads_s.planned_restarts",
    "run.planned_restarts", "power.it_w",
    "power.facility_w", "energy.mwh", "emissions.tco2e", "cost.gpu_capex_usd",
    "cost.cluster_capex_usd", "cost.amortized_usd", "cost.energy_usd", "cost.cloud_usd",
    "scaling.predicted_loss", "scaling.compute_optimal_params",
    "scaling.compute_optimal_tokens", "assumptions", "sources",
]  # fmt: skip


@pytest.fixture(scope="session")
def design_keys() -> list[str]:
    return DESIGN_KEYS
