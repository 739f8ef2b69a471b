"""The HTML report of a real backtest opened in a real headless Chromium: every figure is
there, decoded and shown with a size a reader can see, and the page logs no error.

Needs playwright (PyPI) and a Chromium the machine has (Debian's ``chromium``; CI installs
it with apt as it does mbpoll); skipped, saying which is missing, without them. The page's
screenshot is written next to the report (``report.png`` in the test's folder) for a
person to look at.
"""

from __future__ import annotations

import os
import shutil

import pytest
from backtest_runs import day_ahead_and_afrr

from trading.backtest.figures import best_day
from trading.backtest.html_report import write_html_report

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
"""Executables tried, in order, unless VPP_CHROMIUM names one."""

MIN_FIGURE_PX = 200
"""Least width and height a figure must be shown at [CSS px]."""


def _chromium() -> str:
    named = os.environ.get("VPP_CHROMIUM")
    found = named or next((p for p in map(shutil.which, BROWSERS) if p), None)
    if not found:
        pytest.skip("no Chromium on this machine (apt-get install chromium, or set VPP_CHROMIUM)")
    return found


@pytest.fixture(scope="module")
def shown(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The report of a two-zone day-ahead and aFRR run, as Chromium lays it out: each
    figure's id, natural and shown size, visibility; the console errors; the page's text."""
    executable = _chromium()
    result = day_ahead_and_afrr(("DE_LU", "NL"))
    folder = tmp_path_factory.mktemp("report")
    report = write_html_report(result, folder / "report.html", title="Browser check")
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(report.resolve().as_uri(), wait_until="load")
            figures = page.eval_on_selector_all(
                "figure",
                """nodes => nodes.map(f => {
                    const img = f.querySelector('img');
                    const box = img.getBoundingClientRect();
                    const style = getComputedStyle(img);
                    return {id: f.id, caption: f.querySelector('figcaption').textContent,
                            complete: img.complete, natural: [img.naturalWidth,
                            img.naturalHeight], shown: [box.width, box.height],
                            visible: style.visibility !== 'hidden' && style.display !== 'none'};
                })""",
            )
            page.screenshot(path=str(folder / "report.png"), full_page=True)
            text = page.inner_text("body")
        finally:
            browser.close()
    return {"result": result, "figures": figures, "errors": errors, "text": text}


def test_every_figure_of_the_report_is_drawn_in_a_browser(shown: dict) -> None:
    chosen = best_day(shown["result"])
    expected = {
        "fig-cumulative_revenue",
        f"fig-day_{chosen}",
        "fig-soc_throughput",
        "fig-attribution",
        "fig-forecast",
        "fig-daily_revenue_distribution",
    }
    assert {f["id"] for f in shown["figures"]} == expected
    for figure in shown["figures"]:
        assert figure["complete"], figure["id"]  # loaded
        assert figure["visible"], figure["id"]
        assert min(figure["natural"]) > MIN_FIGURE_PX, figure  # the PNG decoded
        assert min(figure["shown"]) > MIN_FIGURE_PX, figure  # and is laid out visibly
    assert "Not drawn" not in shown["text"]


def test_the_report_page_logs_no_error(shown: dict) -> None:
    assert shown["errors"] == []


def test_the_report_page_reads_as_a_report(shown: dict) -> None:
    text = shown["text"]
    for heading in ("Summary", "Revenue by market", "Notes", "Figures", "Rejected bids"):
        assert heading in text
