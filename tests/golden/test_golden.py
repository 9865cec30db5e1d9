"""Golden whole scenarios: the full JSON answer of each file in ``scenarios/`` is stored in
``expected/`` and compared, number by number, on every run.

A change that alters a golden file is either a bug or a stated decision: refresh them only on
purpose, with ``pytest tests/golden --update-golden``, and say in the commit what changed and
why. Timings and the package version are left out (they change without the model changing).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from gpuplan.catalog import Catalog
from gpuplan.errors import GpuplanError
from gpuplan.scenario.parse import load_scenario_file
from gpuplan.studies.answer import answer
from gpuplan.studies.seed import seed_cluster_plans

HERE = Path(__file__).parent
SCENARIOS = sorted((HERE / "scenarios").glob("*.yaml"))
VOLATILE = {"version", "elapsed_s", "plans_per_s"}
REL_TOL = 1e-9


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list | tuple):
        return [_stable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def golden_answer(path: Path, catalog: Catalog) -> dict[str, Any]:
    """What gpuplan answers for a scenario file: its JSON, or the error it gives."""
    try:
        data = answer(load_scenario_file(path), catalog=catalog, samples=32, seed=7)
    except GpuplanError as exc:
        data = {"error": str(exc)}
    return _stable(json.loads(json.dumps(data, default=str)))


def _differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual)):
            where = f"{path}.{key}" if path else key
            if key not in actual:
                out.append(f"{where}: missing (expected {expected[key]!r})")
            elif key not in expected:
                out.append(f"{where}: new key ({actual[key]!r})")
            else:
                out += _differences(expected[key], actual[key], where)
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items expected, got {len(actual)}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                for d in _differences(e, a, f"{path}[{i}]")]  # fmt: skip
    both_numbers = all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in (expected, actual)
    )
    if both_numbers and math.isclose(expected, actual, rel_tol=REL_TOL, abs_tol=1e-12):
        return []
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def test_golden_demo(catalog: Catalog, update_golden: bool) -> None:
    """The main job (``make demo``): every seed cluster's scenario and its full plan."""
    plans = seed_cluster_plans(catalog)
    actual = _stable(json.loads(json.dumps(
        {k: {"scenario": p.scenario, "plan": p.result.to_dict()} for k, p in plans.items()},
        default=str,
    )))  # fmt: skip
    stored = HERE / "expected" / "demo-seed-clusters.json"
    if update_golden:
        stored.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
        return
    differences = _differences(json.loads(stored.read_text()), actual)
    assert not differences, (
        f"the demo changed ({len(differences)} values); if on purpose, refresh with "
        "--update-golden and say why in the commit:\n" + "\n".join(differences[:40])
    )


def test_golden_scenarios_exist() -> None:
    assert len(SCENARIOS) >= 8


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_golden_scenario(path: Path, catalog: Catalog, update_golden: bool) -> None:
    actual = golden_answer(path, catalog)
    stored = HERE / "expected" / f"{path.stem}.json"
    if update_golden:
        stored.parent.mkdir(exist_ok=True)
        stored.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
        return
    assert stored.exists(), f"no golden output for {path.name}: run pytest --update-golden"
    differences = _differences(json.loads(stored.read_text()), actual)
    assert not differences, (
        f"{path.name} changed ({len(differences)} values); if on purpose, refresh with "
        "--update-golden and say why in the commit:\n" + "\n".join(differences[:40])
    )
