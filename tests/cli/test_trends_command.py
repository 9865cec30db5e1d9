"""``trends`` and ``scaling-fit`` as typer commands, registered on a throwaway app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from gpuplan.cli.app import app as gpuplan_app
from gpuplan.cli.trends import scaling_fit, trends
from gpuplan.errors import ScenarioError

NOTABLE = (
    Path(__file__).resolve().parents[3]
    / "shared/reference/epoch/epoch_notable_models_snapshot_2025-02-24"
    / "notable_ai_models_24_02_2025.csv"
)

app = typer.Typer()
app.command()(trends)
app.command()(scaling_fit)
runner = CliRunner()


def test_trends_json_from_the_catalog() -> None:
    result = runner.invoke(app, ["trends", "--bootstrap", "50", "--project-to", "2030", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    compute = data["fits"]["training-compute"]
    assert compute["frontier_only"] is True and compute["runs"] >= 20
    assert compute["doubling_months"] == pytest.approx(
        12 * np.log10(2) / compute["slope_ooms_per_year"]
    )
    assert compute["projection"]["year"] == 2030
    assert compute["published"]["id"] == "epoch-compute-frontier-2024"
    assert "power" in data["skipped"]  # the catalog holds no power figures


def test_trends_table_from_the_catalog() -> None:
    result = runner.invoke(app, ["trends", "--all", "--bootstrap", "20", "--project-to", "2028"])
    assert result.exit_code == 0, result.output
    assert "compute" in result.output and "not fitted: power" in result.output


def test_trends_and_check_c5_label_the_compute_rate_each_uses() -> None:
    # Issue 12: `trends` printed 3.75x/yr and `check` C5 used 4.7x/yr, neither saying why.
    # Now both name each rate's kind, basis, window and source, and agree on the numbers.
    fitted = json.loads(runner.invoke(app, ["trends", "--json"]).output)
    compute = fitted["fits"]["training-compute"]
    checked = runner.invoke(gpuplan_app, ["check", "--json"])
    assert checked.exit_code == 0, checked.output
    c5 = {c["id"]: c for c in json.loads(checked.output)["claims"]}["C5"]
    used, fit = c5["rates"]["used"], c5["rates"]["catalog_fit"]
    # The rate C5 uses is the published rate `trends` prints beside its fit, key for key.
    published = compute["published"]
    assert used["kind"] == published["kind"] == "published"
    assert used["basis"] == published["basis"] == compute["basis"] == "frontier"
    assert used == {k: v for k, v in published.items() if k not in ("id", "range", "used_by")}
    assert used["trend_id"] == "epoch-compute-frontier-2024" and used["window"] == "2010-2024"
    assert c5["computed"] == pytest.approx(used["growth_per_year"] ** 2)
    # The fit C5 quotes is the one `trends` prints, labelled as gpuplan's fit.
    assert fit["kind"] == compute["kind"] == "fit"
    assert fit["growth_per_year"] == pytest.approx(compute["growth_per_year"])
    assert (fit["runs"], fit["window"]) == (compute["runs"], compute["window"])
    assert fit["label"] == compute["label"]
    assert fit["growth_per_year"] != pytest.approx(used["growth_per_year"], rel=0.05)
    # Each output points to the other.
    assert "C5" in published["used_by"] and "C9" in published["used_by"]
    assert "`gpuplan trends` fits" in c5["explanation"]
    assert f"{fit['growth_per_year']:.3g}x/yr" in c5["explanation"]
    assert f"{used['growth_per_year']:.3g}x a year" in c5["explanation"]
    table = " ".join(runner.invoke(app, ["trends", "--bootstrap", "20"]).output.split())
    assert (
        f"this fit: {fit['growth_per_year']:.3g}x/yr over {fit['runs']} frontier runs of "
        f"{fit['window']}; published: 4.5x/yr (range 4-5) for frontier runs 2010-2024, "
        "Sevilla & Roldan 2024"
    ) in table
    assert "(trends.yaml: epoch-compute-frontier-2024)" in table
    assert "the published rate is the one gpuplan check C5, C9 use" in table


def test_trends_all_compares_with_the_notable_rate_no_check_uses() -> None:
    data = json.loads(runner.invoke(app, ["trends", "--all", "--json"]).output)
    compute = data["fits"]["training-compute"]
    assert compute["basis"] == "notable" and compute["published"]["basis"] == "notable"
    assert compute["published"]["trend_id"] == "epoch-compute-notable-2024"
    assert compute["published"]["used_by"] is None
    assert compute["compared"].startswith(f"this fit: {compute['growth_per_year']:.3g}x/yr")


@pytest.mark.skipif(not NOTABLE.exists(), reason="Epoch AI snapshot not in shared/reference")
def test_trends_from_an_epoch_file() -> None:
    result = runner.invoke(app, ["trends", "--source", f"epoch:{NOTABLE}", "--json"])
    assert result.exit_code == 0, result.output
    fits = json.loads(result.output)["fits"]
    assert set(fits) == {"training-compute", "accelerator-count", "cost", "power"}


@pytest.mark.parametrize("source", ["wikipedia", "epoch:/no/such/file.csv"])
def test_bad_source_is_a_scenario_error(source: str) -> None:
    result = runner.invoke(app, ["trends", "--source", source])
    assert isinstance(result.exception, ScenarioError)
    assert result.exception.field == "source"


def test_scaling_fit_json(tmp_path: Path) -> None:
    # Noise-free runs of L = 1.8 + 400 / N^0.34 + 2000 / D^0.37: the fit returns them.
    params, tokens = (
        x.ravel() for x in np.meshgrid(np.geomspace(1e8, 1e10, 5), np.geomspace(1e10, 1e12, 4))
    )
    losses = 1.8 + 400 / params**0.34 + 2000 / tokens**0.37
    lines = ["N,D,loss"] + [
        f"{n!r},{d!r},{ell!r}"
        for n, d, ell in zip(params.tolist(), tokens.tolist(), losses.tolist(), strict=True)
    ]
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(
        app, ["scaling-fit", str(path), "--bootstrap", "3", "--starts", "4", "--json"]
    )
    assert result.exit_code == 0, result.output
    constants = json.loads(result.output)["constants"]
    assert constants["alpha"] == pytest.approx(0.34, rel=1e-3)
    assert constants["beta"] == pytest.approx(0.37, rel=1e-3)
    assert constants["e"] == pytest.approx(1.8, rel=1e-3)
    table = runner.invoke(app, ["scaling-fit", str(path), "--bootstrap", "2", "--starts", "4"])
    assert table.exit_code == 0 and "irreducible" in table.output


def test_a_projection_stays_near_the_fitted_runs() -> None:
    # Issue 15: --project-to 3000 raised OverflowError; 2100 printed 4e68 FLOP unremarked.
    out = subprocess.run(
        [sys.executable, "-m", "gpuplan", "trends", "--project-to", "3000"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("gpuplan: error: --project-to = 3000: the runs span ")
    far = subprocess.run(
        [sys.executable, "-m", "gpuplan", "trends", "--project-to", "2040", "--json"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    fits = json.loads(far.stdout)["fits"]
    compute = fits["training-compute"]["projection"]
    assert compute["years_beyond_fit"] == pytest.approx(
        2040 - fits["training-compute"]["last_year"]
    )
