"""Compute of a run: model FLOPs, throughput, time to train and GPU-hours.

Throughput from utilisation: ``tokens/s = MFU x peak x GPUs / FLOPs-per-token``, where
FLOPs per token is the per-layer model count of :mod:`gpuplan.model.flops` (6ND is only a
cross-check). Failures and restarts are not in these figures (see ``reliability``).
"""

from __future__ import annotations

from dataclasses import dataclass

from gpuplan import units


@dataclass(frozen=True)
class ComputeAccount:
    """What a run computes and how long it takes at a given utilisation."""

    tokens: float
    flops_per_token: float
    """Model FLOPs (forward + backward) per training token."""
    model_flops: float
    tokens_per_s: float
    compute_time_s: float
    """Time to train at the given MFU, without failures."""
    gpus: int
    mfu: float

    @property
    def days(self) -> float:
        return self.compute_time_s / units.DAY_S

    @property
    def gpu_hours(self) -> float:
        return self.gpus * self.compute_time_s / units.HOUR_S

    @property
    def tokens_per_s_per_gpu(self) -> float:
        return self.tokens_per_s / self.gpus

    @property
    def model_flops_per_s_per_gpu(self) -> float:
        return self.tokens_per_s_per_gpu * self.flops_per_token


def tokens_per_second(
    gpus: int, peak_flops_per_s: float, mfu: float, flops_per_token: float
) -> float:
    """Cluster training throughput in tokens per second at model FLOPs utilisation ``mfu``."""
    if not 0 < mfu <= 1:
        raise ValueError(f"mfu must be in (0, 1], got {mfu}")
    if gpus <= 0 or peak_flops_per_s <= 0 or flops_per_token <= 0:
        raise ValueError("gpus, peak_flops_per_s and flops_per_token must be positive")
    return mfu * peak_flops_per_s * gpus / flops_per_token


def account_tokens(
    tokens: float, flops_per_token: float, gpus: int, peak_flops_per_s: float, mfu: float
) -> ComputeAccount:
    """A run of ``tokens`` tokens: how long it takes."""
    rate = tokens_per_second(gpus, peak_flops_per_s, mfu, flops_per_token)
    return ComputeAccount(
        tokens=tokens,
        flops_per_token=flops_per_token,
        model_flops=tokens * flops_per_token,
        tokens_per_s=rate,
        compute_time_s=tokens / rate,
        gpus=gpus,
        mfu=mfu,
    )


def account_duration(
    duration_s: float, flops_per_token: float, gpus: int, peak_flops_per_s: float, mfu: float
) -> ComputeAccount:
    """A run of ``duration_s`` seconds: how many tokens it trains on."""
    rate = tokens_per_second(gpus, peak_flops_per_s, mfu, flops_per_token)
    return account_tokens(rate * duration_s, flops_per_token, gpus, peak_flops_per_s, mfu)
