"""The VAE encoder's roofline (systems.yaml vae_encoder_peak_fraction: its convolutions'
fraction of the dense peak; its memory-bound passes timed at the chip's HBM bandwidth)
from its two published measurements, re-derived here by hand: the CogVideoX VAE's
multiply-adds and HBM bytes from its published config and code (diffusers
AutoencoderKLCogVideoX defaults, THUDM/CogVideoX-2b: block_out_channels (128, 256, 256,
512), layers_per_block 3 in the encoder and 4 in the decoder, latent 16, 4x temporal and 8x
spatial compression, causal 3x3x3 convolutions, 2D 3x3 down- and up-sampling convolutions
after the time is pooled or interpolated, 1x1 shortcuts where the width changes, the
decoder's spatial norms two 1x1 convolutions from the 16 latent channels), and Open-Sora
2.0's HunyuanVideo encoder's bytes (models.yaml notes).
"""

from __future__ import annotations

import dataclasses
import statistics

import pytest

from gpuplan.catalog import Catalog
from gpuplan.planning.encoders import vae_seconds_per_clip

A100_PEAK = 312e12  # dense FP16 / BF16, A100 and A800 datasheets
A100_HBM = 0.85 * 2.039e12  # efficiency.yaml hbm x the A100 / A800 80GB's HBM2e
LONG = 2**16 + 1  # frames: the long-clip limit the catalog's per-pixel figures take


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


def _resnet(a: int, c: int, pads: int, divide: bool = False, norm: int = 3) -> int:
    """Elements a ResNet block (``a`` -> ``c`` channels) reads and writes per position, by
    the rule of systems.yaml: norm (GroupNorm 3, SpatialNorm3D 11), SiLU 2, ``pads``
    padding copies of 2 before each 3x3x3 conv, conv input + output, the 1x1 shortcut's
    input + output where the width changes, residual add 3, HunyuanVideo's division 2."""
    e = norm * a + 2 * a + 2 * pads * a + a + c + norm * c + 2 * c + 2 * pads * c + 2 * c
    return e + (a + c if a != c else 0) + 3 * c + (2 * c if divide else 0)


def _cog_encoder_bytes(frames: int, height: int, width: int) -> float:
    """CogVideoX encoder: conv_in, 4 levels of 3 ResNets, downsamplers (time pooled by
    avg_pool1d in the first two: read, write half; then the pad copy, conv read, write a
    quarter), 2 mid ResNets, norm_out, SiLU, pad, conv_out; 2 padding copies per conv."""
    t, hw = frames, height * width
    e = (2 * 2 * 3 + 3 + 128) * t * hw
    a = 128
    for i, c in enumerate((128, 256, 256, 512)):
        e += (_resnet(a, c, 2) + 2 * _resnet(c, c, 2)) * t * hw
        a = c
        if i < 3:
            if i < 2:
                e += c * t * hw + c * _half(t) * hw
                t = _half(t)
            e += 3 * c * t * hw + c * t * hw // 4
            hw //= 4
    e += (2 * _resnet(512, 512, 2) + 3 * 512 + 2 * 512 + 4 * 512 + 512 + 32) * t * hw
    return 2 * e  # FP16 / BF16


def _cog_decoder_bytes(frames: int, height: int, width: int) -> float:
    """CogVideoX decoder: conv_in, 2 mid and 4 x 4 ResNets with SpatialNorm3D (11),
    upsamplers (nearest interpolation read + write, 2D conv read + write), norm_out, SiLU,
    pad, conv_out; 2 padding copies per 3x3x3 conv."""
    t, hw = _half(_half(frames)), height * width // 64
    e = (2 * 2 * 16 + 16 + 512 + 2 * _resnet(512, 512, 2, norm=11)) * t * hw
    a = 512
    for i, c in enumerate((512, 256, 256, 128)):
        e += (_resnet(a, c, 2, norm=11) + 3 * _resnet(c, c, 2, norm=11)) * t * hw
        a = c
        if i < 3:
            before = t * hw
            t, hw = (2 * t - 1 if i < 2 else t), 4 * hw
            e += c * before + 3 * c * t * hw  # interpolate read, write; conv read, write
    e += (11 * 128 + 2 * 128 + 4 * 128 + 128 + 3) * t * hw
    return 2 * e


