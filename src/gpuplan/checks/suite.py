"""Every comparison ``gpuplan validate`` makes, computed once, as one object.

The command line prints it (tables, or ``--json``) and exits by :attr:`ValidationSuite.passed`;
a library user gets the same object from :func:`validate_all`. What passes is decided here,
once: every step-time target of ``validation_targets.yaml``, the video target, the totals
target (``run_totals.yaml``) and the prediction intervals' coverage. The MoE bar and the
tables of published runs with partly stated plans are reported, not an exit status.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpuplan.catalog.loader import Catalog
from gpuplan.checks.breakdown import Group, held_out_groups
from gpuplan.checks.chip_runs import ChipRunRow, predict_chip_runs, predict_scale_runs
from gpuplan.checks.kernel_checks import KernelCheck, kernel_checks
from gpuplan.checks.moe_validation import validate_moe
from gpuplan.checks.residuals import Coverage, interval_coverage, residual_rows
from gpuplan.checks.totals import TotalsRow, predict_totals, summarize_totals
from gpuplan.checks.validation import TargetResult, ValidationRow, check_targets, validate
from gpuplan.checks.video import VideoRow, predict_video_rows, summarize_video


@dataclass(frozen=True)
class ValidationSuite:
    """The published measurements predicted, the targets judged, and the other checks."""

    rows: list[ValidationRow]
    """Step-time rows with their full plan (measurements.yaml)."""
    targets: list[TargetResult]
    kernels: list[KernelCheck]
    totals: list[TotalsRow]
    chip_runs: list[ChipRunRow]
    """Published runs off the H100 whose plans are partly stated."""
    scale_runs: list[ChipRunRow]
    """Published runs at scale on the H100 whose plans are partly stated."""
    groups: list[Group]
    """The held-out rows by source and by precision."""
    video: list[VideoRow]
    moe: list[ValidationRow]
    coverage: Coverage
    """How often the prediction intervals cover held-out published step times."""

    @property
    def failures(self) -> list[str]:
        """What is missed, in words: each failed target, the video and totals targets, the
        coverage."""
        missed = [f"{t.target.id}: {'; '.join(t.failures)}" for t in self.targets if not t.passed]
        video, totals = summarize_video(self.video), summarize_totals(self.totals)
        for name, median, target, passed in (
            ("video", video.median_abs_error, video.target, video.passed),
            ("totals", totals.median_abs_stated, totals.target, totals.passed),
        ):
            if not passed:
                shown = "none" if median is None else f"{median:.1%}"
                missed.append(f"{name}: median {shown} > {target.median_abs_max:.0%}")
        if not self.coverage.passed:
            missed.append(f"intervals: {self.coverage.fraction:.0%} covered")
        return missed

    @property
    def passed(self) -> bool:
        return not self.failures


def validate_all(catalog: Catalog) -> ValidationSuite:
    """Predict every published measurement the catalog holds and judge the targets."""
    rows = validate(catalog)
    return ValidationSuite(
        rows=rows,
        targets=check_targets(rows),
        kernels=kernel_checks(catalog),
        totals=predict_totals(catalog),
        chip_runs=predict_chip_runs(catalog),
        scale_runs=predict_scale_runs(catalog),
        groups=held_out_groups(rows),
        video=predict_video_rows(catalog),
        moe=validate_moe(catalog),
        coverage=interval_coverage(residual_rows(catalog)),
    )
