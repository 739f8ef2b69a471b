"""Same-day revisions of market rule records (issue 17, audit session 5).

A record recorded on the audit day could not be corrected that same day: the correction
took the same id (``CC:market:parameter:valid_from:recorded_at``). A same-day correction is
now the record's next `revision` (id suffix ``:r2``), superseding the revision before it;
the first record of a day keeps its id.
"""

from __future__ import annotations

from datetime import date

import pytest

from markets.conformance import check_plugin
from markets.countries import at, be, de, fr, nl
from markets.countries._audit import AUDIT_5, Reading, sourced
from markets.eu import contract, sidc_continuous, since_start
from markets.gates import OffsetGate
from markets.rules import in_force, rule, rule_id, with_ids

AUDIT = date(2026, 12, 6)
PLUGINS = {m.PLUGIN.country: m.PLUGIN for m in (de, nl, be, fr, at)}


def test_a_same_day_revision_gets_its_own_id_and_the_first_keeps_the_old_one():
    first = rule_id("NL", "intraday_continuous", "cross_border_gate_closure", "2026-01-01", AUDIT)
    second = rule_id(
        "NL", "intraday_continuous", "cross_border_gate_closure", "2026-01-01", AUDIT, 2
    )
    assert first == "NL:intraday_continuous:cross_border_gate_closure:2026-01-01:2026-12-06"
    assert second == first + ":r2"
    with pytest.raises(ValueError, match="revision=0"):
        rule_id("NL", "intraday_continuous", "x", "2026-01-01", AUDIT, 0)


def test_two_records_of_one_day_and_valid_from_without_a_revision_are_refused_by_id():
    one = rule(1.0, "2026-01-01", "a page", reference="https://a", recorded_at=AUDIT)
    again = rule(2.0, "2026-01-01", "another page", reference="https://b", recorded_at=AUDIT)
    with pytest.raises(ValueError, match=r"have the id DE:afrr_energy:volume_min_mw:.*revision"):
        with_ids("DE", "afrr_energy", "volume_min_mw", [one, again])


def test_a_revision_that_does_not_supersede_the_one_before_it_is_refused():
    one = rule(1.0, "2026-01-01", "a page", reference="https://a", recorded_at=AUDIT)
    loose = rule(2.0, "2026-01-01", "b", reference="https://b", recorded_at=AUDIT, revision=2)
    with pytest.raises(ValueError, match=r"does not supersede \S+:2026-12-06, the record it"):
        with_ids("DE", "afrr_energy", "volume_min_mw", [one, loose])


def test_sourced_revises_a_record_of_the_same_day_and_keeps_both_readable():
    market = sidc_continuous(
        "DE",
        "DE_LU",
        "Europe/Berlin",
        contracts=(since_start((contract(60, 15),), "a page"),),
        local_gate_closure=(since_start(OffsetGate(minutes_before=5), "a page"),),
    )
    revised = sourced(
        market,
        Reading("cross_border_gate_closure", "2026-01-01", "t", "https://t", "v", note="third"),
        session=AUDIT_5,
    )
    history = [e for e in revised.cross_border_gate_closure if e.valid_from == date(2026, 1, 1)]
    assert [e.revision for e in history] == [1, 2, 3]
    assert len({e.id for e in history}) == 3
    assert [e.superseded_at for e in history] == [AUDIT, AUDIT, None]
    assert history[2].supersedes == (history[1].id,)
    held = in_force(revised.cross_border_gate_closure, date(2026, 6, 15), known_on=AUDIT)
    assert held is not None
    assert (held.id, held.note) == (history[2].id, "third")


@pytest.mark.parametrize("country", sorted(PLUGINS))
def test_the_revised_histories_pass_the_conformance_kits_rule_check(country):
    report = check_plugin(PLUGINS[country], [date(2026, 6, 15)])
    (rules,) = [c for c in report.checks if c.name == "rules"]
    assert rules.passed, rules.detail
