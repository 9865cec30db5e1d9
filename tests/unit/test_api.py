"""The public API is small and sorted; changing it is a decision, not an accident."""

from __future__ import annotations

import gpuplan


def test_public_api_is_pinned() -> None:
    assert gpuplan.__all__ == sorted(gpuplan.__all__)
    assert set(gpuplan.__all__) == {
        "Catalog", "CatalogError", "GpuplanError", "PlanResult", "Scenario", "ScenarioError",
        "ValidationSuite", "__version__", "load_catalog", "parse_scenario", "plan", "resolve",
        "validate_all",
    }  # fmt: skip


def test_errors_form_one_hierarchy() -> None:
    assert issubclass(gpuplan.ScenarioError, gpuplan.GpuplanError)
    assert issubclass(gpuplan.CatalogError, gpuplan.GpuplanError)
