"""Four eyes on regulatory rule sets: an audited version names a registered reviewer (the
reviewers list of `markets.reviewers`) other than its author, or the kit refuses it."""

from __future__ import annotations

from datetime import date

from markets.conformance import rule_set_approval_problems
from regulatory.countries.fr import RULES
from regulatory.registry import default_registry


def test_every_audited_rule_set_version_names_a_registered_reviewer_other_than_its_author():
    registry = default_registry()
    for country in registry.countries():
        assert rule_set_approval_problems(registry.get(country)) == []


def test_a_rule_set_version_approved_by_an_unregistered_name_is_refused_by_the_kit():
    forged = RULES.amend(
        version="2027.1",
        valid_from=date(2027, 1, 1),
        change="test",
        recorded_at=date(2026, 12, 7),
        recorded_by="A. Author",
        approved_by="Somebody (says so)",
    )
    (problem,) = rule_set_approval_problems(forged)
    assert problem.startswith("FR:regulatory:2027.1: approved_by='Somebody (says so)'")
    assert "names no registered reviewer" in problem


def test_the_audit_re_recorded_turpe_7_with_the_cre_deliberation_as_its_reference():
    before = RULES.in_force(date(2025, 9, 1), known_on=date(2026, 12, 5))
    after = RULES.in_force(date(2025, 9, 1))
    assert (before.version, after.version) == ("2025.1", "2025.1-rev2")
    assert before.superseded_at == date(2026, 12, 6)
    (charge,) = after.charging
    assert charge.reference is not None
    assert charge.reference.startswith("https://")
    assert "2025-77" in charge.source
    assert after.approved_by != after.recorded_by


def test_the_audit_re_recorded_atr85_with_the_acm_decision_in_the_staatscourant():
    from regulatory.countries.nl import RULES as NL

    before = NL.in_force(date(2025, 1, 1), known_on=date(2026, 12, 5))
    after = NL.in_force(date(2025, 1, 1))
    assert (before.version, after.version) == ("2024.1", "2024.1-rev2")
    (atr85,) = [e for c in after.charging for e in c.exemptions if e.grid_contracts]
    assert atr85.reference is not None
    assert "officielebekendmakingen.nl/stcrt-2024-23594" in atr85.reference
    assert atr85.grid_contracts == ("atr85",)
    (old,) = [e for c in before.charging for e in c.exemptions]
    assert old.reference is None  # the belief before the audit stays readable
