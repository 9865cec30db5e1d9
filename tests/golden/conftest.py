"""``pytest --update-golden`` rewrites the stored golden outputs instead of comparing."""

from __future__ import annotations

import pytest


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
