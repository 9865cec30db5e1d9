"""A video model's frozen VAE encoder on one GPU: its convolutions and memory-bound passes
by a roofline, and the self-attention some VAEs run over the clip's latent positions
(docs/model.md: the video FLOPs and RULE VAE-ATTENTION)."""

from __future__ import annotations

from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import AttentionKernel, Framework, Model
from gpuplan.model.flops import (
    vae_attention_calls,
    vae_attention_flops_per_sample,
    vae_encoder_bytes_per_sample,
    vae_encoder_flops_per_sample,
)
from gpuplan.model.kernels import device, flash_attention_times, streaming_time

VAE_RATE_ID = "vae_encoder_peak_fraction"
"""The system parameter a video model's VAE convolutions run at (fraction of the BF16 peak;
its memory-bound passes at the chip's HBM bandwidth: :func:`vae_seconds_per_clip`)."""

MASK_BYTES = 2
"""Bytes per element of the attention's explicit mask (the VAE's BF16)."""


def vae_seconds_per_clip(
    catalog: Catalog, accelerator_id: str, flops: float, hbm_bytes: float
) -> float:
    """A frozen video VAE's forward on one GPU by its roofline: the convolutions' ``flops``
    at ``f`` of the dense BF16 peak (systems.yaml vae_encoder_peak_fraction; the VAE runs
    in half precision whatever the transformer's) plus the memory-bound passes' ``hbm_bytes``
    (GroupNorm, SiLU, padding copies, residual adds) at the chip's achieved HBM bandwidth
    (efficiency.yaml hbm x accelerators.yaml), the two not overlapped (eager kernels, one
    after another)."""
    accelerator = catalog.accelerator(accelerator_id)
    fraction = catalog.system(VAE_RATE_ID).for_accelerator(accelerator_id)
    bandwidth = catalog.efficiency_profile(accelerator_id).hbm * accelerator.hbm_bytes_per_s
    return flops / (fraction * accelerator.peak_bf16_flops_per_s) + hbm_bytes / bandwidth


def vae_attention_seconds(
    catalog: Catalog,
    model: Model,
    accelerator_id: str,
    framework: Framework,
    clips_per_call: int | None,
) -> float:
    """Seconds per clip of a video VAE encoder's attention (RULE VAE-ATTENTION): for each
    encoder call over ``s`` latent positions (:func:`gpuplan.model.flops.vae_attention_calls`)
    ``4 s^2 w`` FLOPs at the memory-efficient (xformers) kernel's bidirectional forward rate
    at ``s`` queries and the ``2 s^2`` mask bytes it reads per clip; per call, shared by
    its ``clips_per_call`` clips (None: left out), the mask's ``2 s^2`` bytes written and,
    when it is built row by row, ``s`` kernel launches. 0 without one."""
    video = model.video
    if video is None or video.vae_attention is None:
        return 0.0
    attention = video.vae_attention
    accelerator = catalog.accelerator(accelerator_id)
    efficiency = catalog.system("training_kernel_efficiency").for_accelerator(accelerator_id)
    dev = device(accelerator, catalog.efficiency_profile(accelerator_id), False,
                 efficiency * framework.stack_efficiency, AttentionKernel.XFORMERS)  # fmt: skip
    per_clip = per_call = 0.0
    for s, calls in vae_attention_calls(model):
        mask_bytes = MASK_BYTES * float(s) * s
        forward, _ = flash_attention_times(4.0 * s * s * attention.width, dev, s, causal=False)
        per_clip += calls * (forward + mask_bytes / dev.hbm_bytes_per_s)
        rows = s if attention.mask_rows else 0
        per_call += calls * (float(streaming_time(mask_bytes, 1, dev)) + rows * dev.launch_s)
    return per_clip + (per_call / clips_per_call if clips_per_call else 0.0)


def vae_encoder_seconds_per_clip(
    catalog: Catalog,
    model: Model,
    accelerator_id: str,
    framework: Framework,
    clips_per_call: int | None,
) -> float:
    """A video model's VAE encoder for one clip on one GPU: its roofline
    (:func:`vae_seconds_per_clip`) and its attention (:func:`vae_attention_seconds`)."""
    flops, hbm_bytes = vae_encoder_flops_per_sample(model), vae_encoder_bytes_per_sample(model)
    return vae_seconds_per_clip(catalog, accelerator_id, flops, hbm_bytes) + vae_attention_seconds(
        catalog, model, accelerator_id, framework, clips_per_call
    )


def vae_attention_note(model: Model, seq_len: int) -> str:
    """The VAE attention's sentence in the encoders' assumption (docs/model.md, RULE
    VAE-ATTENTION), per token of ``seq_len``; '' for a VAE without one."""
    if model.video is None or (attention := model.video.vae_attention) is None:
        return ""
    calls = vae_attention_calls(model)
    built = "one kernel per row, " if attention.mask_rows else ""
    return (
        f" The VAE's attention over {max(s for s, _ in calls):,} latent positions per call "
        f"({sum(n for _, n in calls)} call(s) per micro-batch; one {attention.width}-wide head, "
        f"an explicit mask built {built}PyTorch's memory-efficient kernel over every score) "
        f"adds {vae_attention_flops_per_sample(model) / seq_len:,.0f} FLOPs per token."
    )