def _hunyuan_encoder_bytes_per_pixel() -> float:
    """Open-Sora 2.0's HunyuanVideo encoder (long-clip limit): levels at 1, 1/4, 1/32,
    1/256 of the pixels, channels 128, 256, 512, 512, 2 ResNets each, one padding copy per
    conv and a division by output_scale_factor; downsamplers pad, read, write at the next
    level; 2 mid ResNets; norm_out, SiLU, pad, conv_out."""
    e = 2 * 3 + 3 + 128
    level, a = (1, 4, 32, 256), 128
    for i, c in enumerate((128, 256, 512, 512)):
        e += (_resnet(a, c, 1, True) + _resnet(c, c, 1, True)) / level[i]
        a = c
        if i < 3:
            e += 3 * c / level[i] + c / level[i + 1]
    return 2 * (e + (2 * _resnet(512, 512, 1, True) + 4128) / 256)


def test_vae_bytes_per_pixel_by_hand(catalog: Catalog) -> None:
    """The catalog's 20,742 bytes per pixel for Open-Sora 2.0's VAE (models.yaml notes:
    10,371 elements x 2 bytes) and the CogVideoX figures the systems.yaml notes state:
    encoder 26,214 (26,399 at 49 frames), decoder 79,079."""
    assert _resnet(128, 128, 1, True) == 2944 and _resnet(128, 256, 1, True) == 5248
    assert _resnet(256, 512, 1, True) == 10496 and _resnet(512, 512, 1, True) == 11776
    hunyuan = _hunyuan_encoder_bytes_per_pixel()
    assert hunyuan == pytest.approx(20742.25, abs=0.01)
    video = catalog.model("open-sora-2-11b").video
    assert video is not None and video.vae_encoder_bytes_per_pixel == pytest.approx(hunyuan, abs=1)
    pixels = LONG * 720 * 1280
    assert _cog_encoder_bytes(LONG, 720, 1280) / pixels == pytest.approx(26214, abs=1)
    assert _cog_encoder_bytes(49, 288, 512) / (49 * 288 * 512) == pytest.approx(26399, abs=1)
    assert _cog_decoder_bytes(LONG, 720, 1280) / pixels == pytest.approx(79079, abs=1)


def test_cogvideox_vae_flops_per_pixel() -> None:
    """The long-clip limit the catalog's notes state: encoder 8.69e6, decoder 1.854e7."""
    frames = 2**16 + 1
    pixels = frames * 720 * 1280
    encoder = 2 * _encoder_macs(frames, 720, 1280) / pixels
    decoder = 2 * _decoder_macs(frames, 720, 1280) / pixels
    assert encoder == pytest.approx(8.69e6, rel=1e-3)
    assert decoder == pytest.approx(1.854e7, rel=1e-3)


def _calibration_points() -> list[tuple[float, float, float]]:
    """(FLOPs, bytes, published seconds) of the two measurements: (1) NVIDIA's Cosmos
    Tokenizer card / arXiv 2501.03575 Tab. 9, CogVideoX encode and decode at 720x1280,
    414 ms per frame on an A100 80GB; (2) zai-org/CogVideo issue #579, encoding 8 clips of
    49 x 288 x 512 on an A800 in 12.5 s."""
    per_pixel = 2 * (_encoder_macs(LONG, 720, 1280) + _decoder_macs(LONG, 720, 1280))
    cog_bytes = _cog_encoder_bytes(LONG, 720, 1280) + _cog_decoder_bytes(LONG, 720, 1280)
    cosmos = (per_pixel / LONG, cog_bytes / LONG, 0.414)
    issue = (8 * 2.0 * _encoder_macs(49, 288, 512), 8 * _cog_encoder_bytes(49, 288, 512), 12.5)
    return [cosmos, issue]


def _solved(flops: float, hbm_bytes: float, seconds: float) -> float:
    """The convolutions' fraction of the peak that makes the roofline give ``seconds``."""
    return flops / (A100_PEAK * (seconds - hbm_bytes / A100_HBM))


