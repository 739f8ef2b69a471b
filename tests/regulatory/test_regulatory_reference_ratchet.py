"""No new regulatory fact may lack a reference a reviewer can open.

The facts believed today without one are listed in ``facts_without_reference.txt``
(measured after the rule audit's session 3 of 2026-12-06; ``vpp markets audit --list``
names their ids), each as ``CC:what <- source``: the fact's place in a rule set without the
version, and the source it names. A version that carries such a fact over unchanged adds
nothing; a fact added or changed later names the page it was read in. The list only
shrinks.
"""

from __future__ import annotations

from pathlib import Path

from regulatory.countries import de
from regulatory.registry import BUILTIN_COUNTRIES, default_registry
from regulatory.rules import CountryRules, RuleSet

BASELINE = Path(__file__).with_name("facts_without_reference.txt")


def _known() -> set[str]:
    lines = BASELINE.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def _without_reference(histories: list[CountryRules]) -> set[str]:
    """``CC:what <- source`` of each fact believed today that names no reference."""
    return {
        f"{rules.country}{fact_id.removeprefix(version.id)} <- {fact.source}"
        for rules in histories
        for version in rules.edition()
        for fact_id, fact in version.facts()
        if not (fact.reference or "").strip()
    }


def _shipped() -> list[CountryRules]:
    registry = default_registry()
    return [registry.get(country) for country in BUILTIN_COUNTRIES]


def test_no_regulatory_fact_without_a_reference_was_added_since_the_audit():
    new = _without_reference(_shipped()) - _known()
    assert not new, (
        f"{len(new)} regulatory fact(s) name no reference: {sorted(new)[:5]}; give each the "
        "URL or document it was read in (docs/compliance.md)"
    )


def test_the_ratchet_catches_a_version_whose_new_fact_names_no_reference():
    latest = de.RULES.latest
    tax = latest.charging[1].model_copy(update={"reference": None, "source": "a forum post"})
    added = RuleSet.model_validate(
        {
            **latest.model_dump(),
            "version": "2027.1",
            "valid_from": "2027-01-01",
            "supersedes": (),
            "charging": (latest.charging[0], tax, *latest.charging[2:]),
        }
    )
    rules = CountryRules(country="DE", name="Germany", versions=(*de.RULES.versions, added))
    assert _without_reference([rules]) - _known() == {
        "DE:charging:electricity tax (Stromsteuer) <- a forum post"
    }


def test_most_german_facts_believed_today_name_a_reference():
    """Before the audit's session 3, 453 of 490 German facts named none."""
    facts = [f for v in de.RULES.edition() for _, f in v.facts()]
    without = [f for f in facts if not (f.reference or "").strip()]
    assert len(without) < len(facts) / 5
