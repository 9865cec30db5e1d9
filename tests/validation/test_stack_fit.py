"""stack_efficiency: fitted on one published throughput of the stack, the stack's other runs
held out."""

from __future__ import annotations

import pytest

from gpuplan.catalog import Catalog
from gpuplan.checks.stack_fit import benchmark_tflops_per_gpu, fit_stack_efficiency
from gpuplan.checks.totals import load_run_totals


def test_every_fitted_stack_reproduces_its_fit(catalog: Catalog) -> None:
    fitted = [f for f in catalog.frameworks.values() if f.stack_efficiency_fit is not None]
    assert fitted, "at least gpt-neox-2022 is fitted"
    for framework in fitted:
        assert framework.stack_efficiency == pytest.approx(
            fit_stack_efficiency(catalog, framework.id), abs=0.002
        )
        bench = framework.stack_efficiency_fit
        assert bench is not None
        # Black et al. 2022: 117 TFLOP/s per GPU (recompute counted) for GPT-NeoX-20B.
        assert benchmark_tflops_per_gpu(catalog, framework) == pytest.approx(
            bench.hardware_tflops_per_gpu, rel=0.01
        )


def test_a_stack_below_one_is_fitted_or_carries_a_fitted_value(catalog: Catalog) -> None:
    fitted = {
        f.stack_efficiency
        for f in catalog.frameworks.values()
        if f.stack_efficiency_fit is not None
    }
    for framework in catalog.frameworks.values():
        if framework.stack_efficiency < 1:
            assert framework.stack_efficiency in fitted, framework.id


def test_the_fit_source_is_not_a_whole_run_row(catalog: Catalog) -> None:
    # The fit runs on GPT-NeoX-20B; the Pythia runs on the same stack stay held out.
    models = {run.model for run in load_run_totals().values()}
    for framework in catalog.frameworks.values():
        if framework.stack_efficiency_fit is not None:
            assert framework.stack_efficiency_fit.model not in models


def test_a_lower_stack_efficiency_never_trains_faster(catalog: Catalog) -> None:
    framework = catalog.framework("gpt-neox-2022")
    lower = framework.model_copy(update={"stack_efficiency": framework.stack_efficiency * 0.9})
    assert benchmark_tflops_per_gpu(catalog, lower) < benchmark_tflops_per_gpu(catalog, framework)
