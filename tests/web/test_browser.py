"""The planner page and the HTML report in a real browser (Debian chromium, headless).

The planner: load it, change the GPU count, see the numbers and the charts change, and no
console errors. The report: open the file offline, every chart drawn, no network request.
A screenshot of each goes into the test's tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from gpuplan.report.figures import CHART_IDS
from gpuplan.report.html import report_for_scenario, write_report

TIMEOUT_MS = 90_000

CHARTS_DRAWN = (
    "ids => ids.every(id => { const el = document.getElementById(id);"
    " return el && el.data && el.data.length > 0; })"
)


def console_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    return errors


def chart_data(page: Any, chart_id: str) -> Any:
    return page.evaluate(f"JSON.stringify(document.getElementById('{chart_id}').data)")


def wait_up_to_date(page: Any) -> None:
    page.wait_for_function(
        "document.getElementById('status').dataset.state === 'done'", timeout=TIMEOUT_MS
    )


def test_planner_updates_when_the_gpu_count_changes(
    browser: Any, live_server: str, tmp_path: Path
) -> None:
    # Playwright's wait_for_function evaluates strings, which the page's CSP forbids; the
    # test below checks the page itself under its CSP.
    page = browser.new_page(
        viewport={"width": 1400, "height": 1000}, accept_downloads=True, bypass_csp=True
    )
    errors = console_errors(page)
    page.goto(live_server + "/")
    wait_up_to_date(page)
    page.wait_for_function(CHARTS_DRAWN, arg=list(CHART_IDS), timeout=TIMEOUT_MS)
    title = page.text_content("#title")
    cards = page.text_content("#cards")
    step, scaling = chart_data(page, "chart-step"), chart_data(page, "chart-scaling")
    assert "16,384" in title and "days" in cards
    page.screenshot(path=str(tmp_path / "planner-16384.png"), full_page=True)

    page.fill("input[name=gpus]", "8192")
    page.wait_for_function(
        "document.getElementById('title').textContent.includes('8,192')", timeout=TIMEOUT_MS
    )
    wait_up_to_date(page)
    assert page.text_content("#cards") != cards
    assert chart_data(page, "chart-step") != step
    new_scaling = json.loads(chart_data(page, "chart-scaling"))
    assert chart_data(page, "chart-scaling") != scaling
    star = next(t for t in new_scaling if t["name"].startswith("this plan"))
    assert star["x"] == [8192]
    page.screenshot(path=str(tmp_path / "planner-8192.png"), full_page=True)
    assert errors == []
    assert (tmp_path / "planner-8192.png").stat().st_size > 10_000

    # The downloads are of what is on screen.
    with page.expect_download() as download:
        page.click("#download-yaml")
    assert yaml.safe_load(Path(download.value.path()).read_text())["gpus"] == 8192
    with page.expect_download() as download:
        page.click("#download-json")
    assert json.loads(Path(download.value.path()).read_text())["scenario"]["gpus"] == 8192

    # Bad input: the field is marked and the message names it; the last results stay.
    page.fill("input[name='site.pue']", "0.5")
    page.wait_for_selector("input[name='site.pue'].invalid", timeout=TIMEOUT_MS)
    assert "site.pue" in page.text_content("#error")
    page.close()


def test_the_planner_runs_under_its_content_security_policy(browser: Any, live_server: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = console_errors(page)
    response = page.goto(live_server + "/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("#status[data-state=done]", state="attached", timeout=TIMEOUT_MS)
    for chart_id in CHART_IDS:
        page.wait_for_selector(f"#{chart_id} .main-svg", state="attached", timeout=TIMEOUT_MS)
    assert errors == []  # a CSP violation is a console error
    page.close()


def test_report_opens_offline_with_every_chart(browser: Any, tmp_path: Path) -> None:
    scenario = {
        "model": "llama3-8b",
        "hardware": "h100-sxm",
        "gpus": 64,
        "training": {"global_batch": 256, "seq_len": 8192, "tokens": 1e12},
    }
    path = write_report(report_for_scenario(scenario), tmp_path / "report.html")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = console_errors(page)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_function(CHARTS_DRAWN, arg=list(CHART_IDS), timeout=TIMEOUT_MS)
    for chart_id in CHART_IDS:
        assert page.locator(f"#{chart_id} .main-svg").count() > 0, chart_id
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert errors == []
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    assert page.locator("#claims .badge").count() >= 10
    page.close()
