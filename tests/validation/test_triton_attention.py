"""The 2022-23 fused attention kernels (the Triton kernel of llm-foundry's attn_impl: triton,
FlashAttention 1, xformers) against the published benchmarks they rest on (efficiency.yaml
header).

Golden values are read off T. Dao, "FlashAttention-2" (arXiv 2307.08691, 2023) fig. 4d and
the FlashAttention-2 release's H100 figure (github.com/Dao-AILab/flash-attention, assets/
flash2_{a100,h100}_fwd_bwd_benchmark.png): forward + backward TFLOP/s, causal, head dim 128,
at 512, 1K, 2K, 4K, 8K and 16K tokens.
"""

from __future__ import annotations

import pytest

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import AttentionKernel
from gpuplan.model.kernels import FLASH_BACKWARD_FACTOR, attention_rates, device

SEQ = (512, 1024, 2048, 4096, 8192, 16384)
A100_TRITON = (50, 61, 68, 74, 78, 80)
A100_FA2 = (99, 133, 155, 173, 182, 189)
A100_FA1 = (55, 62, 69, 76, 80, 83)
A100_XFORMERS = (58, 72, 82, 87, 91, 92)
H100_FA2 = (163, 221, 265, 294, 308, 328)
H100_FA1 = (98, 109, 108, 126, 135, 137)


def fwd_bwd_tflops(
    catalog: Catalog, chip: str, seq_len: int, kernel: AttentionKernel = AttentionKernel.TRITON
) -> float:
    """The model's forward + backward rate of a kernel, as the figures count it: the work of
    a forward and of a backward (2.5 forwards) over the time of both."""
    profile = catalog.efficiency_profile(chip)
    dev = device(catalog.accelerator(chip), profile, False, 1.0, kernel)
    forward, backward = attention_rates(dev, seq_len)
    work = 1 + FLASH_BACKWARD_FACTOR
    return work / (1 / forward + FLASH_BACKWARD_FACTOR / backward) / profile.sustained / 1e12


@pytest.mark.parametrize("chip", ["a100-80gb", "a100-40gb"])
def test_a100_triton_rate_is_the_published_measurement(catalog: Catalog, chip: str) -> None:
    for seq_len, published in zip(SEQ, A100_TRITON, strict=True):
        assert fwd_bwd_tflops(catalog, chip, seq_len) == pytest.approx(published, rel=0.01)


def test_h100_triton_rate_is_fa2_over_the_a100_ratio_at_each_length(catalog: Catalog) -> None:
    for seq_len, fa2_h100, fa2, triton in zip(SEQ, H100_FA2, A100_FA2, A100_TRITON, strict=True):
        expected = fa2_h100 / (fa2 / triton)
        assert fwd_bwd_tflops(catalog, "h100-sxm", seq_len) == pytest.approx(expected, rel=0.01)
    # Not one ratio: FA2 / Triton grows from ~2.0 at 512 to ~2.4 at 16K.
    assert A100_FA2[0] / A100_TRITON[0] < 2.0 < 2.3 < A100_FA2[-1] / A100_TRITON[-1]


def test_h100_triton_rate_agrees_with_the_flashattention1_route(catalog: Catalog) -> None:
    # A second published route to the same kernel on the H100: its FlashAttention-1 rate times
    # the A100 Triton / FlashAttention-1 ratio. The two agree within 10% at every length.
    for seq_len, fa1_h100, fa1, triton in zip(SEQ, H100_FA1, A100_FA1, A100_TRITON, strict=True):
        other_route = fa1_h100 * triton / fa1
        assert fwd_bwd_tflops(catalog, "h100-sxm", seq_len) == pytest.approx(other_route, rel=0.10)


def test_triton_kernel_is_slower_than_flashattention2_on_every_chip(catalog: Catalog) -> None:
    for chip in ("a100-80gb", "h100-sxm", "h200", "h800"):
        profile = catalog.efficiency_profile(chip)
        accelerator = catalog.accelerator(chip)
        triton = device(accelerator, profile, False, 1.0, AttentionKernel.TRITON)
        flash2 = device(accelerator, profile, False, 1.0, AttentionKernel.FLASH2)
        for seq_len in SEQ:
            assert attention_rates(triton, seq_len)[0] < attention_rates(flash2, seq_len)[0]


@pytest.mark.parametrize(
    ("chip", "kernel", "published"),
    [
        ("a100-80gb", AttentionKernel.FLASH1, A100_FA1),
        ("a100-40gb", AttentionKernel.FLASH1, A100_FA1),
        ("a100-80gb", AttentionKernel.XFORMERS, A100_XFORMERS),
        ("h100-sxm", AttentionKernel.FLASH1, H100_FA1),
        ("h200", AttentionKernel.FLASH1, H100_FA1),
    ],
)
def test_flashattention1_and_xformers_at_their_published_rates(
    catalog: Catalog, chip: str, kernel: AttentionKernel, published: tuple[int, ...]
) -> None:
    for seq_len, rate in zip(SEQ, published, strict=True):
        assert fwd_bwd_tflops(catalog, chip, seq_len, kernel) == pytest.approx(rate, rel=0.01)


def test_unpublished_xformers_rate_falls_back_to_the_triton_kernel(catalog: Catalog) -> None:
    # No H100 measurement of the 2023 xformers kernel is published: the Triton rate stands in.
    for seq_len in SEQ:
        xformers = fwd_bwd_tflops(catalog, "h100-sxm", seq_len, AttentionKernel.XFORMERS)
        assert xformers == pytest.approx(fwd_bwd_tflops(catalog, "h100-sxm", seq_len))


def test_stacks_name_the_kernel_they_ran(catalog: Catalog) -> None:
    stacks = ("llm-foundry-2023", "gpt-neox-2023", "megatron-bigcode-2023", "llama-xformers-2023")
    kernels = {f: catalog.framework(f).attention for f in stacks}
    assert kernels == {
        "llm-foundry-2023": AttentionKernel.TRITON,
        "gpt-neox-2023": AttentionKernel.FLASH1,
        "megatron-bigcode-2023": AttentionKernel.FLASH1,
        "llama-xformers-2023": AttentionKernel.XFORMERS,
    }
