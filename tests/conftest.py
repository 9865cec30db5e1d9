"""Shared fixtures: the catalog is parsed once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuplan.catalog import Catalog, load_catalog

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()