def test_vae_rate_is_the_median_of_its_published_measurements(catalog: Catalog) -> None:
    """Solved from each measurement with the CogVideoX VAE's own FLOPs and bytes: (1)
    2.510e13 FLOPs and 9.70e10 bytes per frame, 0.0560 s of bytes, f = 0.2247; (2) 5.085e14
    FLOPs and 1.526e12 bytes, 0.880 s of bytes, f = 0.1403. Their median is the catalog's."""
    (cosmos, issue) = _calibration_points()
    assert cosmos[0] == pytest.approx(2.510e13, rel=1e-3)
    assert cosmos[1] == pytest.approx(9.704e10, rel=1e-3)
    assert issue[0] == pytest.approx(5.08e14, rel=1e-3)
    assert issue[1] == pytest.approx(1.526e12, rel=1e-3)
    assert _solved(*cosmos) == pytest.approx(0.2247, abs=5e-4)
    assert _solved(*issue) == pytest.approx(0.1403, abs=5e-4)
    rate = catalog.system("vae_encoder_peak_fraction")
    median = statistics.median([_solved(*cosmos), _solved(*issue)])
    assert rate.value == pytest.approx(median, abs=5e-4)
    assert rate.by_accelerator == {}  # one fraction of each chip's peak
    assert "Cosmos" in rate.source and "issue #579" in rate.source
    assert rate.notes.startswith("RULE (roofline restatement")
    assert catalog.efficiency_profile("a100-80gb").hbm * 2.039e12 == pytest.approx(A100_HBM)


def test_the_calibration_points_reproduce_their_published_times(catalog: Catalog) -> None:
    """Through gpuplan's own roofline (planning.encoders.vae_seconds_per_clip) on the A100 80GB
    record: each measurement's own fraction gives back its published time; the median gives
    0.497 s for Cosmos' 0.414 s (+20%) and 9.81 s for the issue's 12.5 s (-21.5%)."""
    rate = catalog.system("vae_encoder_peak_fraction")
    for flops, hbm_bytes, seconds in _calibration_points():
        own = _with_fraction(catalog, _solved(flops, hbm_bytes, seconds))
        assert vae_seconds_per_clip(own, "a100-80gb", flops, hbm_bytes) == pytest.approx(
            seconds, rel=1e-9
        )
    (cosmos, issue) = _calibration_points()
    assert rate.value == 0.1825
    assert vae_seconds_per_clip(catalog, "a100-80gb", *cosmos[:2]) == pytest.approx(0.4967, 1e-3)
    assert vae_seconds_per_clip(catalog, "a100-80gb", *issue[:2]) == pytest.approx(9.810, 1e-3)


def test_roofline_by_hand(catalog: Catalog) -> None:
    """Open-Sora 2.0's VAE for one 129 x 576 x 1024 clip (76,087,296 pixels) on an H100
    and an H200: 9.06e6 x 76,087,296 = 6.8935e14 FLOPs at 0.1825 x 989.4e12 = 3.8176 s;
    20,742 x 76,087,296 = 1.57820e12 bytes at 0.90 x 3.35e12 = 0.52345 s (H100, 4.3411 s in
    all) or at 0.90 x 4.8e12 = 0.36532 s (H200, 4.1830 s)."""
    pixels = 129 * 576 * 1024
    flops, hbm_bytes = 9.06e6 * pixels, 20742 * pixels
    assert vae_seconds_per_clip(catalog, "h100-sxm", flops, hbm_bytes) == pytest.approx(
        4.3411, rel=1e-4
    )
    assert vae_seconds_per_clip(catalog, "h200", flops, hbm_bytes) == pytest.approx(
        4.1830, rel=1e-4
    )
    assert vae_seconds_per_clip(catalog, "h200", flops, 0.0) == pytest.approx(3.8176, rel=1e-4)


def _with_fraction(catalog: Catalog, value: float) -> Catalog:
    rate = catalog.system("vae_encoder_peak_fraction")
    systems = dict(catalog.systems)
    systems[rate.id] = rate.model_copy(update={"value": value})
    return dataclasses.replace(catalog, systems=systems)
