"""The search's block recompute (gpuplan.search.block_recompute): where the stack offers
Megatron's recompute_method block, a searched full recompute recomputes the fewest layers
of each pipeline chunk that fit; a "full" the user fixes, or a stack without it, recomputes
every layer."""

from __future__ import annotations

import pytest

from gpuplan.catalog import Catalog, load_catalog
from gpuplan.model.performance import estimate
from gpuplan.model.step import StepEstimate
from gpuplan.scenario.plan import ParallelPlan, Recompute
from gpuplan.search.plans import SearchOptions, search

# Llama 3 405B on 16,384 H100 in Meta's stated layout (Dubey et al. 2024 Table 4: TP 8,
# PP 16, DP 128, 8K sequences, 2,048 per batch) with 4 chunks per GPU: 126 layers on 64
# chunks hold 1 or 2 layers each. Kept activations do not fit (about 80.7 GiB against the
# H100's 79.6, before the allocator's headroom); recomputing every layer does.
LAYOUT = {"tp": 8, "pp": 16, "dp": 128, "cp": 1, "microbatch": 1, "interleave": 4,
          "sequence_parallel": True, "zero": 1}  # fmt: skip


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _search(catalog: Catalog, framework: str, **fixed: object) -> StepEstimate:
    model, h100 = catalog.model("llama3-405b"), catalog.accelerator("h100-sxm")
    options = SearchOptions(**(LAYOUT | fixed))  # type: ignore[arg-type]
    found = search(catalog, model, h100, 16_384, global_batch=2048, seq_len=8192,
                   options=options, framework_id=framework)  # fmt: skip
    assert found.best is not None
    return found.best


def _plan(layers: int | None) -> ParallelPlan:
    return ParallelPlan(tensor_parallel=8, pipeline_parallel=16, data_parallel=128,
                        microbatch=1, interleave=4, recompute=Recompute.FULL,
                        recompute_layers=layers, sequence_parallel=True, zero=1)  # fmt: skip


def _fits(catalog: Catalog, layers: int | None) -> bool:
    h100 = catalog.accelerator("h100-sxm")
    step = estimate(catalog, catalog.model("llama3-405b"), h100, _plan(layers), seq_len=8192,
                    global_batch=2048, framework_id="megatron-core-2024")  # fmt: skip
    headroom = catalog.system("allocator_headroom_fraction").for_accelerator(h100.id)
    return isinstance(step, StepEstimate) and (
        step.memory.total_bytes <= (1 - headroom) * h100.hbm_bytes
    )


def test_the_fewest_recomputed_layers_that_fit(catalog: Catalog) -> None:
    best = _search(catalog, "megatron-core-2024", recompute="full")
    assert best.plan.recompute_layers is None  # fixed "full": every layer, as it says
    best = _search(catalog, "megatron-core-2024")
    n = best.plan.recompute_layers
    assert best.plan.recompute is Recompute.FULL and n is not None and n >= 1
    assert _fits(catalog, n) and not _fits(catalog, n - 1)  # the fewest that fit
    every = estimate(catalog, catalog.model("llama3-405b"), catalog.accelerator("h100-sxm"),
                     _plan(None), seq_len=8192, global_batch=2048,
                     framework_id="megatron-core-2024")  # fmt: skip
    assert isinstance(every, StepEstimate)
    assert best.recompute_s < every.recompute_s and best.time_s < every.time_s


def test_a_stack_without_block_recompute_recomputes_every_layer(catalog: Catalog) -> None:
    assert not catalog.framework("megatron-2022").block_recompute
    best = _search(catalog, "megatron-2022", zero=0)
    assert best.plan.recompute is Recompute.FULL and best.plan.recompute_layers is None
