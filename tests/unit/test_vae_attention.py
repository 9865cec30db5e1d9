"""The HunyuanVideo VAE encoder's mid-block attention as Open-Sora 2.0 runs it
(docs/model.md, RULE VAE-ATTENTION; models.yaml open-sora-2-11b ``video.vae_attention``).

Golden values are hand derivations from the VAE's code at hpcaitech/Open-Sora c4f981b, not
from gpuplan: the encoder attends over every latent position of the clip, ``ceil(F / 4)``
frames of ``(H / 8) x (W / 8)``, one head of 512 channels; clips taller or wider than 256
pixels are encoded in tiles starting every ``int(256 x 0.75) = 192`` pixels on both axes
(``spatial_tiled_encode``); the mask is built per encoder call with one row fill per
position.
"""

from __future__ import annotations

import pytest

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import AttentionKernel, Model
from gpuplan.model.flops import vae_attention_calls, vae_attention_flops_per_sample
from gpuplan.model.kernels import attention_rates, device
from gpuplan.planning.encoders import vae_attention_seconds


def _clip(catalog: Catalog, frames: int, height: int, width: int) -> Model:
    model = catalog.model("open-sora-2-11b")
    assert model.video is not None
    video = model.video.model_copy(update={"frames": frames, "height": height, "width": width})
    return model.model_copy(update={"video": video})


def test_one_call_over_the_untiled_clip(catalog: Catalog) -> None:
    model = _clip(catalog, 65, 256, 256)  # stage 2's 65-frame 256px bucket: not tiled
    assert vae_attention_calls(model) == ((17 * 32 * 32, 1),)  # 17408 positions
    # 4 s^2 w: 17408^2 = 303,038,464 (17^2 x 1024^2); x 4 x 512
    assert vae_attention_flops_per_sample(model) == 620_622_774_272


def test_tiles_start_every_192_pixels_on_both_axes(catalog: Catalog) -> None:
    # 256 x 320, 1 frame: rows at 0 and 192 (256 and 64 pixels high), columns at 0 and 192
    # (256 and 128 wide): latent 32 x 32, 32 x 16, 8 x 32, 8 x 16
    model = _clip(catalog, 1, 256, 320)
    assert sorted(vae_attention_calls(model)) == [(128, 1), (256, 1), (512, 1), (1024, 1)]
    assert vae_attention_flops_per_sample(model) == 4 * 512 * (1024**2 + 512**2 + 256**2 + 128**2)


def test_no_attention_without_the_record(catalog: Catalog) -> None:
    wan = catalog.model("wan-2.1-14b")
    assert vae_attention_calls(wan) == () and vae_attention_flops_per_sample(wan) == 0.0
    assert vae_attention_seconds(catalog, wan, "h200", catalog.framework("modern"), 1) == 0.0


def test_seconds_by_hand_on_the_h200(catalog: Catalog) -> None:
    """Per clip: the FLOPs at the memory-efficient kernel's bidirectional forward rate, its
    launch, and the 2 s^2 mask bytes it reads; per call of 10 clips: the mask's 2 s^2 bytes
    written (one launch) and s row fills at 4 us each (efficiency.yaml h200
    kernel_launch_us), HBM at 0.90 x 4.8 TB/s (efficiency.yaml hbm, accelerators.yaml)."""
    model, framework = _clip(catalog, 65, 256, 256), catalog.framework("colossalai-zero2-2025")
    s, launch, hbm = 17408, 4e-6, 0.90 * 4.8e12
    efficiency = catalog.system("training_kernel_efficiency").for_accelerator("h200")
    dev = device(catalog.accelerator("h200"), catalog.efficiency_profile("h200"), False,
                 efficiency * framework.stack_efficiency, AttentionKernel.XFORMERS)  # fmt: skip
    rate = attention_rates(dev, s, causal=False)[0]
    assert 80e12 < rate < 200e12  # the 2022-23 fused kernels' class, far below FlashAttention
    mask = 2.0 * s * s  # 606 MB of BF16
    per_clip = 620_622_774_272 / rate + launch + mask / hbm
    per_call = mask / hbm + launch + s * launch  # the rows alone: 69.6 ms a call
    got = vae_attention_seconds(catalog, model, "h200", framework, 10)
    assert got == pytest.approx(per_clip + per_call / 10, rel=1e-9)
    assert vae_attention_seconds(catalog, model, "h200", framework, None) == pytest.approx(
        per_clip, rel=1e-9
    )
    assert s * launch == pytest.approx(0.069632)
