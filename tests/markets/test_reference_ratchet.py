"""No new market rule record may lack a reference a reviewer can open.

The records entered before provenance was kept are listed in
``records_without_reference.txt`` (measured with ``vpp markets audit --list``). The
conformance kit already asks a reference of every record recorded from 2026-12-06; this
ratchet also catches a record added with the legacy knowledge time (a `rule(...)` without
``recorded_at``), which the kit cannot tell from an old one.
"""

from __future__ import annotations

from pathlib import Path

from markets.conformance import reference_count
from markets.countries import at, be, de, fr, nl
from markets.eu import sdac_day_ahead
from markets.plugin import MarketPlugin
from markets.rules import rule

BASELINE = Path(__file__).with_name("records_without_reference.txt")
PLUGINS = [m.PLUGIN for m in (de, nl, be, fr, at)]


def _known() -> set[str]:
    lines = BASELINE.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def _new_without_reference(plugins: list[MarketPlugin]) -> set[str]:
    missing = {i for p in plugins for i in reference_count(p).without_reference}
    return missing - _known()


def test_no_built_in_record_without_a_reference_was_added_since_the_audit():
    new = _new_without_reference(PLUGINS)
    assert not new, (
        f"{len(new)} new rule record(s) name no reference: {sorted(new)[:5]}; give each the "
        "URL or document it was read in (docs/compliance.md)"
    )


def test_the_list_names_only_records_still_without_a_reference():
    """A record sourced leaves the list, so the list is the measured count, never more."""
    missing = {i for p in PLUGINS for i in reference_count(p).without_reference}
    stale = _known() - missing
    assert not stale, (
        f"{len(stale)} listed record(s) now name a reference or no longer exist: "
        f"{sorted(stale)[:5]}; remove them from {BASELINE.name}"
    )


def test_the_ratchet_catches_a_record_added_with_the_legacy_knowledge_time():
    day_ahead = sdac_day_ahead("DE", "DE_LU", "Europe/Berlin")
    added = day_ahead.with_rules(
        price_tick=(*day_ahead.price_tick, rule(0.1, "2026-01-01", "a forum post"))
    )
    plugin = MarketPlugin(country="DE", name="Germany", timezone="Europe/Berlin", markets=(added,))
    assert _new_without_reference([plugin]) == {"DE:day_ahead:price_tick:2026-01-01:2026-11-22"}


def test_the_audit_left_fewer_records_without_a_reference_than_it_found():
    believed = sum(reference_count(p).believed for p in PLUGINS)
    without = sum(len(reference_count(p).without_reference) for p in PLUGINS)
    assert without <= len(_known())
    assert without < believed / 2  # before the audit, 407 of 417 records lacked one


def test_strict_mode_fails_on_exactly_the_records_the_audit_counts():
    from datetime import date

    from markets.conformance import check_plugin

    for plugin in PLUGINS:
        report = check_plugin(plugin, [date(2026, 6, 15)], strict=True)
        missing = reference_count(plugin).without_reference
        assert report.legacy_without_reference == len(missing)
        (provenance,) = [c for c in report.checks if c.name == "provenance"]
        assert provenance.passed == (not missing)
        shown = provenance.detail.count("no reference")
        more = len(missing) - shown
        assert more == 0 or f"(and {more} more)" in provenance.detail
