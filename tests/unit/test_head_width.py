"""Attention kernels run heads up to a published width (issues 13 and 15).

FlashAttention 1 (flash-attn 0.x/1.x) runs heads up to 128 wide; Pythia-1B's are 2048 / 8 =
256, so on a FlashAttention-1 stack it is an infeasible result naming both numbers, not a
run timed as if the kernel ran it. The limits are the releases' own words
(frameworks.yaml ``attention_kernels``).
"""

from __future__ import annotations

import pytest

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import AttentionKernel
from gpuplan.model.step import InfeasibleKind
from gpuplan.planning.head_width import attention_head_width, head_width_error
from gpuplan.planning.run import plan

PYTHIA_1B = {
    "model": "pythia-1b",
    "hardware": "a100-40gb",
    "gpus": 64,
    "training": {"tokens": 3.0e11, "global_batch": 1024},
}


@pytest.mark.parametrize(
    ("kernel", "limit"),
    [
        ("flash1", 128),  # flash-attn v0.2.2 .. v1.0.9 README: "up to 128"
        ("triton", 128),  # flash_attn_triton.py: assert d <= 128
        ("flash2", 256),  # flash-attn v2.0.0 README: "All head dimensions up to 256"
        ("flash", 256),  # cuDNN 9.18.1 Hopper d <= 256; FlashAttention-3 at most 256
        ("xformers", None),  # CUTLASS op: SUPPORTED_MAX_K = math.inf
        ("unfused", None),  # batched GEMMs
    ],
)
def test_each_kernel_has_its_published_limit(catalog: Catalog, kernel: str, limit: int) -> None:
    record = catalog.attention_kernels[kernel]
    assert record.max_head_dim == limit
    assert record.source and record.retrieved and record.cited


def test_every_kernel_a_profile_may_name_has_a_record(catalog: Catalog) -> None:
    assert set(catalog.attention_kernels) == set(AttentionKernel)


@pytest.mark.parametrize(
    ("model_id", "width"),
    [
        ("pythia-1b", 256),  # hidden 2048 / 8 heads
        ("llama2-7b", 128),  # 4096 / 32
        ("deepseek-v3", 192),  # MLA: query/key 128 + 64 rope, value 128
    ],
)
def test_the_head_width_attention_runs(catalog: Catalog, model_id: str, width: int) -> None:
    assert attention_head_width(catalog.model(model_id)) == width


def test_pythia_1b_on_flash_attention_1_is_infeasible_with_the_numbers(
    catalog: Catalog,
) -> None:
    result = plan({**PYTHIA_1B, "framework": "gpt-neox-2023"}, catalog)
    assert not result.fits and result.infeasible is not None
    assert result.infeasible.kind is InfeasibleKind.KERNEL
    reason = result.infeasible.reason
    assert "'flash1'" in reason and "up to 128 wide" in reason and "256 wide" in reason
    assert "hidden 2,048 / 8 heads" in reason and "flash-attn" in reason
    assert "use framework 'gpt-neox-2022'" in reason  # the same engine, unfused attention
    assert "\n" not in reason
    assert result.run is None and result.step is None
    data = result.to_dict()
    assert data["fits"] is False and data["infeasible_reason"] == reason
    assert data["run"] is None and data["cost"] is None


def test_a_given_plan_does_not_bypass_the_limit(catalog: Catalog) -> None:
    parallelism = {"tp": 1, "pp": 1, "dp": 64, "cp": 1, "ep": 1, "microbatch": 16,
                   "interleave": 1, "recompute": "full", "sequence_parallel": False,
                   "zero": 1}  # fmt: skip
    result = plan({**PYTHIA_1B, "framework": "gpt-neox-2023", "parallelism": parallelism}, catalog)
    assert result.infeasible is not None and result.infeasible.kind is InfeasibleKind.KERNEL


def test_pythia_1b_on_the_unfused_stack_plans(catalog: Catalog) -> None:
    result = plan({**PYTHIA_1B, "framework": "gpt-neox-2022"}, catalog)
    assert result.fits and result.run is not None


@pytest.mark.parametrize("framework", ["gpt-neox-2023", "megatron-bigcode-2023"])
def test_a_128_wide_model_plans_on_flash_attention_1(catalog: Catalog, framework: str) -> None:
    # 128 is inside "up to 128": the limit is inclusive.
    scenario = {**PYTHIA_1B, "model": "llama2-7b", "framework": framework}
    assert (
        head_width_error(catalog, catalog.model("llama2-7b"), catalog.framework(framework)) is None
    )
    result = plan(scenario, catalog)
    assert result.fits and result.run is not None


def test_wide_heads_on_the_triton_kernel_suggest_the_same_stack_on_flash_attention_2(
    catalog: Catalog,
) -> None:
    reason = head_width_error(
        catalog, catalog.model("bloomberggpt-50b"), catalog.framework("llm-foundry-2023")
    )
    assert reason is not None
    assert "'triton'" in reason and "192 wide" in reason and "up to 128 wide" in reason
    assert "use framework 'llm-foundry-fa2'" in reason


def test_a_stack_without_a_sibling_suggests_the_default_profile(catalog: Catalog) -> None:
    reason = head_width_error(
        catalog, catalog.model("pythia-1b"), catalog.framework("megatron-bigcode-2023")
    )
    assert reason is not None and reason.endswith("use framework 'modern' (flash attention)")


def test_mla_within_the_limit_runs_on_the_default_stack(catalog: Catalog) -> None:
    # DeepSeek-V3's widest head (192) is within FlashAttention-3 / cuDNN's 256.
    assert (
        head_width_error(catalog, catalog.model("deepseek-v3"), catalog.framework("modern")) is None
    )


def test_a_kernel_without_a_record_is_refused_by_the_loader(catalog: Catalog) -> None:
    import dataclasses

    from gpuplan.catalog.loader import _check_references
    from gpuplan.errors import CatalogError

    kernels = {k: v for k, v in catalog.attention_kernels.items() if k != "flash1"}
    with pytest.raises(CatalogError, match="no attention_kernels record for flash1"):
        _check_references(dataclasses.replace(catalog, attention_kernels=kernels))
