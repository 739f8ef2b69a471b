"""Backtest figures: every figure written as a real PNG from a real run, the day figure in
the zone's local time with prices, dispatch and SoC, CSV round trips drawn alike, empty
tables skipped, and the HTML report one file with every figure embedded."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from backtest_runs import START, day_ahead_and_afrr

from trading.backtest.figures import (
    all_figures,
    best_day,
    day_figure,
    day_window,
)
from trading.backtest.html_report import write_html_report
from trading.backtest.report import draw_figures, write_figures
from trading.backtest.result import TABLES, BacktestResult

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURES = (
    "cumulative_revenue",
    "soc_throughput",
    "attribution",
    "forecast",
    "daily_revenue_distribution",
)


def _is_png(data: bytes) -> bool:
    return len(data) > 1000 and data[:8] == PNG_MAGIC


def test_every_figure_is_written_with_the_best_day_by_default(tmp_path: Path) -> None:
    result = day_ahead_and_afrr()
    chosen = best_day(result)
    per_day = result.days.set_index("day")["revenue_eur"]
    assert chosen == per_day.idxmax()
    written = write_figures(result, tmp_path / "figures")
    names = {p.name for p in written}
    assert names == {f"{stem}.png" for stem in FIGURES} | {f"day_{chosen}.png"}
    assert all(_is_png(p.read_bytes()) for p in written)


def test_the_day_figure_shows_prices_dispatch_and_soc_in_the_zones_local_time() -> None:
    result = day_ahead_and_afrr(("DE_LU", "NL"))
    for zone, timezone in (("DE_LU", "Europe/Berlin"), ("NL", "Europe/Amsterdam")):
        figure = day_figure(result, START, zone)
        price, dispatch, soc = figure.axes
        assert soc.get_xlabel() == f"local time ({timezone})"
        labels = [line.get_label() for line in price.get_lines()]
        assert f"day_ahead {zone} actual" in labels
        assert all(zone in label for label in labels)
        assets = {line.get_label() for line in dispatch.get_lines()}
        assert "bat-de-essen-01" in assets
        assert {"bat-de-essen-01", "bat-nl-rotterdam-01"} <= {
            line.get_label() for line in soc.get_lines()
        }
        # the x axis spans the local day: midnight to midnight in that zone
        first = min(min(line.get_xdata()) for line in price.get_lines())
        assert pd.Timestamp(first) == pd.Timestamp(START)


def test_a_dst_day_is_23_or_25_hours_long() -> None:
    start, end = day_window(date(2026, 3, 29), "Europe/Berlin")
    assert end - start == pd.Timedelta(hours=23)
    start, end = day_window(date(2026, 10, 25), "Europe/Amsterdam")
    assert end - start == pd.Timedelta(hours=25)


def test_tables_read_back_from_csv_draw_the_same_figures(tmp_path: Path) -> None:
    result = day_ahead_and_afrr()
    result.write(tmp_path / "tables")
    reread = BacktestResult(
        **{name: pd.read_csv(tmp_path / "tables" / f"{name}.csv") for name in TABLES},
        timezones=result.timezones,
    )
    assert best_day(reread) == best_day(result)
    written = write_figures(reread, tmp_path / "fig", day=START + timedelta(days=1))
    assert f"day_{START + timedelta(days=1)}.png" in {p.name for p in written}
    assert len(written) == len(FIGURES) + 1


def test_a_day_outside_the_run_is_skipped_and_empty_tables_draw_nothing(tmp_path: Path) -> None:
    result = day_ahead_and_afrr()
    written = write_figures(result, tmp_path / "a", day=START - timedelta(days=30))
    assert not [p for p in written if p.name.startswith("day_")]
    empty = BacktestResult(**{name: getattr(result, name).iloc[0:0] for name in TABLES})
    assert write_figures(empty, tmp_path / "b") == []
    assert best_day(empty) is None


class _Figures(HTMLParser):
    """Collects each <figure>'s id, its caption text and its images' sources."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, list[str]] = {}
        self.sources: list[str] = []
        self.links: list[str] = []
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "figure":
            self._current = found.get("id") or ""
            self.figures[self._current] = []
        if tag == "img" and self._current is not None:
            self.figures[self._current].append(found.get("src") or "")
        for name in ("src", "href"):
            if name in found and tag not in ("img",):
                self.links.append(found[name] or "")
        if tag in ("script", "link"):
            self.links.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._current = None


def test_the_html_report_is_one_file_with_every_figure_embedded(tmp_path: Path) -> None:
    result = day_ahead_and_afrr()
    path = write_html_report(result, tmp_path / "nested" / "report.html", title="June test")
    assert list((tmp_path / "nested").iterdir()) == [path]
    text = path.read_text(encoding="utf-8")
    parser = _Figures()
    parser.feed(text)
    expected = {f"fig-{stem}" for stem, (_c, f) in all_figures(result).items() if f is not None}
    assert set(parser.figures) == expected
    assert len(expected) == len(FIGURES) + 1
    for sources in parser.figures.values():
        (src,) = sources
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        assert _is_png(base64.b64decode(src[len(prefix) :]))
    assert parser.links == []  # nothing fetched from elsewhere
    assert "June test" in text
    assert "Rejected bids" in text
    assert f"{result.summary()['net_eur']:,.2f}" in text


def test_the_html_report_of_an_empty_run_says_what_was_not_drawn(tmp_path: Path) -> None:
    result = day_ahead_and_afrr()
    empty = BacktestResult(**{name: getattr(result, name).iloc[0:0] for name in TABLES})
    text = write_html_report(empty, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<img" not in text
    assert "Not drawn" in text


@pytest.mark.parametrize("factor", [1, 60])
def test_the_distribution_copes_with_one_or_many_days(tmp_path: Path, factor: int) -> None:
    result = day_ahead_and_afrr()
    days = pd.concat([result.days] * factor, ignore_index=True).iloc[: max(1, factor)]
    short = BacktestResult(
        **{name: getattr(result, name) for name in TABLES if name != "days"}, days=days
    )
    written = write_figures(short, tmp_path)
    assert (tmp_path / "daily_revenue_distribution.png") in written


def test_figures_drawn_once_serve_the_files_and_the_report_alike(tmp_path: Path) -> None:
    result = day_ahead_and_afrr()
    drawn = draw_figures(result)
    files = write_figures(result, tmp_path / "shared", drawn=drawn)
    assert [p.name for p in files] == [p.name for p in write_figures(result, tmp_path / "own")]
    report = write_html_report(result, tmp_path / "report.html", drawn=drawn)
    parser = _Figures()
    parser.feed(report.read_text(encoding="utf-8"))
    prefix = "data:image/png;base64,"
    for path in files:
        (src,) = parser.figures[f"fig-{path.stem}"]
        assert base64.b64decode(src[len(prefix) :]) == path.read_bytes()  # the same picture
        assert _is_png((tmp_path / "own" / path.name).read_bytes())
