"""France (RTE): regulatory treatment rule sets.

Versions:

- 2022.1 (2022-01-01): base set (TURPE 6).
- 2025.1 (2025-08-01): TURPE 7 HTB.
- 2026.1 (2026-08-01): optional location-based injection-withdrawal component for storage.
- 2025.1-rev1 (2025-08-01; recorded 2026-12-06 in the rule audit of issue 17, session 2):
  2025.1 re-recorded with the CRE deliberation that sets TURPE 7 HTB from 2025-08-01 for
  about four years (and ended TURPE 6 HTB, in force since 2021-08-01), as a reference a
  reviewer can open. ``vpp markets treatments FR --known-on 2026-12-05`` shows 2025.1.
- 2022.1-rev1, 2025.1-rev2, 2026.1-rev1 (recorded 2026-12-06, audit session 4 of issue 17):
  the same with the sources read (`fr_audit`); no value corrected.
"""

from datetime import date

from regulatory.countries import fr_audit
from regulatory.countries._common import (
    AUDIT_2_VERSION,
    AUDIT_4_VERSION,
    AUDIT_DAY,
    WITHDRAWING,
    afrr,
    fcr,
    premium_lost_every_negative_period,
)
from regulatory.countries.revision import revise
from regulatory.rules import (
    LEGACY_REVIEW_BY,
    BaselineRule,
    ChargingCharge,
    Confidence,
    CountryRules,
    PoolingScope,
    RuleSet,
)

C, G, U = Confidence.CONFIRMED, Confidence.GENERAL, Confidence.UNCERTAIN


def _turpe(name: str, source: str, note: str | None = None, **provenance: object) -> ChargingCharge:
    return ChargingCharge(
        name=name,
        kinds=WITHDRAWING,
        site_tariff=True,
        source=source,
        confidence=C,
        note=note,
        **provenance,  # type: ignore[arg-type]
    )


_BASE = RuleSet(
    country="FR",
    version="2022.1",
    valid_from=date(2022, 1, 1),
    change="base rule set (TURPE 6)",
    timezone="Europe/Paris",
    bidding_zones=("FR",),
    control_areas=("RTE",),
    products=(
        fcr(
            pooling=PoolingScope.COUNTRY,
            reservoir_h=0.25,
            reservoir_source="SO GL Art. 156 allows 15-30 min [U: RTE's choice not found]",
            confidence=U,
            review_by=LEGACY_REVIEW_BY,
        ),
        *afrr(
            pooling=PoolingScope.COUNTRY,
            source="RTE aFRR capacity market since 2021-11-03 [C]; min offer and pooling [U]",
            confidence=U,
            review_by=LEGACY_REVIEW_BY,
        ),
    ),
    support_schemes=(
        premium_lost_every_negative_period(
            "complément de rémunération",
            "reference section 7.2: FR limits support at negative prices [U]",
            note="contract-specific; not researched",
        ),
    ),
    charging=(
        _turpe("TURPE 6 withdrawal component", "TURPE: storage pays injection and withdrawal [G]"),
    ),
    baselines=(
        BaselineRule(
            method="nebef_baseline",
            description="NEBEF certified baseline methods (rectangle, historical, signal)",
            source="RTE NEBEF rules [G]",
            confidence=G,
        ),
    ),
)

RULES = CountryRules(country="FR", name="France", versions=(_BASE,))
RULES = RULES.amend(
    version="2025.1",
    valid_from=date(2025, 8, 1),
    change="TURPE 7 HTB in force (CRE), for about four years",
    charging=(_turpe("TURPE 7 withdrawal component", "CRE: TURPE 7 from 2025-08-01"),),
)
RULES = RULES.amend(
    version="2026.1",
    valid_from=date(2026, 8, 1),
    change="optional location-based injection-withdrawal component for HTA/HTB storage",
    charging=(
        _turpe(
            "TURPE 7 withdrawal component",
            "CRE: TURPE 7 from 2025-08-01; deliberation 2025-227 (zones), from 2026-08-01",
            note="storage may opt into a bonus/malus by time and direction for >= 12 months",
        ),
    ),
)

CRE_TURPE_7 = (
    "CRE délibération n° 2025-77 du 13 mars 2025 sur le TURPE 7 HTB (in force 2025-08-01 "
    "for about four years; TURPE 6 HTB in force from 2021-08-01)"
)
RULES = RULES.amend(
    version="2025.1-rev1",
    valid_from=date(2025, 8, 1),
    base="2025.1",
    supersedes=("2025.1",),
    change="TURPE 7 HTB in force from 2025-08-01 for about four years (CRE délibération "
    "2025-77 of 2025-03-13): 2025.1 re-recorded with the deliberation as its reference",
    charging=(
        _turpe(
            "TURPE 7 withdrawal component",
            CRE_TURPE_7,
            note="the withdrawal component is the site's TURPE 7 tariff; storage pays "
            "injection and withdrawal [general]",
            reference="https://juriblio.fr/deliberations/deliberation-no-2025-77-du-13-mars-"
            "2025/185804914",
            document_version="délibération n° 2025-77 du 13 mars 2025 (Juriblio copy of the "
            "JORF text)",
            retrieved_on=AUDIT_DAY,
        ),
    ),
    **AUDIT_2_VERSION,
)

RULES = revise(RULES, lookup=fr_audit.lookup, session=fr_audit.SESSION, recorded=AUDIT_4_VERSION)
