"""The validation as one object (gpuplan.checks.suite): what the command line prints and
exits by, and what a library user gets from ``gpuplan.validate_all``."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

import gpuplan
from gpuplan.catalog import Catalog
from gpuplan.checks.suite import ValidationSuite
from gpuplan.checks.totals import summarize_totals
from gpuplan.checks.video import summarize_video
from gpuplan.report.validation_suite import suite_dict, suite_tables


@pytest.fixture(scope="module")
def suite(catalog: Catalog) -> ValidationSuite:
    return gpuplan.validate_all(catalog)


def test_every_miss_is_named_and_nothing_else(suite: ValidationSuite) -> None:
    named = {f.split(":")[0] for f in suite.failures}
    missed_targets = {t.target.id for t in suite.targets if not t.passed}
    assert missed_targets <= named
    assert ("video" in named) == (not summarize_video(suite.video).passed)
    assert ("intervals" in named) == (not suite.coverage.passed)
    assert ("totals" in named) == (not summarize_totals(suite.totals).passed)
    assert named <= missed_targets | {"video", "intervals", "totals"}
    assert suite.passed == (not suite.failures)


def test_json_and_tables_come_from_the_one_object(suite: ValidationSuite) -> None:
    data = suite_dict(suite)
    assert data["passed"] is suite.passed and data["failures"] == suite.failures
    assert len(data["rows"]) == len(suite.rows) and len(data["scale_runs"]) == len(suite.scale_runs)
    console = Console(record=True, width=120, file=io.StringIO())
    console.print(*suite_tables(suite, rows=False))
    text = console.export_text()
    for title in ("Targets", "Held-out sources apart", "Published runs off the H100",
                  "Published runs at scale", "Video diffusion transformers",
                  "Mixture of experts"):  # fmt: skip
        assert text.count(title) == 1, title  # each table once (one was printed twice)
