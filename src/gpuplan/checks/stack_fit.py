"""A training stack's ``stack_efficiency``, fitted on one published throughput of the stack.

``training_kernel_efficiency`` (systems.yaml) is fitted on Megatron-LM's own benchmark runs
(Korthikanti et al. 2022) and stands for what the model does not see in that stack. A stack
whose training loop reaches less of the same kernels (another engine's synchronisations and
unfused glue) gets a ``stack_efficiency`` below 1, fitted here on the throughput its own
report publishes (frameworks.yaml ``stack_efficiency_fit``): the value at which the plan the
report ran, on the cluster it ran on, reaches the published TFLOP/s per GPU (recomputation
counted). That source is then not reported as held out; the stack's other runs are.
"""

from __future__ import annotations

from dataclasses import replace

from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import Framework, StackBenchmark
from gpuplan.model.performance import estimate
from gpuplan.model.step import StepEstimate
from gpuplan.scenario.plan import ParallelPlan, Recompute


def benchmark_tflops_per_gpu(catalog: Catalog, framework: Framework) -> float:
    """TFLOP/s per GPU (recomputation counted) that ``framework``, with its catalog
    ``stack_efficiency``, predicts for its benchmark run."""
    bench = framework.stack_efficiency_fit
    assert bench is not None, f"{framework.id} has no stack_efficiency_fit"
    return _predicted(catalog, framework, bench)


def _predicted(catalog: Catalog, framework: Framework, bench: StackBenchmark) -> float:
    trial = replace(catalog, frameworks={**catalog.frameworks, framework.id: framework})
    accelerator = trial.accelerator(bench.accelerator)
    plan = ParallelPlan(
        tensor_parallel=bench.tp,
        pipeline_parallel=bench.pp,
        data_parallel=bench.gpus // (bench.tp * bench.pp),
        microbatch=bench.microbatch,
        recompute=Recompute(bench.recompute),
        zero=bench.zero,
    )
    step = estimate(
        trial,
        trial.model(bench.model),
        accelerator,
        plan,
        seq_len=bench.seq_len,
        global_batch=bench.global_batch,
        framework_id=framework.id,
        cluster=trial.clusters[bench.cluster] if bench.cluster else None,
    )
    assert isinstance(step, StepEstimate), f"{framework.id}: benchmark plan infeasible: {step}"
    return step.hfu * accelerator.peak_bf16_flops_per_s / 1e12


def fit_stack_efficiency(catalog: Catalog, framework_id: str) -> float:
    """The ``stack_efficiency`` at which the framework's benchmark run reaches its published
    TFLOP/s per GPU (bisection on (0.2, 1]; the prediction falls as the value falls)."""
    framework = catalog.framework(framework_id)
    bench = framework.stack_efficiency_fit
    assert bench is not None, f"{framework_id} has no stack_efficiency_fit"
    low, high = 0.2, 1.0
    for _ in range(40):
        mid = (low + high) / 2
        trial = framework.model_copy(update={"stack_efficiency": mid})
        if _predicted(catalog, trial, bench) > bench.hardware_tflops_per_gpu:
            high = mid
        else:
            low = mid
    return (low + high) / 2
