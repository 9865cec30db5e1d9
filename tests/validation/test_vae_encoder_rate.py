"""The VAE encoder's rate (systems.yaml vae_encoder_peak_fraction) from its two published
measurements, re-derived here by hand: the CogVideoX VAE's multiply-adds from its published
config (diffusers AutoencoderKLCogVideoX defaults, THUDM/CogVideoX-2b: block_out_channels
(128, 256, 256, 512), layers_per_block 3 in the encoder and 4 in the decoder, latent 16,
4x temporal and 8x spatial compression, causal 3x3x3 convolutions, 2D 3x3 down- and
up-sampling convolutions after the time is pooled or interpolated, 1x1 shortcuts where the
width changes, the decoder's spatial norms two 1x1 convolutions from the 16 latent channels).
"""

from __future__ import annotations

import statistics

import pytest

from gpuplan.catalog import Catalog

A100_PEAK = 312e12  # dense FP16 / BF16, A100 and A800 datasheets


def _half(frames: int) -> int:
    """Causal temporal pooling: the first frame alone, the rest in pairs (49 -> 25 -> 13)."""
    return 1 + (frames - 1) // 2


def _encoder_macs(frames: int, height: int, width: int) -> int:
    t, h, w = frames, height, width
    macs = 27 * 3 * 128 * t * h * w  # conv_in
    c_in = 128
    for i, c in enumerate((128, 256, 256, 512)):
        n = t * h * w
        macs += 27 * c_in * c * n + 27 * c * c * n + (c_in * c * n if c_in != c else 0)
        macs += 2 * 2 * 27 * c * c * n  # the block's other two ResNets
        c_in = c
        if i < 3:
            t = _half(t) if i < 2 else t
            h, w = h // 2, w // 2
            macs += 9 * c * c * t * h * w  # 2D 3x3 stride-2 convolution
    n = t * h * w
    return macs + 2 * 2 * 27 * 512 * 512 * n + 27 * 512 * 32 * n  # mid block, conv_out


def _decoder_macs(frames: int, height: int, width: int) -> int:
    t, h, w = _half(_half(frames)), height // 8, width // 8
    n = t * h * w
    macs = 27 * 16 * 512 * n + 2 * (2 * 27 * 512 * 512 + 2 * 2 * 16 * 512) * n  # in, mid
    c_in = 512
    for i, c in enumerate((512, 256, 256, 128)):
        n = t * h * w
        for layer in range(4):
            a = c_in if layer == 0 else c
            macs += (27 * a * c + 27 * c * c + 2 * 16 * (a + c)) * n
            macs += a * c * n if a != c else 0
        c_in = c
        if i < 3:
            t = 2 * t - 1 if i < 2 else t
            h, w = 2 * h, 2 * w
            macs += 9 * c * c * t * h * w  # 2D 3x3 convolution after interpolation
    assert (t, h, w) == (frames, height, width)
    n = t * h * w
    return macs + 2 * 16 * 128 * n + 27 * 128 * 3 * n  # norm_out, conv_out


def test_cogvideox_vae_flops_per_pixel() -> None:
    """The long-clip limit the catalog's notes state: encoder 8.69e6, decoder 1.854e7."""
    frames = 2**16 + 1
    pixels = frames * 720 * 1280
    encoder = 2 * _encoder_macs(frames, 720, 1280) / pixels
    decoder = 2 * _decoder_macs(frames, 720, 1280) / pixels
    assert encoder == pytest.approx(8.69e6, rel=1e-3)
    assert decoder == pytest.approx(1.854e7, rel=1e-3)


def test_vae_rate_is_the_median_of_its_published_measurements(catalog: Catalog) -> None:
    """(1) NVIDIA's Cosmos Tokenizer card / arXiv 2501.03575 Tab. 9: CogVideoX encode and
    decode at 720x1280, 414 ms per frame on an A100 80GB: 2.72e7 x 921,600 / 0.414 s over
    312 TFLOP/s = 0.194. (2) zai-org/CogVideo issue #579: encoding 8 clips of 49 x 288 x
    512 on an A800 in 12.5 s: 5.08e14 FLOPs, 0.130. Their median is the catalog's value."""
    frames = 2**16 + 1
    per_pixel = 2 * (_encoder_macs(frames, 720, 1280) + _decoder_macs(frames, 720, 1280))
    per_pixel /= frames * 720 * 1280
    cosmos = per_pixel * 720 * 1280 / 0.414 / A100_PEAK
    issue = 8 * 2 * _encoder_macs(49, 288, 512)
    assert issue == pytest.approx(5.08e14, rel=1e-3)
    assert cosmos == pytest.approx(0.194, abs=5e-4)
    assert issue / 12.5 / A100_PEAK == pytest.approx(0.130, abs=5e-4)
    rate = catalog.system("vae_encoder_peak_fraction")
    median = statistics.median([cosmos, issue / 12.5 / A100_PEAK])
    assert rate.value == pytest.approx(median, abs=5e-4)
    assert rate.by_accelerator == {}  # one fraction of each chip's peak
    assert "Cosmos" in rate.source and "issue #579" in rate.source
    assert rate.notes.startswith("RULE, written before any effect on a validation row")
